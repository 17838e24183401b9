#include "formats/observables.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>
#include <utility>

#include "formats/json.hpp"
#include "formats/stix_pattern.hpp"

namespace cairn::formats {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string shown(std::string_view v) {
  constexpr std::size_t max_shown = 80;
  std::string out = "'";
  for (std::size_t i = 0; i < v.size() && i < max_shown; ++i) {
    const auto b = static_cast<unsigned char>(v[i]);
    out.push_back(b >= 0x20 && b < 0x7F ? static_cast<char>(b) : '?');
  }
  if (v.size() > max_shown) out += "...";
  return out + "'";
}

// A decimal number of 1..max_digits digits, at most max_value.
std::optional<unsigned> decimal(std::string_view s, std::size_t max_digits, unsigned max_value) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  unsigned v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max_value) return std::nullopt;
  return v;
}

// Splits "address/prefix"; the prefix is nullopt without a '/', and an
// error value (max + 1) when malformed.
struct address_and_prefix {
  std::string_view address;
  std::optional<unsigned> prefix;
  bool bad_prefix = false;
};
address_and_prefix split_prefix(std::string_view v, unsigned max_prefix) {
  address_and_prefix out;
  const auto slash = v.find('/');
  out.address = v.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.prefix = decimal(v.substr(slash + 1), 3, max_prefix);
    out.bad_prefix = !out.prefix;
  }
  return out;
}

// Dotted decimal with four parts of 1-3 digits, each at most 255 (leading
// zeros read as decimal: the normal form drops them).
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return std::nullopt;
    const auto part = decimal(s.substr(0, dot), 3, 255);
    if (!part) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(*part);
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view s) {
  // inet_pton takes the RFC 4291 text forms (including a trailing dotted
  // quad) and nothing else: no zone index, no brackets.
  if (s.empty() || s.size() > 45) return std::nullopt;
  const std::string text(s);
  std::array<std::uint8_t, 16> out{};
  if (inet_pton(AF_INET6, text.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

template <std::size_t N>
void clear_host_bits(std::array<std::uint8_t, N>& a, unsigned prefix) {
  for (std::size_t i = 0; i < N; ++i) {
    const unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit >= prefix) {
      a[i] = 0;
    } else if (prefix - first_bit < 8) {
      a[i] &= static_cast<std::uint8_t>(0xFF00u >> (prefix - first_bit));
    }
  }
}

std::string ipv4_text(const std::array<std::uint8_t, 4>& a) {
  std::string out;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i > 0) out.push_back('.');
    out += std::to_string(a[i]);
  }
  return out;
}

// RFC 5952: lower-case hex without leading zeros, the longest run of two or
// more zero groups (the first of equal runs) as "::", and an IPv4-mapped
// address (::ffff:0:0/96) with its last 32 bits in dotted decimal (5952
// section 5).
std::string ipv6_text(const std::array<std::uint8_t, 16>& a) {
  std::array<unsigned, 8> g{};
  for (std::size_t i = 0; i < 8; ++i) g[i] = (unsigned{a[2 * i]} << 8) | a[2 * i + 1];
  const bool mapped =
      g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xFFFF;
  if (mapped) return "::ffff:" + ipv4_text({a[12], a[13], a[14], a[15]});
  std::size_t best = 8, best_len = 0;
  for (std::size_t i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = 8;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (g[i] >> shift) & 0xF;
      if (d != 0 || started || shift == 0) {
        out.push_back(digits[d]);
        started = true;
      }
    }
  }
  return out;
}

result<std::string> normal_ipv4(std::string_view v) {
  const auto parts = split_prefix(v, 32);
  auto address = parse_ipv4(parts.address);
  if (!address || parts.bad_prefix) return fail(shown(v) + " is not an IPv4 address or CIDR");
  const unsigned prefix = parts.prefix.value_or(32);
  clear_host_bits(*address, prefix);
  std::string out = ipv4_text(*address);
  if (prefix < 32) out += "/" + std::to_string(prefix);
  return out;
}

result<std::string> normal_ipv6(std::string_view v) {
  const auto parts = split_prefix(v, 128);
  auto address = parse_ipv6(parts.address);
  if (!address || parts.bad_prefix) return fail(shown(v) + " is not an IPv6 address or CIDR");
  const unsigned prefix = parts.prefix.value_or(128);
  clear_host_bits(*address, prefix);
  std::string out = ipv6_text(*address);
  if (prefix < 128) out += "/" + std::to_string(prefix);
  return out;
}

result<std::string> normal_hash(std::string_view v, std::size_t hex_digits, std::string_view name) {
  if (v.size() != hex_digits || !std::all_of(v.begin(), v.end(), is_hex_digit)) {
    return fail(shown(v) + " is not a " + std::string(name) + " hash (" +
                std::to_string(hex_digits) + " hex digits)");
  }
  std::string out(v);
  for (char& c : out) c = lower(c);
  return out;
}

bool has_control(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7F;
  });
}

// The kind a pattern's object path names, if it is one of the listed
// observables: <type>:value, or file:hashes.<name> with the STIX hash
// algorithm names (case-sensitive, STIX 2.1 hashing-algorithm-ov).
std::optional<observable_kind> kind_of_path(const pattern_comparison& c) {
  const auto& p = c.path;
  if (p.size() == 1 && !p[0].index && p[0].name == "value") {
    if (c.object_type == "ipv4-addr") return observable_kind::ipv4;
    if (c.object_type == "ipv6-addr") return observable_kind::ipv6;
    if (c.object_type == "domain-name") return observable_kind::domain;
    if (c.object_type == "url") return observable_kind::url;
    if (c.object_type == "email-addr") return observable_kind::email;
    return std::nullopt;
  }
  if (c.object_type == "file" && p.size() == 2 && !p[0].index && p[0].name == "hashes" &&
      !p[1].index) {
    if (p[1].name == "SHA-256") return observable_kind::sha256;
    if (p[1].name == "SHA-1") return observable_kind::sha1;
    if (p[1].name == "MD5") return observable_kind::md5;
  }
  return std::nullopt;
}

bool is_address_kind(observable_kind k) {
  return k == observable_kind::ipv4 || k == observable_kind::ipv6;
}

// A comparison of a listed path with `=` to a string: what exports draw on.
bool exportable_comparison(const pattern_comparison& c) {
  return c.op == pattern_operator::eq && !c.negated && c.constants.size() == 1 &&
         c.constants[0].kind == pattern_constant_kind::string && kind_of_path(c).has_value();
}

// One comparison, or comparisons joined by OR (nested ORs included).
bool exportable_comparisons(const pattern_node& n) {
  if (n.type == pattern_node::kind::comparison) return exportable_comparison(n.comparison);
  if (n.type != pattern_node::kind::comparison_or) return false;
  return std::all_of(n.children.begin(), n.children.end(), exportable_comparisons);
}

// Observation expressions without qualifiers, each of the shape above,
// joined by OR.
bool exportable_pattern(const pattern_node& n) {
  if (!n.qualifiers.empty()) return false;
  if (n.type == pattern_node::kind::observation) return exportable_comparisons(n.children[0]);
  if (n.type != pattern_node::kind::observation_or) return false;
  return std::all_of(n.children.begin(), n.children.end(), exportable_pattern);
}

void add(std::vector<observable>& out, observable_kind k, std::string_view raw, bool exportable) {
  auto normal = normalise_observable(k, raw);
  if (!normal) return;  // not a value of its kind: nothing a lookup could ask for
  observable o;
  o.kind = k;
  o.cidr = is_address_kind(k) && normal->find('/') != std::string::npos;
  o.value = std::move(*normal);
  o.exportable = exportable;
  out.push_back(std::move(o));
}

void collect(const pattern_node& n, bool exportable, std::vector<observable>& out) {
  if (n.type != pattern_node::kind::comparison) {
    for (const auto& child : n.children) collect(child, exportable, out);
    return;
  }
  const pattern_comparison& c = n.comparison;
  if (c.negated || c.constants.size() != 1 ||
      c.constants[0].kind != pattern_constant_kind::string) {
    return;
  }
  const auto k = kind_of_path(c);
  if (!k) return;
  const std::string& v = c.constants[0].text;
  if (c.op == pattern_operator::eq) {
    add(out, *k, v, exportable);
  } else if (c.op == pattern_operator::issubset && is_address_kind(*k)) {
    // ISSUBSET '10.0.0.0/8': the addresses of that network; indexed as the
    // network, never exported (the comparison is not `=`).
    add(out, *k, v, false);
  }
}

void dedupe(std::vector<observable>& out) {
  auto key = [](const observable& o) { return std::tie(o.kind, o.value, o.cidr); };
  std::sort(out.begin(), out.end(), [&](const observable& a, const observable& b) {
    if (key(a) != key(b)) return key(a) < key(b);
    return a.exportable > b.exportable;  // an exportable copy wins
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [&](const observable& a, const observable& b) { return key(a) == key(b); }),
            out.end());
}

}  // namespace

std::string_view observable_type_name(observable_kind k) {
  switch (k) {
    case observable_kind::ipv4: return "ipv4-addr";
    case observable_kind::ipv6: return "ipv6-addr";
    case observable_kind::domain: return "domain-name";
    case observable_kind::url: return "url";
    case observable_kind::email: return "email-addr";
    case observable_kind::sha256:
    case observable_kind::sha1:
    case observable_kind::md5: return "file";
  }
  return "file";
}

result<std::string> normalise_observable(observable_kind k, std::string_view value) {
  switch (k) {
    case observable_kind::ipv4: return normal_ipv4(value);
    case observable_kind::ipv6: return normal_ipv6(value);
    case observable_kind::sha256: return normal_hash(value, 64, "SHA-256");
    case observable_kind::sha1: return normal_hash(value, 40, "SHA-1");
    case observable_kind::md5: return normal_hash(value, 32, "MD5");
    case observable_kind::domain: {
      std::string_view v = value;
      if (!v.empty() && v.back() == '.') v.remove_suffix(1);
      if (v.empty() || has_control(v) || v.find_first_of(" /@") != std::string_view::npos) {
        return fail(shown(value) + " is not a domain name");
      }
      std::string out(v);
      for (char& c : out) c = lower(c);
      return out;
    }
    case observable_kind::url:
    case observable_kind::email:
      if (value.empty() || has_control(value)) {
        return fail(shown(value) + " is not " +
                    (k == observable_kind::url ? "a URL" : "an email address"));
      }
      if (k == observable_kind::email && value.find('@') == std::string_view::npos) {
        return fail(shown(value) + " is not an email address");
      }
      return std::string(value);
  }
  return fail("unknown observable kind");
}

std::vector<std::pair<observable_kind, std::string>> observable_candidates(std::string_view value) {
  std::vector<std::pair<observable_kind, std::string>> out;
  if (auto v4 = normal_ipv4(value)) {
    out.emplace_back(observable_kind::ipv4, std::move(*v4));
    return out;
  }
  if (auto v6 = normal_ipv6(value)) {
    out.emplace_back(observable_kind::ipv6, std::move(*v6));
    return out;
  }
  if (std::all_of(value.begin(), value.end(), is_hex_digit)) {
    const std::pair<std::size_t, observable_kind> hashes[] = {
        {64, observable_kind::sha256}, {40, observable_kind::sha1}, {32, observable_kind::md5}};
    for (const auto& [digits, kind] : hashes) {
      if (value.size() == digits) {
        out.emplace_back(kind, *normalise_observable(kind, value));
        return out;
      }
    }
  }
  if (value.find('@') != std::string_view::npos && value.find('/') == std::string_view::npos &&
      value.find(':') == std::string_view::npos) {
    if (auto e = normalise_observable(observable_kind::email, value)) {
      out.emplace_back(observable_kind::email, std::move(*e));
    }
    return out;
  }
  if (value.find(':') != std::string_view::npos || value.find('/') != std::string_view::npos) {
    if (auto u = normalise_observable(observable_kind::url, value)) {
      out.emplace_back(observable_kind::url, std::move(*u));
    }
    return out;
  }
  if (value.find('.') != std::string_view::npos) {
    if (auto d = normalise_observable(observable_kind::domain, value)) {
      out.emplace_back(observable_kind::domain, std::move(*d));
    }
  }
  return out;
}

std::vector<std::string> containing_networks(observable_kind k, std::string_view address) {
  std::vector<std::string> out;
  // A network given as such: the networks wider than it.
  unsigned below = k == observable_kind::ipv4 ? 32 : 128;
  if (const auto slash = address.find('/'); slash != std::string_view::npos) {
    const std::string_view bits = address.substr(slash + 1);
    unsigned prefix = 0;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc() || end != bits.data() + bits.size() || prefix > below) return out;
    below = prefix;
    address = address.substr(0, slash);
  }
  if (k == observable_kind::ipv4) {
    const auto a = parse_ipv4(address);
    if (!a) return out;
    for (unsigned prefix = 0; prefix < below; ++prefix) {
      auto net = *a;
      clear_host_bits(net, prefix);
      out.push_back(ipv4_text(net) + "/" + std::to_string(prefix));
    }
  } else if (k == observable_kind::ipv6) {
    const auto a = parse_ipv6(address);
    if (!a) return out;
    for (unsigned prefix = 0; prefix < below; ++prefix) {
      auto net = *a;
      clear_host_bits(net, prefix);
      out.push_back(ipv6_text(net) + "/" + std::to_string(prefix));
    }
  }
  return out;
}

std::optional<std::vector<observable_kind>> observable_kinds_of_type(std::string_view type) {
  if (type == "ipv4-addr") return std::vector{observable_kind::ipv4};
  if (type == "ipv6-addr") return std::vector{observable_kind::ipv6};
  if (type == "domain-name") return std::vector{observable_kind::domain};
  if (type == "url") return std::vector{observable_kind::url};
  if (type == "email-addr") return std::vector{observable_kind::email};
  if (type == "file") {
    return std::vector{observable_kind::sha256, observable_kind::sha1, observable_kind::md5};
  }
  return std::nullopt;
}

std::vector<observable> observables_of(std::string_view json) {
  auto doc = parse_json(json);
  if (!doc) return {};
  return observables_of(doc->root());
}

std::vector<observable> observables_of(const json_view& root, const pattern_node* pattern) {
  std::vector<observable> out;
  if (!root.is_object()) return out;
  const auto type = root.get("type");
  if (!type || !type->is_string()) return out;
  const std::string_view t = type->as_string();
  auto string_member = [&](std::string_view name) -> std::optional<std::string_view> {
    const auto m = root.get(name);
    if (!m || !m->is_string()) return std::nullopt;
    return m->as_string();
  };

  if (t == "indicator") {
    const auto pattern_type = string_member("pattern_type");
    const auto text = string_member("pattern");
    if (!pattern_type || *pattern_type != "stix" || !text) return out;
    if (pattern == nullptr) {
      auto tree = parse_stix_pattern(*text);
      if (!tree) return out;
      collect(*tree, exportable_pattern(*tree), out);
    } else {
      collect(*pattern, exportable_pattern(*pattern), out);
    }
  } else if (t == "file") {
    const auto hashes = root.get("hashes");
    if (hashes && hashes->is_object()) {
      for (std::size_t i = 0; i < hashes->size(); ++i) {
        const auto v = hashes->value_at(i);
        if (!v.is_string()) continue;
        const std::string_view name = hashes->key_at(i);
        if (name == "SHA-256") add(out, observable_kind::sha256, v.as_string(), false);
        if (name == "SHA-1") add(out, observable_kind::sha1, v.as_string(), false);
        if (name == "MD5") add(out, observable_kind::md5, v.as_string(), false);
      }
    }
  } else if (auto kinds = observable_kinds_of_type(t); kinds && kinds->size() == 1) {
    if (const auto v = string_member("value")) add(out, kinds->front(), *v, false);
  }
  dedupe(out);
  return out;
}

}  // namespace cairn::formats
