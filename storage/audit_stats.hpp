#pragma once
// storage/ only: what every backend's store::audit_stats() shares. Each
// backend keeps, at append time and in the pull record's own transaction, one
// counter per (UTC hour, account, api root, collection id): the pull records
// and the objects they listed. A query reads the counters of the hours its
// window covers and sums them here into the points it asked for (a day is
// the sum of its 24 hours).
//
// Window: a bucket is answered whole when it overlaps [since, until], so
// since and until are rounded outwards to the bucket size.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/error.hpp"
#include "storage/store.hpp"

namespace cairn::storage::audit_stats_index {

inline constexpr micros hour = micros{3600} * 1'000'000;
inline constexpr micros day = 24 * hour;

// The start of t's bucket of this size (t >= 0).
inline micros floor_to(micros t, micros size) {
  return t < 0 ? 0 : t - t % size;
}

// The hours [first, last] a query reads (first > last: none).
struct hour_window {
  micros first = 0;
  micros last = std::numeric_limits<micros>::max();
};
inline hour_window window_of(const audit_stats_query& q) {
  const micros size = q.day ? day : hour;
  hour_window w;
  if (q.since) w.first = floor_to(*q.since, size);
  if (q.until) {
    const micros start = floor_to(*q.until, size);
    w.last = start + (size - hour);
  }
  return w;
}

// Whether the counters of (api_root, collection) belong in q's answer.
inline bool wanted(const audit_stats_query& q, std::string_view api_root,
                   std::string_view collection) {
  if (!q.collection.empty() && collection != q.collection) return false;
  if (q.scope && !q.scope->collections.contains({std::string(api_root), std::string(collection)})) {
    return false;
  }
  return true;
}

// Sums hour counters into the query's points, ordered by account, then
// bucket. Counters may come in any order.
class accumulator {
 public:
  explicit accumulator(const audit_stats_query& q) : size_(q.day ? day : hour) {}

  // False (and the sum is abandoned) past max_audit_stats_points points.
  bool add(std::string_view account, micros hour_start, std::uint64_t records,
           std::uint64_t objects) {
    auto [it, fresh] =
        points_.try_emplace({std::string(account), floor_to(hour_start, size_)}, 0, 0);
    if (fresh && points_.size() > max_audit_stats_points) return false;
    it->second.first += records;
    it->second.second += objects;
    return true;
  }

  std::vector<audit_stats_point> points() const {
    std::vector<audit_stats_point> out;
    out.reserve(points_.size());
    for (const auto& [k, v] : points_) out.push_back({k.first, k.second, v.first, v.second});
    return out;
  }

 private:
  micros size_;
  std::map<std::pair<std::string, micros>, std::pair<std::uint64_t, std::uint64_t>> points_;
};

// ---- the LMDB layout (storage/audit_log.cpp) ----
//
// audit_stats   hour start (8 BE), account, api root (each a 1-byte length,
//               then the bytes), collection id (the rest) -> records (8 BE),
//               objects (8 BE)
// audit_meta    "stats" -> empty once the index covers every record (a log
//               written before the index existed is indexed once at open);
//               "stats/upto" -> the last seq indexed while that runs.
inline constexpr const char* lmdb_db = "audit_stats";
inline constexpr std::string_view meta_done = "stats";
inline constexpr std::string_view meta_upto = "stats/upto";

// Names are cut to fit LMDB's 511-byte keys: the server's account and root
// names have at most 64 bytes and its collection ids 256.
inline std::string lmdb_key(micros hour_start, std::string_view account, std::string_view api_root,
                            std::string_view collection) {
  account = account.substr(0, 255);
  api_root = api_root.substr(0, 255);
  std::string k(8, '\0');
  const auto h = static_cast<std::uint64_t>(hour_start);
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(h >> (56 - 8 * i));
  k += static_cast<char>(account.size());
  k += account;
  k += static_cast<char>(api_root.size());
  k += api_root;
  k += collection.substr(0, 511 - std::min<std::size_t>(511, k.size()));
  return k;
}

inline std::string lmdb_hour_key(micros hour_start) {
  return lmdb_key(hour_start, {}, {}, {}).substr(0, 8);
}

struct lmdb_entry {
  micros hour = 0;
  std::string_view account;
  std::string_view api_root;
  std::string_view collection;
  std::uint64_t records = 0;
  std::uint64_t objects = 0;
};

inline std::uint64_t u64_be(std::string_view b) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

inline std::string lmdb_value(std::uint64_t records, std::uint64_t objects) {
  std::string v(16, '\0');
  for (int i = 0; i < 8; ++i) {
    v[i] = static_cast<char>(records >> (56 - 8 * i));
    v[8 + i] = static_cast<char>(objects >> (56 - 8 * i));
  }
  return v;
}

// False for a malformed entry.
inline bool parse_lmdb(std::string_view k, std::string_view v, lmdb_entry& out) {
  if (k.size() < 10 || v.size() != 16) return false;
  out.hour = static_cast<micros>(u64_be(k));
  std::size_t at = 8;
  const std::size_t account = static_cast<unsigned char>(k[at++]);
  if (at + account + 1 > k.size()) return false;
  out.account = k.substr(at, account);
  at += account;
  const std::size_t root = static_cast<unsigned char>(k[at++]);
  if (at + root > k.size()) return false;
  out.api_root = k.substr(at, root);
  out.collection = k.substr(at + root);
  out.records = u64_be(v);
  out.objects = u64_be(v.substr(8));
  return true;
}

inline std::unexpected<error> too_many_points() {
  return fail(errc::too_many, "the statistics would have more than " +
                                  std::to_string(max_audit_stats_points) +
                                  " points: narrow since and until, or name a collection");
}

}  // namespace cairn::storage::audit_stats_index
