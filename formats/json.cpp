#include "formats/json.hpp"

// RapidJSON copies string bodies and skips white space 16 bytes at a time
// with SSE2 (every x86-64 has it), given text that ends in a NUL.
#if defined(__SSE2__)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "formats/hex.hpp"

namespace cairn::formats {

namespace {

using value_t = rapidjson::Value;

const value_t& val(const void* v) {
  return *static_cast<const value_t*>(v);
}

// Eight bytes at a time: the text is mostly the inside of strings, where
// only a quote, a backslash and (for output) a control character matter.
constexpr std::uint64_t k_ones = 0x0101010101010101u;
constexpr std::uint64_t k_highs = 0x8080808080808080u;

std::uint64_t load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
// Nonzero if some byte of w is below n (n <= 0x80).
std::uint64_t any_below(std::uint64_t w, unsigned char n) {
  return (w - k_ones * n) & ~w & k_highs;
}
// Nonzero if some byte of w equals b.
std::uint64_t any_equal(std::uint64_t w, unsigned char b) {
  return any_below(w ^ (k_ones * b), 1);
}
// Does a byte of w end a run of plain string bytes: '"' or '\\'?
bool any_quote_or_backslash(std::uint64_t w) {
  return (any_equal(w, '"') | any_equal(w, '\\')) != 0;
}

// One pass over the raw text, before the parser sees it, so that nesting depth
// and string sizes are bounded without trusting the parser's recursion.
result<void> prescan(std::string_view text, const json_limits& limits) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  std::size_t string_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (in_string && !escaped) {
      // Skip whole words of plain string bytes.
      while (text.size() - i >= 8 && !any_quote_or_backslash(load8(text.data() + i))) i += 8;
      if (i == text.size()) break;
    }
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        if (i - string_start > limits.max_string_bytes) {
          return fail("a string is longer than " + std::to_string(limits.max_string_bytes) +
                      " bytes (offset " + std::to_string(string_start) + ")");
        }
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth) {
        return fail("nesting deeper than " + std::to_string(limits.max_depth) + " levels (offset " +
                    std::to_string(i) + ")");
      }
    } else if (c == '}' || c == ']') {
      if (depth > 0) --depth;
    }
  }
  return {};
}

std::string_view name_of(const value_t::Member& m) {
  return {m.name.GetString(), m.name.GetStringLength()};
}

// The first (in byte order) member name that o holds twice, if any.
std::optional<std::string_view> duplicate_name(const value_t& o) {
  const auto begin = o.MemberBegin();
  const auto n = static_cast<std::size_t>(o.MemberCount());
  // A STIX object has a dozen or two members: comparing each pair costs less
  // than sorting a copy of the names on the heap.
  constexpr std::size_t pairwise_up_to = 32;
  if (n <= pairwise_up_to) {
    std::optional<std::string_view> dup;
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = name_of(begin[static_cast<std::ptrdiff_t>(i)]);
      for (std::size_t j = i + 1; j < n; ++j) {
        if (a == name_of(begin[static_cast<std::ptrdiff_t>(j)]) && (!dup || a < *dup)) dup = a;
      }
    }
    return dup;
  }
  std::vector<std::string_view> names;
  names.reserve(n);
  for (auto it = begin; it != o.MemberEnd(); ++it) names.push_back(name_of(*it));
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup == names.end()) return std::nullopt;
  return *dup;
}

// Walks the parsed tree: duplicate member names and oversized containers.
// The error's where (a JSON pointer to the value) is written only for a
// failure, step by step as the walk unwinds.
result<void> check_tree(const value_t& v, const json_limits& limits) {
  auto inside = [](result<void> r, std::string_view step) {
    r.error().where.insert(0, "/" + std::string(step));
    return r;
  };
  if (v.IsObject()) {
    if (v.MemberCount() > limits.max_members) {
      return fail("an object has more than " + std::to_string(limits.max_members) + " members");
    }
    if (const auto dup = duplicate_name(v)) {
      return fail("duplicate member name \"" + std::string(*dup) + "\"");
    }
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (auto r = check_tree(it->value, limits); !r) return inside(std::move(r), name_of(*it));
    }
  } else if (v.IsArray()) {
    if (v.Size() > limits.max_members) {
      return fail("an array has more than " + std::to_string(limits.max_members) + " items");
    }
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (auto r = check_tree(v[i], limits); !r) return inside(std::move(r), std::to_string(i));
    }
  }
  return {};
}

void append_escaped(std::string& out, std::string_view s) {
  // Most strings need no escape at all: copy runs of plain bytes in one go,
  // finding their end a word at a time (this is on the path of every stored
  // object and every response).
  std::size_t plain = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    while (s.size() - i >= 8) {
      const std::uint64_t w = load8(s.data() + i);
      if (any_quote_or_backslash(w) || any_below(w, 0x20) != 0) break;
      i += 8;
    }
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += "\\u00"; append_hex(out, c);
    }
  }
  out.append(s.data() + plain, s.size() - plain);
}

// ECMAScript Number::toString, as RFC 8785 requires.
std::string es_number(double d) {
  if (d == 0) return "0";
  if (!std::isfinite(d)) return "null";
  std::string out;
  if (d < 0) {
    out += '-';
    d = -d;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  const auto e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exp = 0;
  std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+' ? 1 : 0), sci.data() + sci.size(),
                  exp);
  const int k = static_cast<int>(digits.size());
  const int n = exp + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += (n - 1 >= 0) ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::u16string to_utf16(std::string_view s) {
  std::u16string out;
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    int len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c >> 5) == 6) {
      cp = c & 0x1f;
      len = 2;
    } else if ((c >> 4) == 14) {
      cp = c & 0x0f;
      len = 3;
    } else {
      cp = c & 0x07;
      len = 4;
    }
    for (int j = 1; j < len && i + static_cast<std::size_t>(j) < s.size(); ++j) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(j)]) & 0x3f);
    }
    i += static_cast<std::size_t>(len);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3ff));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

void dump_value(const value_t& v, std::string& out) {
  switch (v.GetType()) {
    case rapidjson::kNullType: out += "null"; break;
    case rapidjson::kFalseType: out += "false"; break;
    case rapidjson::kTrueType: out += "true"; break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) {
        out += std::to_string(v.GetInt64());
      } else if (v.IsUint64()) {
        out += std::to_string(v.GetUint64());
      } else {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, v.GetDouble());
        std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
        out += s;
        // Keep it a JSON number that still reads back as a non-integer.
        if (s.find_first_of(".eE") == std::string_view::npos) out += ".0";
      }
      break;
    case rapidjson::kStringType:
      out += '"';
      append_escaped(out, std::string_view(v.GetString(), v.GetStringLength()));
      out += '"';
      break;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& item : v.GetArray()) {
        if (!first) out += ',';
        first = false;
        dump_value(item, out);
      }
      out += ']';
      break;
    }
    case rapidjson::kObjectType: {
      out += '{';
      bool first = true;
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        if (!first) out += ',';
        first = false;
        out += '"';
        append_escaped(out, std::string_view(it->name.GetString(), it->name.GetStringLength()));
        out += "\":";
        dump_value(it->value, out);
      }
      out += '}';
      break;
    }
  }
}

void canonical_value(const value_t& v, std::string& out,
                     std::span<const std::string_view> skip = {}) {
  switch (v.GetType()) {
    case rapidjson::kNumberType:
      if (v.IsInt64() && std::llabs(v.GetInt64()) < (1LL << 53)) {
        out += std::to_string(v.GetInt64());
      } else {
        out += es_number(v.GetDouble());
      }
      break;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& item : v.GetArray()) {
        if (!first) out += ',';
        first = false;
        canonical_value(item, out);
      }
      out += ']';
      break;
    }
    case rapidjson::kObjectType: {
      std::vector<std::pair<std::u16string, const value_t::Member*>> members;
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        const std::string_view name(it->name.GetString(), it->name.GetStringLength());
        if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
        members.emplace_back(to_utf16(name), &*it);
      }
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [name, m] : members) {
        if (!first) out += ',';
        first = false;
        const auto* member = m;
        out += '"';
        append_escaped(out,
                       std::string_view(member->name.GetString(), member->name.GetStringLength()));
        out += "\":";
        canonical_value(member->value, out);
      }
      out += '}';
      break;
    }
    default: dump_value(v, out);
  }
}

bool values_equal(const value_t& a, const value_t& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsInt64() && b.IsInt64()) return a.GetInt64() == b.GetInt64();
    if (a.IsUint64() && b.IsUint64()) return a.GetUint64() == b.GetUint64();
    return a.GetDouble() == b.GetDouble();
  }
  if (a.GetType() != b.GetType()) return false;
  switch (a.GetType()) {
    case rapidjson::kStringType:
      return a.GetStringLength() == b.GetStringLength() &&
             std::memcmp(a.GetString(), b.GetString(), a.GetStringLength()) == 0;
    case rapidjson::kArrayType:
      if (a.Size() != b.Size()) return false;
      for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
        if (!values_equal(a[i], b[i])) return false;
      }
      return true;
    case rapidjson::kObjectType:
      if (a.MemberCount() != b.MemberCount()) return false;
      for (auto it = a.MemberBegin(); it != a.MemberEnd(); ++it) {
        auto other = b.FindMember(it->name);
        if (other == b.MemberEnd() || !values_equal(it->value, other->value)) return false;
      }
      return true;
    default: return true;
  }
}

}  // namespace

// ---- json_view ----

json_view::kind json_view::type() const {
  if (!v_) return kind::null;
  switch (val(v_).GetType()) {
    case rapidjson::kNullType: return kind::null;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return kind::boolean;
    case rapidjson::kNumberType: return kind::number;
    case rapidjson::kStringType: return kind::string;
    case rapidjson::kArrayType: return kind::array;
    case rapidjson::kObjectType: return kind::object;
  }
  return kind::null;
}

bool json_view::is_integer() const {
  return v_ && val(v_).IsInt64();
}
bool json_view::as_bool() const {
  return v_ && val(v_).IsBool() && val(v_).GetBool();
}
std::int64_t json_view::as_int() const {
  return is_integer() ? val(v_).GetInt64() : 0;
}
double json_view::as_double() const {
  return is_number() ? val(v_).GetDouble() : 0.0;
}

std::string_view json_view::as_string() const {
  if (!is_string()) return {};
  return {val(v_).GetString(), val(v_).GetStringLength()};
}

std::optional<json_view> json_view::get(std::string_view key) const {
  if (!is_object()) return std::nullopt;
  const auto& o = val(v_);
  for (auto it = o.MemberBegin(); it != o.MemberEnd(); ++it) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) {
      return json_view(&it->value);
    }
  }
  return std::nullopt;
}

std::size_t json_view::size() const {
  if (is_object()) return val(v_).MemberCount();
  if (is_array()) return val(v_).Size();
  return 0;
}

std::string_view json_view::key_at(std::size_t i) const {
  const auto& m = *(val(v_).MemberBegin() + static_cast<std::ptrdiff_t>(i));
  return {m.name.GetString(), m.name.GetStringLength()};
}

json_view json_view::value_at(std::size_t i) const {
  if (is_object()) {
    return json_view(&(val(v_).MemberBegin() + static_cast<std::ptrdiff_t>(i))->value);
  }
  return json_view(&val(v_)[static_cast<rapidjson::SizeType>(i)]);
}

std::string json_view::dump() const {
  std::string out;
  if (v_) {
    dump_value(val(v_), out);
  } else {
    out = "null";
  }
  return out;
}

bool json_view::equals(const json_view& other) const {
  if (!v_ || !other.v_) return v_ == other.v_;
  return values_equal(val(v_), val(other.v_));
}

// ---- json_document ----

struct json_document::impl {
  rapidjson::Document doc;
};

json_document::json_document() : impl_(std::make_unique<impl>()) {}
json_document::~json_document() = default;
json_document::json_document(json_document&&) noexcept = default;
json_document& json_document::operator=(json_document&&) noexcept = default;

json_view json_document::root() const {
  return json_view(&impl_->doc);
}

result<json_document> parse_json(std::string_view text, const json_limits& limits) {
  if (text.size() > limits.max_bytes) {
    return fail("the JSON text is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (auto r = prescan(text, limits); !r) return std::unexpected(r.error());
  json_document doc;
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag;
  // Text that is UTF-8 as a whole (nearly every body) is checked once here,
  // eight bytes at a time while they are ASCII, and not again string by
  // string. Otherwise the parser checks each string, so that the error says
  // where and why exactly as before ("offset 7: Invalid encoding in string.",
  // or a syntax error at a stray byte outside strings).
  if (!is_utf8(text)) {
    doc.impl_->doc.Parse<flags | rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  } else if (text.find('\0') != std::string_view::npos) {
    // A NUL would end the terminated copy below early.
    doc.impl_->doc.Parse<flags>(text.data(), text.size());
  } else {
    // RapidJSON's 16-byte string scan reads NUL-terminated text, with zeros
    // after it as far as the 16 bytes it may load at once.
    std::string terminated;
    terminated.reserve(text.size() + 16);
    terminated.append(text).append(16, '\0');
    doc.impl_->doc.Parse<flags>(terminated.c_str());
  }
  if (doc.impl_->doc.HasParseError()) {
    return fail("invalid JSON at offset " + std::to_string(doc.impl_->doc.GetErrorOffset()) + ": " +
                rapidjson::GetParseError_En(doc.impl_->doc.GetParseError()));
  }
  if (auto r = check_tree(doc.impl_->doc, limits); !r) return std::unexpected(r.error());
  return doc;
}

bool is_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    if (end - p >= 8 && (load8(reinterpret_cast<const char*>(p)) & k_highs) == 0) {
      p += 8;
      continue;
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // A lead byte, how many continuation bytes follow, and the range of the
    // first of them (narrower after E0, ED, F0 and F4: overlong forms,
    // surrogates and code points above U+10FFFF).
    std::size_t more = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= more) return false;
    if (p[1] < low || p[1] > high) return false;
    for (std::size_t i = 2; i <= more; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += more + 1;
  }
  return true;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  append_escaped(out, s);
  return out;
}

std::string canonical_json(const json_view& v, std::span<const std::string_view> skip) {
  std::string out;
  if (!v.v_) return "null";
  canonical_value(val(v.v_), out, skip);
  return out;
}

bool canonical_key_less(std::string_view a, std::string_view b) {
  return to_utf16(a) < to_utf16(b);
}

// ---- json_writer ----

struct json_writer::impl {
  std::string out;
  // One entry per open container: true once it holds an item.
  std::vector<bool> has_item;
  bool after_key = false;

  void prefix() {
    if (after_key) {
      after_key = false;
      return;
    }
    if (!has_item.empty()) {
      if (has_item.back()) out += ',';
      has_item.back() = true;
    }
  }
};

json_writer::json_writer() : impl_(std::make_unique<impl>()) {}
json_writer::~json_writer() = default;

json_writer& json_writer::begin_object() {
  impl_->prefix();
  impl_->out += '{';
  impl_->has_item.push_back(false);
  return *this;
}
json_writer& json_writer::end_object() {
  impl_->out += '}';
  impl_->has_item.pop_back();
  return *this;
}
json_writer& json_writer::begin_array() {
  impl_->prefix();
  impl_->out += '[';
  impl_->has_item.push_back(false);
  return *this;
}
json_writer& json_writer::end_array() {
  impl_->out += ']';
  impl_->has_item.pop_back();
  return *this;
}
json_writer& json_writer::key(std::string_view k) {
  impl_->prefix();
  impl_->out += '"';
  append_escaped(impl_->out, k);
  impl_->out += "\":";
  impl_->after_key = true;
  return *this;
}
json_writer& json_writer::string(std::string_view s) {
  impl_->prefix();
  impl_->out += '"';
  append_escaped(impl_->out, s);
  impl_->out += '"';
  return *this;
}
json_writer& json_writer::integer(std::int64_t i) {
  impl_->prefix();
  impl_->out += std::to_string(i);
  return *this;
}
json_writer& json_writer::number(double d) {
  impl_->prefix();
  impl_->out += es_number(d);
  return *this;
}
json_writer& json_writer::boolean(bool b) {
  impl_->prefix();
  impl_->out += b ? "true" : "false";
  return *this;
}
json_writer& json_writer::null() {
  impl_->prefix();
  impl_->out += "null";
  return *this;
}
json_writer& json_writer::raw(std::string_view json) {
  impl_->prefix();
  impl_->out += json;
  return *this;
}
const std::string& json_writer::str() const {
  return impl_->out;
}
std::string json_writer::take() {
  return std::move(impl_->out);
}
void json_writer::reserve(std::size_t n) {
  impl_->out.reserve(n);
}

}  // namespace cairn::formats
