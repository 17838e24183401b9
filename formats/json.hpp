#pragma once
// JSON for the whole project. This is the only header that knows RapidJSON
// exists; everything else sees json_document, json_view and json_writer.
//
// Parsing is bounded: total size, nesting depth, string length and member
// count are checked, duplicate member names are refused (RFC 7493), and the
// text must be valid UTF-8. A json_view borrows from its json_document and
// dies with it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"

namespace cairn::formats {

struct json_limits {
  std::size_t max_bytes = 64u << 20;
  std::size_t max_depth = 64;
  std::size_t max_string_bytes = 16u << 20;
  std::size_t max_members = 1u << 20;  // members of one object or items of one array
};

class json_document;

// A read-only handle on one value inside a json_document.
class json_view {
 public:
  enum class kind { null, boolean, number, string, array, object };

  json_view() = default;

  kind type() const;
  bool is_null() const { return type() == kind::null; }
  bool is_bool() const { return type() == kind::boolean; }
  bool is_number() const { return type() == kind::number; }
  bool is_integer() const;  // a number without fraction that fits int64
  bool is_string() const { return type() == kind::string; }
  bool is_array() const { return type() == kind::array; }
  bool is_object() const { return type() == kind::object; }

  bool as_bool() const;
  std::int64_t as_int() const;  // requires is_integer()
  double as_double() const;
  std::string_view as_string() const;

  // Objects: member lookup (not-found is std::nullopt) and iteration.
  std::optional<json_view> get(std::string_view key) const;
  std::size_t size() const;                      // members of an object or items of an array
  std::string_view key_at(std::size_t i) const;  // objects only
  json_view value_at(std::size_t i) const;       // objects: member value; arrays: item

  // Minified serialisation of this value.
  std::string dump() const;

  // Structural equality: object member order does not matter, numbers compare
  // by value.
  bool equals(const json_view& other) const;

 private:
  friend class json_document;
  friend std::string canonical_json(const json_view& v, std::span<const std::string_view> skip);
  explicit json_view(const void* v) : v_(v) {}
  const void* v_ = nullptr;
};

class json_document {
 public:
  json_document();
  ~json_document();
  json_document(json_document&&) noexcept;
  json_document& operator=(json_document&&) noexcept;

  json_view root() const;

 private:
  friend result<json_document> parse_json(std::string_view text, const json_limits& limits);
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Parses text under the limits. The error message says what and where
// ("offset 120: missing a comma or '}' after an object member").
result<json_document> parse_json(std::string_view text, const json_limits& limits = {});

// Is text well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF)? What parse_json requires of its strings.
bool is_utf8(std::string_view text);

// JSON-escapes s (without the surrounding quotes).
std::string json_escape(std::string_view s);

// The one JSON writer: minified output into an owned string. Calls must nest
// correctly; raw() inserts already-serialised JSON (stored objects) verbatim.
class json_writer {
 public:
  json_writer();
  ~json_writer();
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& string(std::string_view s);
  json_writer& integer(std::int64_t i);
  json_writer& number(double d);
  json_writer& boolean(bool b);
  json_writer& null();
  json_writer& raw(std::string_view json);
  // Shorthands for one member.
  json_writer& member(std::string_view k, std::string_view v) { return key(k).string(v); }
  json_writer& member(std::string_view k, const char* v) { return key(k).string(v); }
  json_writer& member(std::string_view k, std::int64_t v) { return key(k).integer(v); }
  json_writer& member(std::string_view k, bool v) { return key(k).boolean(v); }

  const std::string& str() const;
  std::string take();
  void reserve(std::size_t n);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// RFC 8785 (JSON Canonicalization Scheme) serialisation of a value: members
// sorted by UTF-16 code units, no white space, ECMAScript number formatting.
// When v is an object, its members named in skip are left out (only at the
// top level), e.g. a record's own hash when the hash is computed over it.
std::string canonical_json(const json_view& v, std::span<const std::string_view> skip = {});

// Does member name a come before b in RFC 8785 order (by UTF-16 code units)?
// For writing canonical JSON by hand.
bool canonical_key_less(std::string_view a, std::string_view b);

}  // namespace cairn::formats
