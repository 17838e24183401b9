#include "formats/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cairn::formats {

namespace {

std::unexpected<error> sys_fail(std::string_view what, const std::filesystem::path& path, int err) {
  return fail(std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

result<void> write_secret_file(const std::filesystem::path& path, std::string_view data,
                               if_file_exists existing, mode_t mode) {
  const int how = existing == if_file_exists::fail ? O_EXCL : O_TRUNC;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | how, mode);
  if (fd < 0) return sys_fail("cannot create", path, errno);
  // The umask may have taken bits away, and an existing file keeps its mode.
  if (::fchmod(fd, mode) != 0) {
    const int e = errno;
    ::close(fd);
    return sys_fail("cannot set the mode of", path, e);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return sys_fail("cannot write", path, e);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    return sys_fail("cannot write", path, e);
  }
  if (::close(fd) != 0) return sys_fail("cannot write", path, errno);
  return {};
}

}  // namespace cairn::formats
