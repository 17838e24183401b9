#include "server/app/backup_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "formats/error.hpp"
#include "storage/lmdb_backup.hpp"

namespace cairn::server {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_usage = "usage: cairnd backup --data DIR --to DEST\n";
constexpr std::array<std::string_view, 3> k_key_files = {"audit-signing.key", "audit-signing.pub",
                                                         "page-token.key"};

// Copies a small secret file with mode 0600 whatever the umask, synced.
result<void> copy_private(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return fail("cannot read " + from.string() + ": " + std::strerror(errno));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    ::close(in);
    return fail("cannot create " + to.string() + ": " + std::strerror(errno));
  }
  bool ok = ::fchmod(out, 0600) == 0;
  std::array<char, 8192> buf{};
  for (ssize_t n; ok && (n = ::read(in, buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      ok = errno == EINTR;
      continue;
    }
    for (ssize_t done = 0; ok && done < n;) {
      const ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      ok = w > 0;
      if (ok) done += w;
    }
  }
  const int why = errno;
  ok = ok && ::fsync(out) == 0;
  ::close(in);
  if (::close(out) != 0) ok = false;
  if (!ok) return fail("cannot copy " + from.string() + ": " + std::strerror(why));
  return {};
}

bool is_key_file(const fs::path& name) {
  for (const auto k : k_key_files) {
    if (name == k) return true;
  }
  return false;
}

}  // namespace

int run_backup(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  std::string data, dest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    auto value = [&](std::string_view flag, std::string& into) {
      if (a == flag && i + 1 < args.size()) {
        into = std::string(args[++i]);
        return true;
      }
      if (a.starts_with(flag) && a.size() > flag.size() && a[flag.size()] == '=') {
        into = std::string(a.substr(flag.size() + 1));
        return true;
      }
      return false;
    };
    if (value("--data", data) || value("--to", dest)) continue;
    err << "cairnd backup: unknown argument '" << a << "'\n" << k_usage;
    return 2;
  }
  if (data.empty() || dest.empty()) {
    err << k_usage;
    return 2;
  }
  const fs::path dir(data), to(dest);
  std::error_code ec;
  if (!fs::exists(dir / "store" / "data.mdb", ec)) {
    err << "cairnd backup: " << data << " is not a data directory (no store/data.mdb)\n";
    return 1;
  }
  if (fs::exists(to, ec)) {
    if (!fs::is_directory(to, ec) || !fs::is_empty(to, ec)) {
      err << "cairnd backup: " << dest << " is not an empty directory; give a new one\n";
      return 1;
    }
  } else if (!fs::create_directories(to, ec) || ec) {
    err << "cairnd backup: cannot create " << dest << ": " << ec.message() << "\n";
    return 1;
  }
  fs::permissions(to, fs::perms::owner_all, ec);
  if (!fs::create_directory(to / "store", ec) || ec) {
    err << "cairnd backup: cannot create " << (to / "store").string() << ": " << ec.message()
        << "\n";
    return 1;
  }
  fs::permissions(to / "store", fs::perms::owner_all, ec);

  auto copied = storage::backup_lmdb_store((dir / "store").string(), (to / "store").string());
  if (!copied) {
    err << "cairnd backup: " << copied.error().message << "\n";
    return 1;
  }
  std::vector<std::string> keys;
  for (const auto k : k_key_files) {
    if (!fs::exists(dir / k, ec)) continue;
    if (auto r = copy_private(dir / k, to / k); !r) {
      err << "cairnd backup: " << r.error().message << "\n";
      return 1;
    }
    keys.emplace_back(k);
  }
  if (!fs::exists(to / "audit-signing.key", ec)) {
    err << "cairnd backup: " << data
        << " has no audit-signing.key; the copy cannot sign new checkpoints\n";
    return 1;
  }
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename();
    if (name == "store" || is_key_file(name)) continue;
    if (!entry.is_regular_file(ec) && !entry.is_directory(ec)) continue;
    fs::copy(entry.path(), to / name, fs::copy_options::recursive, ec);
    if (ec) {
      err << "cairnd backup: cannot copy " << entry.path().string() << ": " << ec.message() << "\n";
      return 1;
    }
    others.push_back(name.string());
  }
  if (ec) {
    err << "cairnd backup: cannot list " << data << ": " << ec.message() << "\n";
    return 1;
  }
  out << "backup of " << data << " written to " << dest << "\n";
  out << "  store/data.mdb: " << copied->bytes << " bytes (one snapshot, compacted)\n";
  out << "  keys (mode 0600):";
  for (const auto& k : keys) out << " " << k;
  out << "\n";
  if (!others.empty()) {
    out << "  also copied:";
    for (const auto& o : others) out << " " << o;
    out << "\n";
  }
  out << "to restore: stop cairnd, put " << dest
      << " in place as its data_dir (owned by the service user), start cairnd\n";
  return 0;
}

}  // namespace cairn::server
