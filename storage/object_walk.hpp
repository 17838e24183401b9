#pragma once
// storage/ only: reads of a collection's objects database (codec.hpp), whose
// keys are (TLP level, date_added): each level is its own run of keys.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "formats/tlp.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"

namespace cairn::storage {

inline constexpr unsigned all_levels = (1u << codec::tlp_levels) - 1;

// The levels 0..max as a mask for level_walk.
inline unsigned levels_up_to(formats::tlp_level max) {
  return (1u << (static_cast<unsigned>(max) + 1)) - 1;
}

// Walks the versions of the given levels (bit L for level L) with positions
// in [from, to], in date_added order: a merge of one cursor per level, each
// reading its level's keys in order. Nothing of another level is read.
class level_walk {
 public:
  static lmdb::result<level_walk> open(const lmdb::txn& t, lmdb::dbi objects, unsigned levels,
                                       micros from, micros to);

  // The next version (key and value point into the map until the next call);
  // false at the end.
  lmdb::result<bool> next(std::string_view& key, std::string_view& value);

 private:
  struct source {
    std::optional<lmdb::cursor> cursor;
    std::string_view key;
    std::string_view value;
    unsigned level = 0;
    bool live = false;
  };
  lmdb::status advance(source& s, bool first);

  std::array<source, codec::tlp_levels> sources_;
  micros from_ = 0;
  micros to_ = 0;
  int returned_ = -1;  // the source whose record next() gave last
};

// The version at position at, whatever its level (tried from hint on, as a
// run of positions is mostly of one level); std::nullopt when absent. key and
// value point into the map.
struct found_version {
  std::string_view value;
  formats::tlp_level level = formats::tlp_level::clear;
};
lmdb::result<std::optional<found_version>> find_version(const lmdb::txn& t, lmdb::dbi objects,
                                                        micros at, unsigned hint = 0);

}  // namespace cairn::storage
