#pragma once
// Files that say when their bytes are safe: an output file with explicit
// sync points, and whole-file replacement that is atomic on POSIX (write a
// temporary file in the same folder, fsync it, rename it over the target,
// fsync the folder). Used by `cairn pull` so that its state file never claims
// more than the output really holds.
//
// Threads: a durable_file is used by one thread. Errors name the file and the
// failing call.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "formats/error.hpp"

namespace cairn::clients {

class durable_file {
 public:
  enum class open_mode { truncate, append };

  // Opens (creating with mode 0600 if needed: pulled objects may be TLP:RED,
  // and a state file says what was pulled) path for writing.
  static result<durable_file> open(const std::filesystem::path& path, open_mode mode);
  // Writes to an already open descriptor (stdout); the descriptor is not
  // closed. sync() flushes and, for regular files, fsyncs.
  static durable_file over_descriptor(int fd, std::string name);

  durable_file(durable_file&& other) noexcept;
  durable_file& operator=(durable_file&& other) noexcept;
  ~durable_file();

  // Buffers; writes through when the buffer is full.
  result<void> write(std::string_view bytes);
  // Writes out the buffer and makes it durable (fsync; pipes and terminals
  // are only flushed).
  result<void> sync();
  // Cuts the file to size bytes (regular files only) and continues there.
  result<void> truncate(std::uint64_t size);
  // Bytes in the file including the buffer (for append: the size at open
  // plus what was written).
  std::uint64_t size() const { return size_; }
  // Syncs and closes; a later write fails.
  result<void> close();
  const std::string& name() const { return name_; }

 private:
  durable_file(int fd, bool owned, std::string name, std::uint64_t size);
  result<void> flush();

  int fd_ = -1;
  bool owned_ = false;
  std::string name_;
  std::uint64_t size_ = 0;
  std::string buffer_;
};

// Replaces path with content atomically and durably.
result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content);

// Renames from over to and fsyncs the folder of to.
result<void> rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

// Reads a whole file of at most max_bytes.
result<std::string> read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes);

}  // namespace cairn::clients
