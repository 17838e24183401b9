#pragma once
// Creating files that hold secrets (private keys, generated passwords, the
// page-token key): readable by the owner only whatever the umask, never
// written through a symbolic link someone planted at the path, and on disk
// (fsync) before success is reported. Any thread.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "formats/error.hpp"

namespace cairn::formats {

enum class if_file_exists {
  fail,     // O_EXCL: an existing file (or link) at the path is an error
  replace,  // truncate it, and give it the mode again (O_CREAT keeps an old mode)
};

// Writes data to path with the given mode: 0600 for secrets; 0644 for what is
// written beside them and meant to be read (certificates, public keys). The
// error names the path and the system's reason.
result<void> write_secret_file(const std::filesystem::path& path, std::string_view data,
                               if_file_exists existing, mode_t mode = 0600);

}  // namespace cairn::formats
