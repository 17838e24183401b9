#include "server/api/query.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace cairn::server {

namespace {

constexpr std::size_t k_max_list_items = 1000;
constexpr std::size_t k_max_query_bytes = 64 * 1024;

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

result<std::vector<std::string>> parse_list(std::string_view name, std::string_view value) {
  auto items = split_commas(value);
  if (items.size() > k_max_list_items) {
    return fail(std::string(name) + ": more than " + std::to_string(k_max_list_items) + " values");
  }
  for (const auto& item : items) {
    if (item.empty()) {
      return fail(std::string(name) + ": empty value in the comma-separated list");
    }
  }
  std::vector<std::string> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return fail(std::string(name) + ": a value is repeated");
  }
  return items;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char k_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url(const unsigned char* p, std::size_t n) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k_b64url[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += k_b64url[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::vector<unsigned char>> unb64url(std::string_view s) {
  std::vector<unsigned char> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const char* pos = std::char_traits<char>::find(k_b64url, 64, c);
    if (!pos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(pos - k_b64url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

constexpr std::size_t k_mac_bytes = 16;

std::array<unsigned char, 32> mac(const std::string& key, micros position,
                                  std::string_view binding) {
  std::string msg;
  msg.reserve(binding.size() + 24);
  msg += std::to_string(position);
  msg += '\n';
  msg += binding;
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
  return out;
}

// The position in a token is hidden: XOR with a mask derived from the tag
// (a synthetic-IV construction), so a token reveals no date_added, not even
// that of a record the account may not see where a page stopped scanning.
std::array<unsigned char, 8> position_mask(const std::string& key, const unsigned char* tag) {
  std::string msg = "next-token-position\n";
  msg.append(reinterpret_cast<const char*>(tag), k_mac_bytes);
  std::array<unsigned char, 32> full{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), full.data(), &len);
  std::array<unsigned char, 8> out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

}  // namespace

std::string taxii_query::filter_binding() const {
  auto join = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    std::string s;
    for (const auto& x : v) {
      s += x;
      s += ',';
    }
    return s;
  };
  std::string b;
  b += "after=" + (added_after ? std::to_string(*added_after) : std::string("-"));
  b += "\nid=" + join(ids);
  b += "\ntype=" + join(types);
  b += "\nversion=";
  b += versions.all ? "A" : "";
  b += versions.first ? "F" : "";
  b += versions.last ? "L" : "";
  b += join(versions.time_keys);
  b += "\nspec=" + join(spec_versions);
  return b;
}

result<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        return fail("a '%' escape is cut short");
      }
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return fail("a '%' escape is not followed by two hex digits");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

result<std::vector<std::pair<std::string, std::string>>> parse_query_string(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  if (q.size() > k_max_query_bytes) return fail("the query string is too long");
  std::size_t start = 0;
  while (start <= q.size() && !q.empty()) {
    auto amp = q.find('&', start);
    auto part = q.substr(start, amp == std::string_view::npos ? q.npos : amp - start);
    if (!part.empty()) {
      auto eq = part.find('=');
      auto name = percent_decode(part.substr(0, eq));
      if (!name) return std::unexpected(name.error());
      auto value =
          percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
      if (!value) return std::unexpected(value.error());
      for (const auto& [n, v] : out) {
        if (n == *name) return fail("the parameter " + *name + " appears more than once");
      }
      out.emplace_back(std::move(*name), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

result<taxii_query> parse_taxii_query(std::string_view query_string, std::size_t page_size) {
  auto params = parse_query_string(query_string);
  if (!params) return std::unexpected(params.error());
  taxii_query q;
  q.limit = page_size;
  q.versions.last = true;
  for (const auto& [name, value] : *params) {
    if (name == "added_after") {
      auto t = formats::parse_rfc3339(value);
      if (!t) {
        return fail("added_after: '" + value + "' is not an RFC 3339 timestamp (" +
                    t.error().message + ")");
      }
      q.added_after = *t;
    } else if (name == "limit") {
      long long n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc::result_out_of_range && !value.empty() && value[0] != '-') {
        n = static_cast<long long>(page_size);
      } else if (ec != std::errc() || ptr != value.data() + value.size() || n <= 0) {
        return fail("limit: '" + value + "' is not a positive integer");
      }
      q.limit = std::min<std::size_t>(static_cast<std::size_t>(n), page_size);
    } else if (name == "next") {
      if (value.empty() || value.size() > 512) return fail("next: not a token from this server");
      q.next = value;
    } else if (name == "match[id]") {
      auto list = parse_list(name, value);
      if (!list) return std::unexpected(list.error());
      q.ids = std::move(*list);
    } else if (name == "match[type]") {
      auto list = parse_list(name, value);
      if (!list) return std::unexpected(list.error());
      q.types = std::move(*list);
    } else if (name == "match[version]") {
      auto list = parse_list(name, value);
      if (!list) return std::unexpected(list.error());
      q.versions = {};
      for (const auto& v : *list) {
        if (v == "all") {
          if (list->size() != 1) {
            return fail("match[version]: 'all' cannot be combined with other values");
          }
          q.versions.all = true;
        } else if (v == "first") {
          q.versions.first = true;
        } else if (v == "last") {
          q.versions.last = true;
        } else {
          auto key = formats::stix_time_key(v);
          if (!key) {
            return fail("match[version]: '" + v +
                        "' is neither first, last, all nor a STIX timestamp");
          }
          q.versions.time_keys.push_back(std::move(*key));
        }
      }
    } else if (name == "match[spec_version]") {
      auto list = parse_list(name, value);
      if (!list) return std::unexpected(list.error());
      for (const auto& v : *list) {
        const bool ok = v.size() >= 3 && std::all_of(v.begin(), v.end(), [](char c) {
                          return (c >= '0' && c <= '9') || c == '.';
                        });
        if (!ok) return fail("match[spec_version]: '" + v + "' is not a STIX version like 2.1");
      }
      q.spec_versions = std::move(*list);
    }
  }
  return q;
}

page_token_codec::page_token_codec(std::string key) : key_(std::move(key)) {}

std::string page_token_codec::encode(micros position, std::string_view binding) const {
  std::array<unsigned char, 8 + k_mac_bytes> raw{};
  auto pos = static_cast<std::uint64_t>(position);
  for (int i = 7; i >= 0; --i) {
    raw[static_cast<std::size_t>(i)] = static_cast<unsigned char>(pos & 0xff);
    pos >>= 8;
  }
  auto m = mac(key_, position, binding);
  std::copy_n(m.begin(), k_mac_bytes, raw.begin() + 8);
  const auto mask = position_mask(key_, raw.data() + 8);
  for (std::size_t i = 0; i < mask.size(); ++i) raw[i] ^= mask[i];
  return b64url(raw.data(), raw.size());
}

std::optional<micros> page_token_codec::decode(std::string_view token,
                                               std::string_view binding) const {
  auto raw = unb64url(token);
  if (!raw || raw->size() != 8 + k_mac_bytes) return std::nullopt;
  const auto mask = position_mask(key_, raw->data() + 8);
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < 8; ++i) pos = (pos << 8) | ((*raw)[i] ^ mask[i]);
  const auto position = static_cast<micros>(pos);
  auto m = mac(key_, position, binding);
  if (CRYPTO_memcmp(m.data(), raw->data() + 8, k_mac_bytes) != 0) return std::nullopt;
  if (token != encode(position, binding)) return std::nullopt;  // no alternative spellings
  return position;
}

}  // namespace cairn::server
