#pragma once
// The byte layouts of the object store's keys and values (storage/ only).
//
// objects/<collection key> (one LMDB database per collection, so that new
// versions are always appended with MDB_APPEND)
//   key   date_added, 8 bytes big-endian
//   value a 12-byte header, then the strings and the JSON:
//           [0] format (1)   [1] flags (bit 0: deleted)   [2] tlp   [3] spec_version length
//           [4..5] id length   [6..7] version length   [8..9] publisher length  (little-endian)
//           [10..11] zero
//         id, version, spec_version, publisher, json (the rest of the value).
//         A deleted version keeps its header and strings and drops its JSON.
// by_id
//   key   collection key (4 bytes BE), object id, 0x00, stix_time_key(version)
//   value date_added, 8 bytes BE
// status
//   key   status id          value: encode_status()
// status_time
//   key   stored_at (8 bytes BE), status id      value: empty
// meta
//   "schema" -> u32 BE; "next_collection" -> u32 BE;
//   "c/<collection id>" -> collection key (u32 BE);
//   "last/" + collection key (u32 BE) -> last date_added given out (u64 BE)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "formats/tlp.hpp"
#include "storage/object_store.hpp"

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
inline micros position_of(std::string_view key) {
  return key.size() == 8 ? static_cast<micros>(get_u64be(key.data())) : 0;
}

inline fixed_key<4> collection_bytes(collection_key c) {
  fixed_key<4> k;
  put_u32be(k.bytes, c);
  return k;
}

// Longest object id, version and publisher the store accepts, so that every
// key fits LMDB's 511-byte limit and every length its header field.
inline constexpr std::size_t max_id_bytes = 300;
inline constexpr std::size_t max_version_bytes = 64;
inline constexpr std::size_t max_spec_version_bytes = 32;
inline constexpr std::size_t max_publisher_bytes = 1024;
inline constexpr std::size_t max_collection_id_bytes = 256;
inline constexpr std::size_t time_key_bytes = 30;  // formats::stix_time_key()
inline constexpr std::size_t max_by_id_key = 4 + max_id_bytes + 1 + time_key_bytes;

// ck BE + id + 0x00 into out (which holds at least max_by_id_key bytes);
// returns the prefix length. id must be at most max_id_bytes long.
inline std::size_t by_id_prefix(char* out, collection_key c, std::string_view id) {
  put_u32be(out, c);
  std::memcpy(out + 4, id.data(), id.size());
  out[4 + id.size()] = '\0';
  return 4 + id.size() + 1;
}

inline constexpr std::size_t object_header_bytes = 12;
inline constexpr std::uint8_t object_format = 1;
inline constexpr std::uint8_t flag_deleted = 1;

struct object_fields {
  std::string_view id;
  std::string_view version;
  std::string_view spec_version;
  std::string_view publisher;
  std::string_view json;
  formats::tlp_level tlp = formats::tlp_level::amber;
  bool deleted = false;
};

inline std::size_t object_value_bytes(const object_fields& f) {
  return object_header_bytes + f.id.size() + f.version.size() + f.spec_version.size() +
         f.publisher.size() + f.json.size();
}

// Writes object_value_bytes(f) bytes at out. The lengths must be within the
// max_*_bytes limits above.
inline void encode_object(char* out, const object_fields& f) {
  out[0] = static_cast<char>(object_format);
  out[1] = static_cast<char>(f.deleted ? flag_deleted : 0);
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

// A status resource and the time it was stored.
std::string encode_status(const status_record& status, micros stored_at);
// std::nullopt when value is malformed.
std::optional<status_record> decode_status(std::string_view value, micros* stored_at);

}  // namespace cairn::storage::codec
