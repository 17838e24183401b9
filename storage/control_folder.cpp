// The folder backend of the control store (storage/control.hpp):
// data_dir/control/ holds
//   lock            flock()ed for the length of every call, so that cairnd
//                   and `cairnd account resume` never interleave
//   suspensions     one line per account: name TAB kind TAB alert_seq TAB since
//   state-KEY       a saved blob, byte for byte
// Every write goes to a temporary file, is fsync()ed, renamed over the old
// one, and the folder is fsync()ed: a crash leaves the old or the new file,
// never half of one.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "storage/control.hpp"

namespace cairn::storage {

namespace {

constexpr std::size_t k_max_file_bytes = 64u << 20;

std::unexpected<error> sys_fail(std::string what, const std::filesystem::path& p) {
  return fail(errc::io, what + " " + p.string() + ": " + std::strerror(errno));
}

// Keys are file names: a small alphabet, so that none can leave the folder.
bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Account names and kinds go into a tab-separated line.
bool valid_field(std::string_view s) {
  if (s.size() > 256) return false;
  for (char c : s) {
    if (c == '\t' || c == '\n' || c == '\r' || c == '\0') return false;
  }
  return true;
}

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class folder_control final : public control_store {
 public:
  folder_control(std::filesystem::path dir, int lock_fd) : dir_(std::move(dir)), lock_(lock_fd) {}

  result<std::vector<suspension>> suspensions() override {
    locked l(lock_.get());
    if (!l) return sys_fail("cannot lock", dir_ / "lock");
    return read_suspensions();
  }

  result<bool> suspend(const suspension& s) override {
    if (s.account.empty() || !valid_field(s.account) || !valid_field(s.kind)) {
      return fail("an account name or kind that cannot be stored");
    }
    locked l(lock_.get());
    if (!l) return sys_fail("cannot lock", dir_ / "lock");
    auto all = read_suspensions();
    if (!all) return std::unexpected(all.error());
    for (const auto& x : *all) {
      if (x.account == s.account) return false;
    }
    all->push_back(s);
    if (auto w = write_suspensions(*all); !w) return std::unexpected(w.error());
    return true;
  }

  result<bool> resume(std::string_view account) override {
    locked l(lock_.get());
    if (!l) return sys_fail("cannot lock", dir_ / "lock");
    auto all = read_suspensions();
    if (!all) return std::unexpected(all.error());
    const auto before = all->size();
    std::erase_if(*all, [&](const suspension& x) { return x.account == account; });
    if (all->size() == before) return false;
    if (auto w = write_suspensions(*all); !w) return std::unexpected(w.error());
    return true;
  }

  result<std::optional<std::string>> load(std::string_view key) override {
    if (!valid_key(key)) return fail("control state keys are 1 to 64 of a-z 0-9 - _");
    locked l(lock_.get());
    if (!l) return sys_fail("cannot lock", dir_ / "lock");
    auto text = read_file(dir_ / ("state-" + std::string(key)));
    if (!text) return std::unexpected(text.error());
    return *text;
  }

  result<void> save(std::string_view key, std::string_view value) override {
    if (!valid_key(key)) return fail("control state keys are 1 to 64 of a-z 0-9 - _");
    if (value.size() > k_max_file_bytes) return fail("control state over 64 MiB");
    locked l(lock_.get());
    if (!l) return sys_fail("cannot lock", dir_ / "lock");
    return write_file(dir_ / ("state-" + std::string(key)), value);
  }

 private:
  // flock() for the scope; false when it could not be taken.
  class locked {
   public:
    explicit locked(int fd) : fd_(fd) {
      while ((ok_ = ::flock(fd_, LOCK_EX) == 0) == false && errno == EINTR) {
      }
    }
    ~locked() {
      if (ok_) ::flock(fd_, LOCK_UN);
    }
    explicit operator bool() const { return ok_; }

   private:
    int fd_;
    bool ok_ = false;
  };

  // std::nullopt when the file does not exist.
  result<std::optional<std::string>> read_file(const std::filesystem::path& p) const {
    fd_guard fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
      if (errno == ENOENT) return std::optional<std::string>{};
      return sys_fail("cannot open", p);
    }
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_fail("cannot read", p);
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > k_max_file_bytes) return fail(errc::io, p.string() + " is over 64 MiB");
    }
    return std::optional<std::string>(std::move(out));
  }

  result<void> write_file(const std::filesystem::path& p, std::string_view data) const {
    const auto tmp = p.string() + ".tmp";
    {
      fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (fd.get() < 0) return sys_fail("cannot create", tmp);
      std::size_t done = 0;
      while (done < data.size()) {
        const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          return sys_fail("cannot write", tmp);
        }
        done += static_cast<std::size_t>(n);
      }
      if (::fsync(fd.get()) != 0) return sys_fail("cannot sync", tmp);
    }
    if (::rename(tmp.c_str(), p.c_str()) != 0) return sys_fail("cannot rename", tmp);
    fd_guard dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) return sys_fail("cannot sync", dir_);
    return {};
  }

  result<std::vector<suspension>> read_suspensions() const {
    const auto p = dir_ / "suspensions";
    auto text = read_file(p);
    if (!text) return std::unexpected(text.error());
    std::vector<suspension> out;
    if (!*text) return out;
    std::istringstream in(**text);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      std::vector<std::string_view> f;
      std::string_view rest(line);
      for (;;) {
        const auto tab = rest.find('\t');
        f.push_back(rest.substr(0, tab));
        if (tab == std::string_view::npos) break;
        rest.remove_prefix(tab + 1);
      }
      suspension s;
      auto number = [](std::string_view t, auto& v) {
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        return ec == std::errc() && end == t.data() + t.size();
      };
      if (f.size() != 4 || f[0].empty() || !number(f[2], s.alert_seq) || !number(f[3], s.since)) {
        return fail(errc::io, p.string() + ": line " + std::to_string(n) + " is damaged");
      }
      s.account = std::string(f[0]);
      s.kind = std::string(f[1]);
      out.push_back(std::move(s));
    }
    return out;
  }

  result<void> write_suspensions(const std::vector<suspension>& all) const {
    std::string text;
    for (const auto& s : all) {
      text += s.account + '\t' + s.kind + '\t' + std::to_string(s.alert_seq) + '\t' +
              std::to_string(s.since) + '\n';
    }
    return write_file(dir_ / "suspensions", text);
  }

  std::filesystem::path dir_;
  fd_guard lock_;
};

}  // namespace

result<std::unique_ptr<control_store>> open_folder_control(const std::filesystem::path& data_dir) {
  const auto dir = data_dir / "control";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_fail("cannot create", dir);
  const auto lock = dir / "lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return sys_fail("cannot open", lock);
  return std::unique_ptr<control_store>(new folder_control(dir, fd));
}

}  // namespace cairn::storage
