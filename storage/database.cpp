#include "storage/database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <utility>

#include "storage/faults.hpp"

namespace cairn::storage {

namespace {

constexpr std::size_t k_min_map_size = std::size_t{1} << 20;
constexpr std::size_t k_page = 4096;

// An flock on <dir>/cairn.lock: LMDB's own locking allows several processes,
// but growing the map safely needs this process to be the only one.
result<int> lock_directory(const std::string& dir) {
  const std::string path = dir + "/cairn.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    ::close(fd);
    if (why == EWOULDBLOCK) {
      return fail("the data directory " + dir + " is in use by another store");
    }
    return fail("cannot lock " + path + ": " + std::strerror(why));
  }
  return fd;
}

// Opens named databases; solo, as their handles are shared only once the
// txn that opened them has committed.
class create_job final : public write_job {
 public:
  create_job(std::vector<std::string> names, std::promise<result<std::vector<lmdb::dbi>>> done)
      : names_(std::move(names)), done_(std::move(done)) {}
  std::size_t weight() const override { return 256 * names_.size(); }
  bool solo() const override { return true; }

  lmdb::status run(lmdb::txn& t) override {
    opened_.clear();
    for (const auto& name : names_) {
      auto d = lmdb::dbi::open(t, name.c_str(), MDB_CREATE);
      if (!d) return std::unexpected(d.error());
      opened_.push_back(*d);
    }
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (failure) return done_.set_value(std::unexpected(std::move(*failure)));
    done_.set_value(std::move(opened_));
  }

 private:
  std::vector<std::string> names_;
  std::vector<lmdb::dbi> opened_;
  std::promise<result<std::vector<lmdb::dbi>>> done_;
};

}  // namespace

result<std::shared_ptr<database>> database::open(const database_options& options) {
  if (options.path.empty()) return fail("the store needs a data directory");
  if (options.max_readers == 0) return fail("max_readers must be at least 1");
  const std::size_t map_size = std::max(options.map_size, k_min_map_size) / k_page * k_page;
  const std::size_t max_map_size = options.max_map_size / k_page * k_page;
  if (max_map_size < map_size) return fail("max_map_size is below map_size");

  std::shared_ptr<database> db(new database());
  db->options_ = options;
  db->options_.map_size = map_size;
  db->options_.max_map_size = max_map_size;

  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return fail("cannot create the data directory " + options.path + ": " + ec.message());
  auto fd = lock_directory(options.path);
  if (!fd) return std::unexpected(fd.error());
  db->lock_fd_ = *fd;

  auto e = lmdb::env::create();
  if (!e) return fail(e.error().message);
  db->env_ = std::move(*e);
  lmdb::status st = db->env_.set_maxreaders(options.max_readers);
  if (st) st = db->env_.set_maxdbs(options.max_databases);
  if (st) st = db->env_.set_mapsize(map_size);
  // MDB_NOTLS: a read txn may be begun on one thread and used on another.
  if (st) st = db->env_.open(options.path.c_str(), MDB_NOTLS, 0600);
  if (!st) return fail("cannot open the store in " + options.path + ": " + st.error().message);
  // Slots of readers that died without ending their txn would pin old pages.
  if (auto cleared = db->env_.reader_check(); !cleared) return fail(cleared.error().message);
  db->guard_ = std::make_unique<map_guard>(options.max_readers);
  return db;
}

database::~database() {
  close();
  writer_.reset();
  env_.close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

result<bool> database::setup_grow() {
  const std::size_t current = env_.info() ? env_.info()->me_mapsize : options_.map_size;
  if (current >= options_.max_map_size) return false;
  if (auto grown = env_.set_mapsize(std::min(current * 2 / k_page * k_page, options_.max_map_size));
      !grown) {
    return fail(grown.error().message);
  }
  return true;
}

void database::start() {
  if (writer_) return;
  writer_options w;
  w.max_map_size = options_.max_map_size;
  writer_ = std::make_unique<storage::writer>(env_, *guard_, w, options_.faults);
}

result<std::vector<lmdb::dbi>> database::create_databases(std::vector<std::string> names) {
  if (!writer_) return fail("the store's writer is not running");
  if (writer_->on_writer_thread()) return fail("databases cannot be created on the writer thread");
  std::promise<result<std::vector<lmdb::dbi>>> promise;
  auto done = promise.get_future();
  writer_->submit(std::make_unique<create_job>(std::move(names), std::move(promise)));
  return done.get();
}

void database::close() {
  if (writer_) writer_->close();
}

micros database::now() const {
  const auto& f = options_.faults;
  return f && f->clock ? f->clock() : formats::now_micros();
}

std::size_t database::map_size() const {
  if (writer_) return writer_->map_size();
  auto info = env_.info();
  return info ? info->me_mapsize : 0;
}

std::size_t database::used_bytes() const {
  guard_->enter_shared();
  auto info = env_.info();
  auto st = env_.stat();
  guard_->leave_shared();
  if (!info || !st) return 0;
  return (info->me_last_pgno + 1) * st->ms_psize;
}

}  // namespace cairn::storage
