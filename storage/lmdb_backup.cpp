#include "storage/lmdb_backup.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "storage/lmdb.hpp"

namespace cairn::storage {

namespace {

constexpr unsigned k_max_dbs = 100'100;  // as the verifier: up to 100,000 collections
constexpr int k_resize_retries = 5;

class file_descriptor {
 public:
  explicit file_descriptor(int fd) : fd_(fd) {}
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

result<void> sync_directory(const std::string& dir) {
  file_descriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return fail("cannot sync " + dir + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

result<backup_outcome> backup_lmdb_store(const std::string& store_path,
                                         const std::string& dest_path) {
  std::error_code ec;
  if (!std::filesystem::exists(store_path + "/data.mdb", ec)) {
    return fail("no store in " + store_path + " (no data.mdb)");
  }
  auto e = lmdb::env::create();
  if (!e) return fail(e.error().message);
  lmdb::status st = e->set_maxdbs(k_max_dbs);
  // Read-only, but with LMDB's reader table (no MDB_NOLOCK): a running
  // cairnd's writer then sees this reader and leaves its snapshot alone.
  if (st) st = e->open(store_path.c_str(), MDB_RDONLY, 0600);
  if (!st) return fail("cannot open the store in " + store_path + ": " + st.error().message);

  const std::string target = dest_path + "/data.mdb";
  file_descriptor fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return fail("cannot create " + target + ": " + std::strerror(errno));

  int rc = MDB_MAP_RESIZED;
  for (int attempt = 0; attempt < k_resize_retries && rc == MDB_MAP_RESIZED; ++attempt) {
    // The running writer grew the map since this environment was opened:
    // adopt its size and start over.
    if (attempt > 0) {
      if (int r = mdb_env_set_mapsize(e->handle(), 0)) {
        return fail("cannot adopt the store's new map size: " + std::string(mdb_strerror(r)));
      }
      if (::ftruncate(fd.get(), 0) != 0 || ::lseek(fd.get(), 0, SEEK_SET) != 0) {
        return fail("cannot rewind " + target + ": " + std::strerror(errno));
      }
    }
    rc = mdb_env_copyfd2(e->handle(), fd.get(), MDB_CP_COMPACT);
  }
  if (rc != 0) return fail("cannot copy the store: " + std::string(mdb_strerror(rc)));
  if (::fsync(fd.get()) != 0) return fail("cannot sync " + target + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return fail("cannot stat " + target);
  if (::close(fd.release()) != 0)
    return fail("cannot close " + target + ": " + std::strerror(errno));
  // The directory lock file every opener of a store expects (the offline
  // verifier refuses a directory without one).
  const std::string lock = dest_path + "/cairn.lock";
  file_descriptor lock_fd(::open(lock.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (lock_fd.get() < 0) return fail("cannot create " + lock + ": " + std::strerror(errno));
  if (auto r = sync_directory(dest_path); !r) return std::unexpected(r.error());
  return backup_outcome{static_cast<std::uint64_t>(info.st_size)};
}

}  // namespace cairn::storage
