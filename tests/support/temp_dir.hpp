#pragma once
// A fresh folder under $TMPDIR (or /tmp) for one test, removed with
// everything in it when the test is done.

#include <filesystem>
#include <string>
#include <string_view>

namespace cairn::testing {

class temp_dir {
 public:
  // The folder is named PREFIX-XXXXXX (mkdtemp); throws when it cannot be made.
  explicit temp_dir(std::string_view prefix = "cairn-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace cairn::testing
