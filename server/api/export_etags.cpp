#include "server/api/export_etags.hpp"

namespace cairn::server {

using formats::micros;

std::optional<std::string> export_etags::find(const std::string& key, std::uint64_t generation,
                                              micros now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.generation != generation || now >= it->second.until) {
    return std::nullopt;
  }
  ages_.splice(ages_.begin(), ages_, it->second.age);
  return it->second.etag;
}

void export_etags::put(const std::string& key, std::uint64_t generation, std::string etag,
                       micros until) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    it->second.generation = generation;
    it->second.etag = std::move(etag);
    it->second.until = until;
    ages_.splice(ages_.begin(), ages_, it->second.age);
    return;
  }
  if (entries_.size() >= k_max_entries) {
    entries_.erase(ages_.back());
    ages_.pop_back();
  }
  ages_.push_front(key);
  entries_.emplace(key, entry{generation, std::move(etag), until, ages_.begin()});
}

std::size_t export_etags::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace cairn::server
