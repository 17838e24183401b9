#pragma once
// Small durable operator state beside the store: account suspensions and the
// monitor's compact state (known address prefixes, volume baselines). Unlike
// storage::store, a control store can be opened by a second process while
// cairnd runs (`cairnd account resume`), and every member blocks: it is for
// background threads and operator commands, never the request path.
//
// Backends: a folder (the LMDB deployment: files in data_dir, written
// atomically and durably, serialised between processes by a lock file) and
// PostgreSQL (tables of the shared database, so that every node of one
// exchange sees one state).
//
// Threads: one caller at a time per instance.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/time.hpp"

namespace cairn::storage {

struct suspension {
  std::string account;
  std::string kind;             // the alert kind that suspended it; empty: none recorded
  std::uint64_t alert_seq = 0;  // the alert record's seq, 0 when unknown
  formats::micros since = 0;
  bool operator==(const suspension&) const = default;
};

class control_store {
 public:
  virtual ~control_store() = default;
  virtual result<std::vector<suspension>> suspensions() = 0;
  // False when the account was already suspended (the first suspension stays).
  virtual result<bool> suspend(const suspension& s) = 0;
  // False when the account was not suspended.
  virtual result<bool> resume(std::string_view account) = 0;
  // A named blob (the monitor's state); std::nullopt when never saved.
  virtual result<std::optional<std::string>> load(std::string_view key) = 0;
  virtual result<void> save(std::string_view key, std::string_view value) = 0;
};

// data_dir/control/ (created 0700 when missing).
result<std::unique_ptr<control_store>> open_folder_control(const std::filesystem::path& data_dir);

}  // namespace cairn::storage
