#pragma once
// The state file of an incremental `cairn pull --state FILE`: where the last
// pull safely ended. Written atomically (write_file_atomically) and only after
// the objects it covers are durable in the output.
//
// Format (JSON):
//   {"version":1,"url":"https://host/sharing/","collection":"indicators",
//    "added_after":"2026-11-27T10:00:00.123456Z",
//    "output":"/abs/feed.jsonl","output_bytes":123456}
// output/output_bytes are set for JSON-lines pulls appended to a file: the
// output's length when added_after was recorded, so that bytes written after
// it by an interrupted pull can be cut off before resuming.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "formats/error.hpp"

namespace cairn::clients {

struct pull_state {
  std::string url;          // server and API root the state belongs to
  std::string collection;   // as given on the command line
  std::string added_after;  // X-TAXII-Date-Added-Last of the last safe page ("" = from the start)
  std::string output;       // absolute path of an appended output, or ""
  std::uint64_t output_bytes = 0;

  std::string to_json() const;
};

// Parses a state file's text; errors say what is wrong with it.
result<pull_state> parse_pull_state(std::string_view text);

// Reads a state file; a missing file is nullopt (a first pull).
result<std::optional<pull_state>> read_pull_state(const std::filesystem::path& path);

// Replaces the state file atomically and durably.
result<void> write_pull_state(const std::filesystem::path& path, const pull_state& state);

}  // namespace cairn::clients
