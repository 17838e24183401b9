#pragma once
// The storage tests' temporary folder: tests/support's, with its path as a
// string (the storage API takes strings).

#include <string>

#include "support/temp_dir.hpp"

namespace cairn::storage::testing {

class temp_dir {
 public:
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  cairn::testing::temp_dir dir_{"cairn-storage"};
  std::string path_ = dir_.path().string();
};

}  // namespace cairn::storage::testing
