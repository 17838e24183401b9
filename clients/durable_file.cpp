#include "clients/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace cairn::clients {

namespace {

constexpr std::size_t buffer_limit = 1u << 20;

std::unexpected<error> sys_fail(std::string_view what, const std::string& name) {
  return fail(std::string(what) + " " + name + ": " + std::strerror(errno));
}

result<void> sync_folder(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_fail("cannot open folder", dir.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return sys_fail("cannot fsync folder", dir.string());
  return {};
}

}  // namespace

durable_file::durable_file(int fd, bool owned, std::string name, std::uint64_t size)
    : fd_(fd), owned_(owned), name_(std::move(name)), size_(size) {}

durable_file::durable_file(durable_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      owned_(other.owned_),
      name_(std::move(other.name_)),
      size_(other.size_),
      buffer_(std::move(other.buffer_)) {}

durable_file& durable_file::operator=(durable_file&& other) noexcept {
  if (this != &other) {
    if (owned_ && fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    owned_ = other.owned_;
    name_ = std::move(other.name_);
    size_ = other.size_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

durable_file::~durable_file() {
  if (fd_ >= 0) {
    (void)flush();
    if (owned_) ::close(fd_);
  }
}

result<durable_file> durable_file::open(const std::filesystem::path& path, open_mode mode) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == open_mode::append ? 0 : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return sys_fail("cannot open", path.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return sys_fail("cannot stat", path.string());
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (::lseek(fd, static_cast<off_t>(size), SEEK_SET) < 0) {
    ::close(fd);
    return sys_fail("cannot seek in", path.string());
  }
  return durable_file(fd, true, path.string(), size);
}

durable_file durable_file::over_descriptor(int fd, std::string name) {
  return durable_file(fd, false, std::move(name), 0);
}

result<void> durable_file::flush() {
  if (fd_ < 0) return fail("writing to " + name_ + " after it was closed");
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_fail("cannot write to", name_);
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
  return {};
}

result<void> durable_file::write(std::string_view bytes) {
  if (fd_ < 0) return fail("writing to " + name_ + " after it was closed");
  size_ += bytes.size();
  if (buffer_.size() + bytes.size() > buffer_limit) {
    if (auto r = flush(); !r) return r;
    if (bytes.size() > buffer_limit) {
      buffer_.assign(bytes);
      return flush();
    }
  }
  buffer_.append(bytes);
  return {};
}

result<void> durable_file::sync() {
  if (auto r = flush(); !r) return r;
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
    if (::fsync(fd_) != 0) return sys_fail("cannot fsync", name_);
  }
  return {};
}

result<void> durable_file::truncate(std::uint64_t size) {
  if (auto r = flush(); !r) return r;
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return sys_fail("cannot truncate", name_);
  if (::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0) {
    return sys_fail("cannot seek in", name_);
  }
  size_ = size;
  return {};
}

result<void> durable_file::close() {
  if (fd_ < 0) return {};
  auto r = sync();
  if (owned_ && ::close(fd_) != 0 && r) r = sys_fail("cannot close", name_);
  fd_ = -1;
  return r;
}

result<void> rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return sys_fail("cannot rename " + from.string() + " to", to.string());
  }
  return sync_folder(to);
}

result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(rng() % 1000000000);
  {
    auto file = durable_file::open(temp, durable_file::open_mode::truncate);
    if (!file) return std::unexpected(file.error());
    auto r = file->write(content);
    if (r) r = file->close();
    if (!r) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      return r;
    }
  }
  auto r = rename_durably(temp, path);
  if (!r) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
  }
  return r;
}

result<std::string> read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_fail("cannot open", path.string());
  std::string out;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return sys_fail("cannot read", path.string());
    }
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return fail(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace cairn::clients
