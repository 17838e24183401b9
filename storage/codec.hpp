#pragma once
// The byte layouts of the object store's keys and values (storage/ only).
//
// Schema 2 (schema 1 keyed objects by date_added alone; open() migrates it).
//
// objects/<collection key> (one LMDB database per collection)
//   key   TLP level (1 byte), date_added (8 bytes big-endian)
//         Each level is its own run of keys, in date_added order, so that a
//         reader walks only the levels it may receive (a merge of at most
//         five cursors) and never reads a version above its clearance. New
//         versions go at the end of their level's run (MDB_APPEND when that
//         is the end of the database).
//   value a 12-byte header, then the strings and the JSON:
//           [0] format (1)   [1] flags (bit 0: deleted, bit 1: later copy,
//               bit 2: copy of an id)   [2] tlp
//           [3] spec_version length
//           [4..5] id length   [6..7] version length   [8..9] publisher length  (little-endian)
//           [10..11] zero
//         id, version, spec_version, publisher, json (the rest of the value).
//         A deleted version keeps its header and strings and drops its JSON.
//         "Later copy": when this version was stored, a copy of the same
//         (id, version) was already live or planned earlier in the same
//         commit (one its publisher could not receive, see
//         publish_request::duplicate_if). Within a commit positions follow
//         TLP levels, so such a copy may sit before the one it follows: an
//         unflagged copy, then flagged ones by position, is the order of
//         storing. Only flagged records need read_txn::earlier_copy(); the
//         flag stays after the earlier copy is deleted (the check then finds
//         nothing).
//         "Copy of an id" (with "later copy"): stored without a version of
//         its own (an SCO; its version was assigned) while another version
//         of its id was live. Its earlier copies are then the id's other
//         versions, not those of its (unique) assigned version.
// by_id (one entry per live version)
//   key   collection key (4 bytes BE), id_hash(object id) (8 bytes BE),
//         pack_time_key(version) (11 bytes), date_added (8 bytes BE)
//   value the version's TLP level (1 byte); empty in entries written by
//         schema 1 (the level is then found by trying each one)
//   The keyed hash keeps entries small (few pages to write per commit, as the
//   ids are random); ids that share a hash are told apart by the record.
// by_publisher (one entry per publish and level above TLP:CLEAR)
//   key   collection key (4 bytes BE), keyed hash of the publisher name
//         (8 bytes BE), date_added of the first version (8 bytes BE)
//   value the level (1 byte), date_added of the last version (8 bytes BE)
//   Every version of that level in [first, last] is the publisher's: one
//   publish's versions of one level are consecutive among that level's (see
//   publish_outcome). A publisher receives its own versions whatever their
//   level: this finds those above its clearance without walking the levels
//   it may not see. Publishers that share a hash are told apart by the
//   record. Deleted versions stay covered (reads skip them).
// status
//   key   status id          value: encode_status()
// status_time
//   key   stored_at (8 bytes BE), status id      value: empty
// status_owner (one entry per stored status)
//   key   keyed hash of the owner (8 bytes BE), request_timestamp (8 bytes
//         BE), status id
//   value encode_status_summary(): stored_at, the counts of the lists, the
//         owner (owners that share a hash are told apart by it), api_root
//   An owner's statuses are one run of keys in request order: a listing
//   walks it backwards from a cursor and reads no status record.
// meta
//   "schema" -> u32 BE; "next_collection" -> u32 BE; "id_hash_key" -> 16 bytes;
//   "c/<collection id>" -> collection key (u32 BE);
//   "last/" + collection key (u32 BE) -> last date_added given out (u64 BE)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/tlp.hpp"
#include "storage/store.hpp"

namespace cairn::storage::codec {

inline void put_u32be(char* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
inline std::uint32_t get_u32be(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline void put_u64be(char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
inline std::uint64_t get_u64be(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline void put_u16le(char* p, std::uint16_t v) {
  p[0] = static_cast<char>(v & 0xff);
  p[1] = static_cast<char>(v >> 8);
}
inline std::uint16_t get_u16le(const char* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    (static_cast<unsigned char>(p[1]) << 8));
}

// A fixed-size key held on the stack.
template <std::size_t N>
struct fixed_key {
  char bytes[N];
  std::string_view view() const { return {bytes, N}; }
};

inline fixed_key<8> position_key(micros date_added) {
  fixed_key<8> k;
  put_u64be(k.bytes, static_cast<std::uint64_t>(date_added));
  return k;
}

inline constexpr unsigned tlp_levels = 5;  // clear .. red
inline constexpr std::size_t object_key_bytes = 9;

// The key of a version in objects/<collection key>.
inline fixed_key<object_key_bytes> object_key(formats::tlp_level level, micros date_added) {
  fixed_key<object_key_bytes> k;
  k.bytes[0] = static_cast<char>(level);
  put_u64be(k.bytes + 1, static_cast<std::uint64_t>(date_added));
  return k;
}
// The date_added of an objects key; 0 when it is not one.
inline micros position_of(std::string_view key) {
  return key.size() == object_key_bytes ? static_cast<micros>(get_u64be(key.data() + 1)) : 0;
}
inline unsigned level_of_key(std::string_view key) {
  return key.empty() ? 0 : static_cast<unsigned char>(key[0]);
}

// The value of a by_id entry.
inline fixed_key<1> level_value(formats::tlp_level level) {
  return fixed_key<1>{{static_cast<char>(level)}};
}
// The level a by_id value names; std::nullopt when it names none (schema 1
// entries).
inline std::optional<formats::tlp_level> level_of_value(std::string_view v) {
  if (v.size() != 1 || static_cast<unsigned char>(v[0]) >= tlp_levels) return std::nullopt;
  return static_cast<formats::tlp_level>(v[0]);
}

inline constexpr std::size_t by_publisher_prefix = 12;  // ck, hash
inline constexpr std::size_t by_publisher_key_bytes = by_publisher_prefix + 8;

inline fixed_key<by_publisher_key_bytes> by_publisher_key(collection_key c,
                                                          std::uint64_t publisher_hash,
                                                          micros date_added) {
  fixed_key<by_publisher_key_bytes> k;
  put_u32be(k.bytes, c);
  put_u64be(k.bytes + 4, publisher_hash);
  put_u64be(k.bytes + by_publisher_prefix, static_cast<std::uint64_t>(date_added));
  return k;
}
inline micros by_publisher_position(std::string_view key) {
  return key.size() == by_publisher_key_bytes
             ? static_cast<micros>(get_u64be(key.data() + by_publisher_prefix))
             : 0;
}
inline constexpr std::size_t by_publisher_value_bytes = 9;
inline fixed_key<by_publisher_value_bytes> by_publisher_value(formats::tlp_level level,
                                                              micros last) {
  fixed_key<by_publisher_value_bytes> v;
  v.bytes[0] = static_cast<char>(level);
  put_u64be(v.bytes + 1, static_cast<std::uint64_t>(last));
  return v;
}
// The level and last position of a by_publisher value; false if malformed.
inline bool decode_by_publisher(std::string_view v, formats::tlp_level& level, micros& last) {
  if (v.size() != by_publisher_value_bytes || static_cast<unsigned char>(v[0]) >= tlp_levels) {
    return false;
  }
  level = static_cast<formats::tlp_level>(v[0]);
  last = static_cast<micros>(get_u64be(v.data() + 1));
  return true;
}

inline fixed_key<4> collection_bytes(collection_key c) {
  fixed_key<4> k;
  put_u32be(k.bytes, c);
  return k;
}

// Longest object id, version, spec_version and publisher the store accepts
// (each fits its header field).
inline constexpr std::size_t max_id_bytes = 300;
inline constexpr std::size_t max_version_bytes = 64;
inline constexpr std::size_t max_spec_version_bytes = 32;
inline constexpr std::size_t max_publisher_bytes = 1024;
inline constexpr std::size_t max_collection_id_bytes = 256;

// SipHash-2-4 of data under a 128-bit key.
struct hash_key {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};
std::uint64_t siphash24(const hash_key& key, std::string_view data);

// formats::stix_time_key() text ("YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ") as 11
// bytes that sort the same way: year (u16 BE), month, day, hour, minute,
// second, nanoseconds (u32 BE). False when key is not in that form.
inline constexpr std::size_t packed_time_bytes = 11;
bool pack_time_key(std::string_view key, char* out);

inline constexpr std::size_t by_id_id_prefix = 12;  // ck, hash
inline constexpr std::size_t by_id_version_prefix = by_id_id_prefix + packed_time_bytes;  // + time
inline constexpr std::size_t by_id_key_bytes = by_id_version_prefix + 8;  // + date_added

struct by_id_key {
  char bytes[by_id_key_bytes];
  std::string_view id_prefix() const { return {bytes, by_id_id_prefix}; }
  std::string_view version_prefix() const { return {bytes, by_id_version_prefix}; }
  std::string_view full() const { return {bytes, by_id_key_bytes}; }
  void set_id(collection_key c, std::uint64_t id_hash) {
    put_u32be(bytes, c);
    put_u64be(bytes + 4, id_hash);
  }
  void set_time(const char* packed) {
    std::memcpy(bytes + by_id_id_prefix, packed, packed_time_bytes);
  }
  void set_position(micros date_added) {
    put_u64be(bytes + by_id_version_prefix, static_cast<std::uint64_t>(date_added));
  }
};

inline micros by_id_position(std::string_view key) {
  return key.size() == by_id_key_bytes
             ? static_cast<micros>(get_u64be(key.data() + by_id_version_prefix))
             : 0;
}

inline constexpr std::size_t object_header_bytes = 12;
inline constexpr std::uint8_t object_format = 1;
inline constexpr std::uint8_t flag_deleted = 1;
inline constexpr std::uint8_t flag_later_copy = 2;
inline constexpr std::uint8_t flag_id_copy = 4;
// Set only by writers that maintain it: no later version (a later STIX
// timestamp) of the record's id was stored in its collection when it was
// written, and it is cleared, in the same transaction, when one is. Records
// written before the mark existed lack it and are ranked by reading.
inline constexpr std::uint8_t flag_newest = 8;

struct object_fields {
  std::string_view id;
  std::string_view version;
  std::string_view spec_version;
  std::string_view publisher;
  std::string_view json;
  formats::tlp_level tlp = formats::tlp_level::amber;
  bool deleted = false;
  bool later_copy = false;
  bool id_copy = false;
  bool newest = false;
};

inline std::size_t object_value_bytes(const object_fields& f) {
  return object_header_bytes + f.id.size() + f.version.size() + f.spec_version.size() +
         f.publisher.size() + f.json.size();
}

// Writes object_value_bytes(f) bytes at out. The lengths must be within the
// max_*_bytes limits above.
inline void encode_object(char* out, const object_fields& f) {
  out[0] = static_cast<char>(object_format);
  out[1] = static_cast<char>((f.deleted ? flag_deleted : 0) | (f.later_copy ? flag_later_copy : 0) |
                             (f.id_copy ? flag_id_copy : 0) | (f.newest ? flag_newest : 0));
  out[2] = static_cast<char>(f.tlp);
  out[3] = static_cast<char>(f.spec_version.size());
  put_u16le(out + 4, static_cast<std::uint16_t>(f.id.size()));
  put_u16le(out + 6, static_cast<std::uint16_t>(f.version.size()));
  put_u16le(out + 8, static_cast<std::uint16_t>(f.publisher.size()));
  out[10] = 0;
  out[11] = 0;
  char* p = out + object_header_bytes;
  for (std::string_view s : {f.id, f.version, f.spec_version, f.publisher, f.json}) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
}

// Reads a value written by encode_object; false when it is malformed. The
// views point into value.
inline bool decode_object(std::string_view value, object_fields& f) {
  if (value.size() < object_header_bytes) return false;
  const char* p = value.data();
  if (static_cast<std::uint8_t>(p[0]) != object_format) return false;
  const auto tlp = static_cast<std::uint8_t>(p[2]);
  if (tlp > static_cast<std::uint8_t>(formats::tlp_level::red)) return false;
  const std::size_t spec_len = static_cast<unsigned char>(p[3]);
  const std::size_t id_len = get_u16le(p + 4);
  const std::size_t version_len = get_u16le(p + 6);
  const std::size_t publisher_len = get_u16le(p + 8);
  const std::size_t strings = id_len + version_len + spec_len + publisher_len;
  if (value.size() - object_header_bytes < strings) return false;
  f.deleted = (static_cast<std::uint8_t>(p[1]) & flag_deleted) != 0;
  f.later_copy = (static_cast<std::uint8_t>(p[1]) & flag_later_copy) != 0;
  f.id_copy = (static_cast<std::uint8_t>(p[1]) & flag_id_copy) != 0;
  f.newest = (static_cast<std::uint8_t>(p[1]) & flag_newest) != 0;
  f.tlp = static_cast<formats::tlp_level>(tlp);
  const char* s = p + object_header_bytes;
  f.id = {s, id_len};
  s += id_len;
  f.version = {s, version_len};
  s += version_len;
  f.spec_version = {s, spec_len};
  s += spec_len;
  f.publisher = {s, publisher_len};
  s += publisher_len;
  f.json = {s, static_cast<std::size_t>(value.data() + value.size() - s)};
  return true;
}

// A status resource as stored. The versions a publish added are kept as
// ranges of positions in one collection, not as a list of ids: a status of
// 1,000 added objects takes a few dozen bytes instead of 80 KB. read_txn
// expands the ranges from the objects records (deleted ones keep their id and
// version), before the listed successes.
//
// A range has a level: every version of that level in the collection with a
// position in [first, last] was added by this publish (the writer numbers a
// commit's new versions level by level, so one publish's versions of one
// level are consecutive among that level's). Statuses stored by schema 1
// have ranges of any level: every version in [first, last] is the publish's.
inline constexpr std::uint8_t any_level = 0xff;

struct added_range {
  micros first = 0;
  micros last = 0;
  std::uint8_t level = any_level;
  bool operator==(const added_range&) const = default;
};

struct stored_status {
  status_record status;  // successes: only those stored as a list
  micros stored_at = 0;
  collection_key collection = 0;
  std::vector<added_range> added;  // inclusive position ranges
};

// status holds only the successes stored as a list; added are the ranges.
std::string encode_status(const status_record& status, micros stored_at, collection_key collection,
                          const std::vector<added_range>& added);
// std::nullopt when value is malformed.
std::optional<stored_status> decode_status(std::string_view value);
// The stored_at of an encoded status, without decoding the rest; 0 if malformed.
micros status_stored_at(std::string_view value);

// A status_owner entry.
struct owned_status {
  micros stored_at = 0;
  std::string owner;
  status_summary summary;  // id and request_timestamp come from the key
};
std::string status_owner_key(std::uint64_t owner_hash, micros request_timestamp,
                             std::string_view status_id);
std::string encode_status_summary(const status_record& status, std::size_t successes,
                                  micros stored_at);
// std::nullopt when the key or the value is malformed.
std::optional<owned_status> decode_status_summary(std::string_view key, std::string_view value);

}  // namespace cairn::storage::codec
