#include "storage/object_walk.hpp"

namespace cairn::storage {

lmdb::result<level_walk> level_walk::open(const lmdb::txn& t, lmdb::dbi objects, unsigned levels,
                                          micros from, micros to) {
  level_walk w;
  w.from_ = from;
  w.to_ = to;
  if (from > to) return w;
  for (unsigned l = 0; l < codec::tlp_levels; ++l) {
    if ((levels & (1u << l)) == 0) continue;
    auto c = lmdb::cursor::open(t, objects);
    if (!c) return std::unexpected(c.error());
    source& s = w.sources_[l];
    s.cursor.emplace(std::move(*c));
    s.level = l;
    if (auto st = w.advance(s, true); !st) return std::unexpected(st.error());
  }
  return w;
}

lmdb::status level_walk::advance(source& s, bool first) {
  auto found = first
                   ? s.cursor->seek(
                         codec::object_key(static_cast<formats::tlp_level>(s.level), from_).view(),
                         s.key, s.value)
                   : s.cursor->get(s.key, s.value, MDB_NEXT);
  if (!found) {
    s.live = false;
    return std::unexpected(found.error());
  }
  s.live = *found && s.key.size() == codec::object_key_bytes &&
           codec::level_of_key(s.key) == s.level && codec::position_of(s.key) <= to_;
  return {};
}

lmdb::result<bool> level_walk::next(std::string_view& key, std::string_view& value) {
  if (returned_ >= 0) {
    if (auto st = advance(sources_[returned_], false); !st) return std::unexpected(st.error());
    returned_ = -1;
  }
  micros best = 0;
  for (unsigned l = 0; l < codec::tlp_levels; ++l) {
    const source& s = sources_[l];
    if (!s.live) continue;
    const micros at = codec::position_of(s.key);
    if (returned_ < 0 || at < best) {
      best = at;
      returned_ = static_cast<int>(l);
    }
  }
  if (returned_ < 0) return false;
  key = sources_[returned_].key;
  value = sources_[returned_].value;
  return true;
}

lmdb::result<std::optional<found_version>> find_version(const lmdb::txn& t, lmdb::dbi objects,
                                                        micros at, unsigned hint) {
  for (unsigned i = 0; i < codec::tlp_levels; ++i) {
    const auto level = static_cast<formats::tlp_level>((hint + i) % codec::tlp_levels);
    const auto key = codec::object_key(level, at);
    auto value = objects.find(t, key.view());
    if (!value) return std::unexpected(value.error());
    if (*value) return found_version{**value, level};
  }
  return std::optional<found_version>();
}

}  // namespace cairn::storage
