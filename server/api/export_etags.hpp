#pragma once
// The ETags of recent exports (server/api/exports_service.hpp), so that a
// conditional request for an unchanged export is answered without a scan.
//
// Threads: any.

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "formats/time.hpp"

namespace cairn::server {

// The most recent export ETags, bounded (least recently used go first).
class export_etags {
 public:
  static constexpr std::size_t k_max_entries = 4096;

  // The ETag remembered under key if it still holds: same generation, and
  // `now` before the instant its validity boundaries allow.
  std::optional<std::string> find(const std::string& key, std::uint64_t generation,
                                  formats::micros now);
  void put(const std::string& key, std::uint64_t generation, std::string etag,
           formats::micros until);
  std::size_t size() const;

 private:
  struct entry {
    std::uint64_t generation = 0;
    std::string etag;
    formats::micros until = 0;
    std::list<std::string>::iterator age;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> ages_;  // most recent first
};

}  // namespace cairn::server
