#pragma once
// Whole-file reads and writes for test set-up.

#include <filesystem>
#include <string>
#include <string_view>

namespace cairn::testing {

// The bytes of the file, or "" when it cannot be read (a test then fails on
// what it expected to find).
std::string read_file(const std::filesystem::path& path);

// Replaces the file with text; throws when it cannot be written.
void write_file(const std::filesystem::path& path, std::string_view text);

}  // namespace cairn::testing
