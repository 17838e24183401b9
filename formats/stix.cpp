#include "formats/stix.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>

#include "formats/ascii.hpp"
#include "formats/hex.hpp"
#include "formats/stix_pattern.hpp"
#include "formats/time.hpp"

namespace cairn::formats {

namespace {

// ---------------------------------------------------------------------------
// Character classes and small syntax checks. Hand-written: they run for every
// published object, and a std::regex per call would dominate the cost.

constexpr bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
constexpr bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_base64_char(char c) {
  return is_lower(c) || is_upper(c) || is_digit(c) || c == '+' || c == '/';
}

// STIX 2.1 section 3.1 and the type pattern of the JSON schemas: 3-250
// characters a-z, 0-9 and single hyphens, starting with a letter; it cannot
// end in a hyphen because "--" separates it from the UUID in an id.
bool is_type_name(std::string_view t) {
  if (t.size() < 3 || t.size() > 250 || !is_lower(t[0]) || t.back() == '-') return false;
  char prev = 0;
  for (char c : t) {
    if (c == '-') {
      if (prev == '-') return false;
    } else if (!is_lower(c) && !is_digit(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool has_uuid_shape(std::string_view u) {
  if (u.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (u[i] != '-') return false;
    } else if (!is_hex_digit(u[i])) {
      return false;
    }
  }
  return true;
}

bool is_rfc4122_variant(char c) {
  return c == '8' || c == '9' || c == 'a' || c == 'b' || c == 'A' || c == 'B';
}

bool is_hex_string(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0) return false;
  return std::all_of(s.begin(), s.end(), is_hex_digit);
}

bool is_hex_of_length(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), is_hex_digit);
}

// RFC 4648 section 4, padded, no white space.
bool is_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && !s.empty() && s[s.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i + pad < s.size(); ++i) {
    if (!is_base64_char(s[i])) return false;
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A property value quoted for a message: cut short, never inside a UTF-8
// sequence, so that the message stays valid UTF-8.
std::string quote(std::string_view s) {
  constexpr std::size_t k_max = 100;
  if (s.size() <= k_max) return "'" + std::string(s) + "'";
  std::size_t cut = k_max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(s.substr(0, cut)) + "...'";
}

// "an indicator", "a file": for messages that name the object's type.
std::string with_article(std::string_view type) {
  const bool vowel =
      !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(type);
}

const char* kind_name(const json_view& v) {
  switch (v.type()) {
    case json_view::kind::null: return "null";
    case json_view::kind::boolean: return "a boolean";
    case json_view::kind::number: return "a number";
    case json_view::kind::string: return "a string";
    case json_view::kind::array: return "a list";
    case json_view::kind::object: return "an object";
  }
  return "a value";
}

// Why an id is not a STIX identifier, for the message; empty if it is one.
std::string id_problem(std::string_view id) {
  const auto sep = id.find("--");
  if (sep == std::string_view::npos) {
    return "it needs '--' between the type and the UUID, as in 'indicator--<UUID>'";
  }
  const std::string_view type = id.substr(0, sep);
  const std::string_view uuid = id.substr(sep + 2);
  if (!is_type_name(type)) {
    return "the type part " + quote(type) +
           " is not a STIX type name (3-250 characters a-z, 0-9 and single hyphens, starting "
           "with a letter)";
  }
  if (!has_uuid_shape(uuid)) {
    return "the part after '--' is not a UUID (8-4-4-4-12 hexadecimal digits)";
  }
  if (uuid[14] < '1' || uuid[14] > '5') {
    return std::string("the UUID version digit (first of the third group) is '") + uuid[14] +
           "' but must be 1 to 5";
  }
  if (!is_rfc4122_variant(uuid[19])) {
    return std::string("the UUID variant digit (first of the fourth group) is '") + uuid[19] +
           "' but must be 8, 9, a or b";
  }
  return {};
}

// ---------------------------------------------------------------------------
// Vocabularies and tables.

template <std::size_t N>
bool one_of(std::string_view v, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

template <std::size_t N>
std::string list_text(const std::array<std::string_view, N>& list) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i) out += i + 1 == N ? " or " : ", ";
    out += "'";
    out += list[i];
    out += "'";
  }
  return out;
}

// STIX 2.1 section 10: the closed enumerations.
constexpr std::array<std::string_view, 5> k_extension_types{
    "new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"};
constexpr std::array<std::string_view, 5> k_opinions{"strongly-disagree", "disagree", "neutral",
                                                     "agree", "strongly-agree"};
constexpr std::array<std::string_view, 3> k_encryption_algorithms{
    "AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"};
constexpr std::array<std::string_view, 8> k_address_families{
    "AF_UNSPEC",  "AF_INET",  "AF_IPX",  "AF_APPLETALK",
    "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH"};
constexpr std::array<std::string_view, 5> k_socket_types{"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW",
                                                         "SOCK_RDM", "SOCK_SEQPACKET"};
constexpr std::array<std::string_view, 4> k_integrity_levels{"low", "medium", "high", "system"};
constexpr std::array<std::string_view, 14> k_registry_datatypes{"REG_NONE",
                                                                "REG_SZ",
                                                                "REG_EXPAND_SZ",
                                                                "REG_BINARY",
                                                                "REG_DWORD",
                                                                "REG_DWORD_BIG_ENDIAN",
                                                                "REG_DWORD_LITTLE_ENDIAN",
                                                                "REG_LINK",
                                                                "REG_MULTI_SZ",
                                                                "REG_RESOURCE_LIST",
                                                                "REG_FULL_RESOURCE_DESCRIPTION",
                                                                "REG_RESOURCE_REQUIREMENTS_LIST",
                                                                "REG_QWORD",
                                                                "REG_INVALID_TYPE"};
constexpr std::array<std::string_view, 5> k_service_start_types{
    "SERVICE_AUTO_START", "SERVICE_BOOT_START", "SERVICE_DEMAND_START", "SERVICE_DISABLED",
    "SERVICE_SYSTEM_ALERT"};
constexpr std::array<std::string_view, 4> k_service_types{
    "SERVICE_KERNEL_DRIVER", "SERVICE_FILE_SYSTEM_DRIVER", "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS"};
constexpr std::array<std::string_view, 7> k_service_statuses{
    "SERVICE_CONTINUE_PENDING", "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED", "SERVICE_RUNNING",
    "SERVICE_START_PENDING",    "SERVICE_STOP_PENDING",  "SERVICE_STOPPED"};
constexpr std::array<std::string_view, 4> k_tlp1_levels{"white", "green", "amber", "red"};
constexpr std::array<std::string_view, 5> k_tlp2_levels{"clear", "green", "amber", "amber+strict",
                                                        "red"};

constexpr std::string_view k_tlp2_extension =
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

// The four TLP 1.0 marking-definitions (STIX 2.1 section 7.2.1.4); tlp.hpp
// knows these and the TLP 2.0 ones, this tells the two generations apart.
constexpr std::array<std::string_view, 4> k_tlp1_ids{
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"};

// Hash algorithms whose values have a fixed shape (hash-algorithm-ov, plus
// the other names the STIX JSON schemas pin down).
enum class hash_shape : std::uint8_t { hex, ssdeep, tlsh };
struct hash_algorithm {
  std::string_view name;
  hash_shape shape;
  std::size_t hex_digits;
};
// The first eight are hash-algorithm-ov (S 10.7), in its order.
constexpr std::array<hash_algorithm, 14> k_hash_algorithms{{
    {"MD5", hash_shape::hex, 32},
    {"SHA-1", hash_shape::hex, 40},
    {"SHA-256", hash_shape::hex, 64},
    {"SHA-512", hash_shape::hex, 128},
    {"SHA3-256", hash_shape::hex, 64},
    {"SHA3-512", hash_shape::hex, 128},
    {"SSDEEP", hash_shape::ssdeep, 0},
    {"TLSH", hash_shape::tlsh, 0},
    {"SHA-224", hash_shape::hex, 56},
    {"SHA-384", hash_shape::hex, 96},
    {"SHA3-224", hash_shape::hex, 56},
    {"SHA3-384", hash_shape::hex, 96},
    {"RIPEMD-160", hash_shape::hex, 40},
    {"WHIRLPOOL", hash_shape::hex, 128},
}};

// "blocksize:hash:hash", the ssdeep piecewise hash.
bool is_ssdeep(std::string_view s) {
  const auto c1 = s.find(':');
  if (c1 == 0 || c1 == std::string_view::npos) return false;
  const auto c2 = s.find(':', c1 + 1);
  if (c2 == std::string_view::npos || s.size() > 256) return false;
  for (std::size_t i = 0; i < c1; ++i) {
    if (!is_digit(s[i])) return false;
  }
  for (std::size_t i = c1 + 1; i < s.size(); ++i) {
    if (i != c2 && !is_base64_char(s[i])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Value syntax of STIX 2.1 sections 2-7, hand-written like the checks above.

constexpr bool is_alpha(char c) {
  return is_lower(c) || is_upper(c);
}
constexpr bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

// A decimal number without leading zeros (RFC 3986 dec-octet style), at
// most max; "0" itself is fine.
bool is_decimal_up_to(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned n = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n <= max;
}

bool is_ipv4_address(std::string_view s) {
  for (int i = 0; i < 4; ++i) {
    const auto dot = s.find('.');
    const auto part = i < 3 ? s.substr(0, dot) : s;
    if ((i < 3 && dot == std::string_view::npos) || !is_decimal_up_to(part, 255)) return false;
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return true;
}

// RFC 4291 section 2.2 text forms: eight groups of 1-4 hex digits, "::" for
// one or more zero groups (once), an IPv4 address in place of the last two.
bool is_ipv6_address(std::string_view s) {
  const auto gap = s.find("::");
  if (gap != std::string_view::npos && s.find("::", gap + 1) != std::string_view::npos) {
    return false;
  }
  // Counts the groups of a run without "::"; the IPv4 form only at the end.
  auto groups = [](std::string_view run, bool may_end_in_ipv4, int& n) {
    if (run.empty()) return true;
    while (true) {
      const auto colon = run.find(':');
      const auto g = run.substr(0, colon);
      if (colon == std::string_view::npos && may_end_in_ipv4 && g.find('.') != g.npos) {
        if (!is_ipv4_address(g)) return false;
        n += 2;
        return true;
      }
      if (g.empty() || g.size() > 4 || !std::all_of(g.begin(), g.end(), is_hex_digit)) {
        return false;
      }
      ++n;
      if (colon == std::string_view::npos) return true;
      run.remove_prefix(colon + 1);
    }
  };
  int n = 0;
  if (gap == std::string_view::npos) return groups(s, true, n) && n == 8;
  return groups(s.substr(0, gap), false, n) && groups(s.substr(gap + 2), true, n) && n <= 7;
}

// An address, or an address and "/prefix" (S 6.8, 6.9: "a single address or
// CIDR block").
bool is_ip_or_cidr(std::string_view s, bool v6) {
  const auto slash = s.find('/');
  const auto addr = s.substr(0, slash);
  if (!(v6 ? is_ipv6_address(addr) : is_ipv4_address(addr))) return false;
  return slash == std::string_view::npos || is_decimal_up_to(s.substr(slash + 1), v6 ? 128 : 32);
}

constexpr bool is_unreserved(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
constexpr bool is_sub_delim(char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=';
}

// Characters of RFC 3986 outside the host, with valid %-escapes; `extra`
// are allowed besides unreserved, sub-delims and %.
bool is_uri_text(std::string_view s, std::string_view extra) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex_digit(s[i + 1]) || !is_hex_digit(s[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// RFC 3986 section 3: scheme ":" hier-part ["?" query] ["#" fragment]. An
// absolute URI: a URL names its scheme.
bool is_url(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == 0 || colon == std::string_view::npos || !is_alpha(s[0])) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.') return false;
  }
  std::string_view rest = s.substr(colon + 1);
  const auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    if (!is_uri_text(rest.substr(hash + 1), ":@/?")) return false;
    rest = rest.substr(0, hash);
  }
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    const auto end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      if (!is_uri_text(authority.substr(0, at), ":")) return false;
      authority.remove_prefix(at + 1);
    }
    std::string_view port;
    if (authority.starts_with('[')) {
      const auto close = authority.find(']');
      if (close == std::string_view::npos || !is_ipv6_address(authority.substr(1, close - 1))) {
        return false;
      }
      const auto after = authority.substr(close + 1);
      if (!after.empty() && after[0] != ':') return false;
      if (!after.empty()) port = after.substr(1);
    } else {
      const auto pc = authority.find(':');
      if (pc != std::string_view::npos) port = authority.substr(pc + 1);
      if (!is_uri_text(authority.substr(0, pc), "")) return false;
    }
    if (!std::all_of(port.begin(), port.end(), is_digit)) return false;
  }
  return is_uri_text(rest, ":@/?");
}

// RFC 5322 atext, and any UTF-8 byte (RFC 6531 addresses).
constexpr bool is_atext(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.' ? prev == '.' : !is_atext(c)) return false;
    prev = c;
  }
  return true;
}

// An RFC 5322 addr-spec ("local@domain") and nothing else: no display name,
// angle brackets or comments (S 6.5: the value MUST NOT include the display
// name).
bool is_addr_spec(std::string_view s) {
  const auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  const auto local = s.substr(0, at);
  const auto domain = s.substr(at + 1);
  bool local_ok = is_dot_atom(local);
  if (!local_ok && local.size() >= 2 && local.front() == '"' && local.back() == '"') {
    local_ok = true;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
      const auto c = static_cast<unsigned char>(local[i]);
      if (c == '\\') {
        ++i;
        if (i + 1 >= local.size()) local_ok = false;
      } else if (c == '"' || c < 0x20 || c == 0x7F) {
        local_ok = false;
      }
    }
  }
  if (!local_ok) return false;
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    return domain.find_first_of(" []\\", 1) == domain.size() - 1;
  }
  return is_dot_atom(domain);
}

// S 6.17: "the hive portion of the key MUST be fully expanded and not
// truncated" (HKEY_LOCAL_MACHINE, not HKLM); hive names are
// case-insensitive, as in Windows.
bool starts_with_full_hive(std::string_view key) {
  static constexpr std::array<std::string_view, 10> k_hives{
      "HKEY_CLASSES_ROOT",     "HKEY_CURRENT_CONFIG",
      "HKEY_CURRENT_USER",     "HKEY_CURRENT_USER_LOCAL_SETTINGS",
      "HKEY_DYN_DATA",         "HKEY_LOCAL_MACHINE",
      "HKEY_PERFORMANCE_DATA", "HKEY_PERFORMANCE_NLSTEXT",
      "HKEY_PERFORMANCE_TEXT", "HKEY_USERS"};
  const auto hive = key.substr(0, key.find('\\'));
  for (auto h : k_hives) {
    if (hive.size() == h.size() && std::equal(h.begin(), h.end(), hive.begin(), [](char a, char b) {
          return ascii_lower(a) == ascii_lower(b);
        })) {
      return true;
    }
  }
  return false;
}

// One attribute of a CPE 2.3 formatted string (NISTIR 7695 section 6.2): "*",
// "-", or characters a-z A-Z 0-9 - . _ and \-escaped punctuation (a needless
// escape of - . _ is tolerated), with an
// optional leading "*" or "?"s and an optional trailing "*" or "?"s.
bool is_cpe_attribute(std::string_view v) {
  if (v == "*" || v == "-") return true;
  std::size_t i = 0;
  if (i < v.size() && v[i] == '*') {
    ++i;
  } else {
    while (i < v.size() && v[i] == '?') ++i;
  }
  std::size_t body = 0;
  while (i < v.size()) {
    const char c = v[i];
    if (is_alnum(c) || c == '-' || c == '.' || c == '_') {
      ++i;
    } else if (c == '\\' && i + 1 < v.size() &&
               std::string_view("\\*?!\"#$%&'()+,-./:;<=>@[]^_`{|}~").find(v[i + 1]) !=
                   std::string_view::npos) {
      i += 2;
    } else {
      break;
    }
    ++body;
  }
  if (body == 0) return false;
  if (i < v.size() && v[i] == '*') {
    ++i;
  } else {
    while (i < v.size() && v[i] == '?') ++i;
  }
  return i == v.size();
}

// "cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:
// target_sw:target_hw:other" (S 6.14 requires a CPE v2.3 entry).
bool is_cpe23(std::string_view s) {
  std::array<std::string_view, 13> parts{};
  std::size_t n = 0, start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] == '\\') {
      ++i;
      continue;
    }
    if (i == s.size() || s[i] == ':') {
      if (n == parts.size()) return false;
      parts[n++] = s.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != parts.size() || parts[0] != "cpe" || parts[1] != "2.3") return false;
  if (parts[2].size() != 1 ||
      std::string_view("aoh*-").find(parts[2][0]) == std::string_view::npos) {
    return false;
  }
  return std::all_of(parts.begin() + 3, parts.end(), is_cpe_attribute);
}

// S 3.9.1: *_enc names the encoding with its name in the IANA Character
// Sets registry: every name and alias the registry lists (lower case;
// compared case-insensitively, as the registry says), sorted for the
// binary search.
bool is_charset_name(std::string_view s) {
  static constexpr std::array<std::string_view, 885> k_names{
      "437",
      "850",
      "851",
      "852",
      "855",
      "857",
      "860",
      "861",
      "862",
      "863",
      "865",
      "866",
      "869",
      "904",
      "adobe-standard-encoding",
      "adobe-symbol-encoding",
      "ami-1251",
      "ami1251",
      "amiga-1251",
      "amiga1251",
      "ansi_x3.110-1983",
      "ansi_x3.4-1968",
      "ansi_x3.4-1986",
      "arabic",
      "arabic7",
      "asmo-708",
      "asmo_449",
      "big5",
      "big5-hkscs",
      "bocu-1",
      "brf",
      "bs_4730",
      "bs_viewdata",
      "ca",
      "ccsid00858",
      "ccsid00924",
      "ccsid01140",
      "ccsid01141",
      "ccsid01142",
      "ccsid01143",
      "ccsid01144",
      "ccsid01145",
      "ccsid01146",
      "ccsid01147",
      "ccsid01148",
      "ccsid01149",
      "cesu-8",
      "chinese",
      "cn",
      "cp-ar",
      "cp-gr",
      "cp-is",
      "cp00858",
      "cp00924",
      "cp01140",
      "cp01141",
      "cp01142",
      "cp01143",
      "cp01144",
      "cp01145",
      "cp01146",
      "cp01147",
      "cp01148",
      "cp01149",
      "cp037",
      "cp038",
      "cp1026",
      "cp154",
      "cp273",
      "cp274",
      "cp275",
      "cp278",
      "cp280",
      "cp281",
      "cp284",
      "cp285",
      "cp290",
      "cp297",
      "cp367",
      "cp420",
      "cp423",
      "cp424",
      "cp437",
      "cp500",
      "cp50220",
      "cp51932",
      "cp775",
      "cp819",
      "cp850",
      "cp851",
      "cp852",
      "cp855",
      "cp857",
      "cp860",
      "cp861",
      "cp862",
      "cp863",
      "cp864",
      "cp865",
      "cp866",
      "cp868",
      "cp869",
      "cp870",
      "cp871",
      "cp880",
      "cp891",
      "cp903",
      "cp904",
      "cp905",
      "cp918",
      "cp936",
      "csa7-1",
      "csa7-2",
      "csa71",
      "csa72",
      "csa_t500-1983",
      "csa_z243.4-1985-1",
      "csa_z243.4-1985-2",
      "csa_z243.4-1985-gr",
      "csadobestandardencoding",
      "csamiga1251",
      "csascii",
      "csbig5",
      "csbig5hkscs",
      "csbocu-1",
      "csbocu1",
      "csbrf",
      "cscesu-8",
      "cscesu8",
      "cscp50220",
      "cscp51932",
      "csdecmcs",
      "csdkus",
      "csebcdicatdea",
      "csebcdiccafr",
      "csebcdicdkno",
      "csebcdicdknoa",
      "csebcdices",
      "csebcdicesa",
      "csebcdicess",
      "csebcdicfise",
      "csebcdicfisea",
      "csebcdicfr",
      "csebcdicit",
      "csebcdicpt",
      "csebcdicuk",
      "csebcdicus",
      "cseucfixwidjapanese",
      "cseuckr",
      "cseucpkdfmtjapanese",
      "csgb18030",
      "csgb2312",
      "csgbk",
      "cshalfwidthkatakana",
      "cshpdesktop",
      "cshplegal",
      "cshpmath8",
      "cshppifont",
      "cshppsmath",
      "cshproman8",
      "csibbm904",
      "csibm00858",
      "csibm00924",
      "csibm01140",
      "csibm01141",
      "csibm01142",
      "csibm01143",
      "csibm01144",
      "csibm01145",
      "csibm01146",
      "csibm01147",
      "csibm01148",
      "csibm01149",
      "csibm037",
      "csibm038",
      "csibm1026",
      "csibm1047",
      "csibm273",
      "csibm274",
      "csibm275",
      "csibm277",
      "csibm278",
      "csibm280",
      "csibm281",
      "csibm284",
      "csibm285",
      "csibm290",
      "csibm297",
      "csibm420",
      "csibm423",
      "csibm424",
      "csibm500",
      "csibm851",
      "csibm855",
      "csibm857",
      "csibm860",
      "csibm861",
      "csibm863",
      "csibm864",
      "csibm865",
      "csibm866",
      "csibm868",
      "csibm869",
      "csibm870",
      "csibm871",
      "csibm880",
      "csibm891",
      "csibm903",
      "csibm905",
      "csibm918",
      "csibmebcdicatde",
      "csibmsymbols",
      "csibmthai",
      "csinvariant",
      "csiso102t617bit",
      "csiso10367box",
      "csiso103t618bit",
      "csiso10646utf1",
      "csiso10swedish",
      "csiso111ecmacyrillic",
      "csiso115481",
      "csiso11swedishfornames",
      "csiso121canadian1",
      "csiso122canadian2",
      "csiso123csaz24341985gr",
      "csiso128t101g2",
      "csiso139csn369103",
      "csiso13jisc6220jp",
      "csiso141jusib1002",
      "csiso143iecp271",
      "csiso146serbian",
      "csiso147macedonian",
      "csiso14jisc6220ro",
      "csiso150",
      "csiso150greekccitt",
      "csiso151cuba",
      "csiso153gost1976874",
      "csiso158lap",
      "csiso159jisx02121990",
      "csiso15italian",
      "csiso16portuguese",
      "csiso17spanish",
      "csiso18greek7old",
      "csiso19latingreek",
      "csiso2022cn",
      "csiso2022cnext",
      "csiso2022jp",
      "csiso2022jp2",
      "csiso2022kr",
      "csiso2033",
      "csiso21german",
      "csiso25french",
      "csiso27latingreek1",
      "csiso2intlrefversion",
      "csiso42jisc62261978",
      "csiso47bsviewdata",
      "csiso49inis",
      "csiso4unitedkingdom",
      "csiso50inis8",
      "csiso51iniscyrillic",
      "csiso54271981",
      "csiso5427cyrillic",
      "csiso5428greek",
      "csiso57gb1988",
      "csiso58gb231280",
      "csiso60danishnorwegian",
      "csiso60norwegian1",
      "csiso61norwegian2",
      "csiso646basic1983",
      "csiso646danish",
      "csiso6937add",
      "csiso69french",
      "csiso70videotexsupp1",
      "csiso84portuguese2",
      "csiso85spanish2",
      "csiso86hungarian",
      "csiso87jisx0208",
      "csiso885913",
      "csiso885914",
      "csiso885915",
      "csiso885916",
      "csiso88596e",
      "csiso88596i",
      "csiso88598e",
      "csiso88598i",
      "csiso8859supp",
      "csiso88greek7",
      "csiso89asmo449",
      "csiso90",
      "csiso91jisc62291984a",
      "csiso92jisc62991984b",
      "csiso93jis62291984badd",
      "csiso94jis62291984hand",
      "csiso95jis62291984handadd",
      "csiso96jisc62291984kana",
      "csiso99naplps",
      "csisolatin1",
      "csisolatin2",
      "csisolatin3",
      "csisolatin4",
      "csisolatin5",
      "csisolatin6",
      "csisolatinarabic",
      "csisolatincyrillic",
      "csisolatingreek",
      "csisolatinhebrew",
      "csisotextcomm",
      "csjisencoding",
      "cskoi7switched",
      "cskoi8r",
      "cskoi8u",
      "csksc56011987",
      "csksc5636",
      "cskz1048",
      "csmacintosh",
      "csmicrosoftpublishing",
      "csmnem",
      "csmnemonic",
      "csn_369103",
      "csnatsdano",
      "csnatsdanoadd",
      "csnatssefi",
      "csnatssefiadd",
      "csosdebcdicdf03irv",
      "csosdebcdicdf041",
      "csosdebcdicdf0415",
      "cspc775baltic",
      "cspc850multilingual",
      "cspc862latinhebrew",
      "cspc8codepage437",
      "cspc8danishnorwegian",
      "cspc8turkish",
      "cspcp852",
      "csptcp154",
      "csscsu",
      "csshiftjis",
      "cstis620",
      "cstscii",
      "csucs4",
      "csunicode",
      "csunicode11",
      "csunicode11utf7",
      "csunicodeascii",
      "csunicodeibm1261",
      "csunicodeibm1264",
      "csunicodeibm1265",
      "csunicodeibm1268",
      "csunicodeibm1276",
      "csunicodejapanese",
      "csunicodelatin1",
      "csunknown8bit",
      "csusdk",
      "csutf16",
      "csutf16be",
      "csutf16le",
      "csutf32",
      "csutf32be",
      "csutf32le",
      "csutf7",
      "csutf8",
      "csventurainternational",
      "csventuramath",
      "csventuraus",
      "csviqr",
      "csviscii",
      "cswindows1250",
      "cswindows1251",
      "cswindows1252",
      "cswindows1253",
      "cswindows1254",
      "cswindows1255",
      "cswindows1256",
      "cswindows1257",
      "cswindows1258",
      "cswindows30latin1",
      "cswindows31j",
      "cswindows31latin1",
      "cswindows31latin2",
      "cswindows31latin5",
      "cswindows874",
      "cuba",
      "cyrillic",
      "cyrillic-asian",
      "de",
      "dec",
      "dec-mcs",
      "din_66003",
      "dk",
      "dk-us",
      "ds2089",
      "ds_2089",
      "e13b",
      "ebcdic-at-de",
      "ebcdic-at-de-a",
      "ebcdic-be",
      "ebcdic-br",
      "ebcdic-ca-fr",
      "ebcdic-cp-ar1",
      "ebcdic-cp-ar2",
      "ebcdic-cp-be",
      "ebcdic-cp-ca",
      "ebcdic-cp-ch",
      "ebcdic-cp-dk",
      "ebcdic-cp-es",
      "ebcdic-cp-fi",
      "ebcdic-cp-fr",
      "ebcdic-cp-gb",
      "ebcdic-cp-gr",
      "ebcdic-cp-he",
      "ebcdic-cp-is",
      "ebcdic-cp-it",
      "ebcdic-cp-nl",
      "ebcdic-cp-no",
      "ebcdic-cp-roece",
      "ebcdic-cp-se",
      "ebcdic-cp-tr",
      "ebcdic-cp-us",
      "ebcdic-cp-wt",
      "ebcdic-cp-yu",
      "ebcdic-cyrillic",
      "ebcdic-de-273+euro",
      "ebcdic-dk-277+euro",
      "ebcdic-dk-no",
      "ebcdic-dk-no-a",
      "ebcdic-es",
      "ebcdic-es-284+euro",
      "ebcdic-es-a",
      "ebcdic-es-s",
      "ebcdic-fi-278+euro",
      "ebcdic-fi-se",
      "ebcdic-fi-se-a",
      "ebcdic-fr",
      "ebcdic-fr-297+euro",
      "ebcdic-gb-285+euro",
      "ebcdic-int",
      "ebcdic-international-500+euro",
      "ebcdic-is-871+euro",
      "ebcdic-it",
      "ebcdic-it-280+euro",
      "ebcdic-jp-e",
      "ebcdic-jp-kana",
      "ebcdic-latin9--euro",
      "ebcdic-no-277+euro",
      "ebcdic-pt",
      "ebcdic-se-278+euro",
      "ebcdic-uk",
      "ebcdic-us",
      "ebcdic-us-37+euro",
      "ecma-114",
      "ecma-118",
      "ecma-cyrillic",
      "elot_928",
      "es",
      "es2",
      "euc-jp",
      "euc-kr",
      "extended_unix_code_fixed_width_for_japanese",
      "extended_unix_code_packed_format_for_japanese",
      "fi",
      "fr",
      "gb",
      "gb18030",
      "gb2312",
      "gb_1988-80",
      "gb_2312-80",
      "gbk",
      "gost_19768-74",
      "greek",
      "greek-ccitt",
      "greek7",
      "greek7-old",
      "greek8",
      "hebrew",
      "hp-desktop",
      "hp-legal",
      "hp-math8",
      "hp-pi-font",
      "hp-roman8",
      "hu",
      "hz-gb-2312",
      "ibm-1047",
      "ibm-symbols",
      "ibm-thai",
      "ibm00858",
      "ibm00924",
      "ibm01140",
      "ibm01141",
      "ibm01142",
      "ibm01143",
      "ibm01144",
      "ibm01145",
      "ibm01146",
      "ibm01147",
      "ibm01148",
      "ibm01149",
      "ibm037",
      "ibm038",
      "ibm1026",
      "ibm1047",
      "ibm273",
      "ibm274",
      "ibm275",
      "ibm277",
      "ibm278",
      "ibm280",
      "ibm281",
      "ibm284",
      "ibm285",
      "ibm290",
      "ibm297",
      "ibm367",
      "ibm420",
      "ibm423",
      "ibm424",
      "ibm437",
      "ibm500",
      "ibm775",
      "ibm819",
      "ibm850",
      "ibm851",
      "ibm852",
      "ibm855",
      "ibm857",
      "ibm860",
      "ibm861",
      "ibm862",
      "ibm863",
      "ibm864",
      "ibm865",
      "ibm866",
      "ibm868",
      "ibm869",
      "ibm870",
      "ibm871",
      "ibm880",
      "ibm891",
      "ibm903",
      "ibm904",
      "ibm905",
      "ibm918",
      "iec_p27-1",
      "inis",
      "inis-8",
      "inis-cyrillic",
      "invariant",
      "irv",
      "iso-10646",
      "iso-10646-j-1",
      "iso-10646-ucs-2",
      "iso-10646-ucs-4",
      "iso-10646-ucs-basic",
      "iso-10646-unicode-latin1",
      "iso-10646-utf-1",
      "iso-11548-1",
      "iso-2022-cn",
      "iso-2022-cn-ext",
      "iso-2022-jp",
      "iso-2022-jp-2",
      "iso-2022-kr",
      "iso-8859-1",
      "iso-8859-1-windows-3.0-latin-1",
      "iso-8859-1-windows-3.1-latin-1",
      "iso-8859-10",
      "iso-8859-11",
      "iso-8859-13",
      "iso-8859-14",
      "iso-8859-15",
      "iso-8859-16",
      "iso-8859-2",
      "iso-8859-2-windows-latin-2",
      "iso-8859-3",
      "iso-8859-4",
      "iso-8859-5",
      "iso-8859-6",
      "iso-8859-6-e",
      "iso-8859-6-i",
      "iso-8859-7",
      "iso-8859-8",
      "iso-8859-8-e",
      "iso-8859-8-i",
      "iso-8859-9",
      "iso-8859-9-windows-latin-5",
      "iso-celtic",
      "iso-ir-10",
      "iso-ir-100",
      "iso-ir-101",
      "iso-ir-102",
      "iso-ir-103",
      "iso-ir-109",
      "iso-ir-11",
      "iso-ir-110",
      "iso-ir-111",
      "iso-ir-121",
      "iso-ir-122",
      "iso-ir-123",
      "iso-ir-126",
      "iso-ir-127",
      "iso-ir-128",
      "iso-ir-13",
      "iso-ir-138",
      "iso-ir-139",
      "iso-ir-14",
      "iso-ir-141",
      "iso-ir-142",
      "iso-ir-143",
      "iso-ir-144",
      "iso-ir-146",
      "iso-ir-147",
      "iso-ir-148",
      "iso-ir-149",
      "iso-ir-15",
      "iso-ir-150",
      "iso-ir-151",
      "iso-ir-152",
      "iso-ir-153",
      "iso-ir-154",
      "iso-ir-155",
      "iso-ir-157",
      "iso-ir-158",
      "iso-ir-159",
      "iso-ir-16",
      "iso-ir-17",
      "iso-ir-18",
      "iso-ir-19",
      "iso-ir-199",
      "iso-ir-2",
      "iso-ir-21",
      "iso-ir-226",
      "iso-ir-25",
      "iso-ir-27",
      "iso-ir-37",
      "iso-ir-4",
      "iso-ir-42",
      "iso-ir-47",
      "iso-ir-49",
      "iso-ir-50",
      "iso-ir-51",
      "iso-ir-54",
      "iso-ir-55",
      "iso-ir-57",
      "iso-ir-58",
      "iso-ir-6",
      "iso-ir-60",
      "iso-ir-61",
      "iso-ir-69",
      "iso-ir-70",
      "iso-ir-8-1",
      "iso-ir-8-2",
      "iso-ir-84",
      "iso-ir-85",
      "iso-ir-86",
      "iso-ir-87",
      "iso-ir-88",
      "iso-ir-89",
      "iso-ir-9-1",
      "iso-ir-9-2",
      "iso-ir-90",
      "iso-ir-91",
      "iso-ir-92",
      "iso-ir-93",
      "iso-ir-94",
      "iso-ir-95",
      "iso-ir-96",
      "iso-ir-98",
      "iso-ir-99",
      "iso-unicode-ibm-1261",
      "iso-unicode-ibm-1264",
      "iso-unicode-ibm-1265",
      "iso-unicode-ibm-1268",
      "iso-unicode-ibm-1276",
      "iso5427cyrillic1981",
      "iso646-ca",
      "iso646-ca2",
      "iso646-cn",
      "iso646-cu",
      "iso646-de",
      "iso646-dk",
      "iso646-es",
      "iso646-es2",
      "iso646-fi",
      "iso646-fr",
      "iso646-fr1",
      "iso646-gb",
      "iso646-hu",
      "iso646-it",
      "iso646-jp",
      "iso646-jp-ocr-b",
      "iso646-kr",
      "iso646-no",
      "iso646-no2",
      "iso646-pt",
      "iso646-pt2",
      "iso646-se",
      "iso646-se2",
      "iso646-us",
      "iso646-yu",
      "iso_10367-box",
      "iso_11548-1",
      "iso_2033-1983",
      "iso_5427",
      "iso_5427:1981",
      "iso_5428:1980",
      "iso_646.basic:1983",
      "iso_646.irv:1983",
      "iso_646.irv:1991",
      "iso_6937-2-25",
      "iso_6937-2-add",
      "iso_8859-1",
      "iso_8859-10:1992",
      "iso_8859-14",
      "iso_8859-14:1998",
      "iso_8859-15",
      "iso_8859-16",
      "iso_8859-16:2001",
      "iso_8859-1:1987",
      "iso_8859-2",
      "iso_8859-2:1987",
      "iso_8859-3",
      "iso_8859-3:1988",
      "iso_8859-4",
      "iso_8859-4:1988",
      "iso_8859-5",
      "iso_8859-5:1988",
      "iso_8859-6",
      "iso_8859-6-e",
      "iso_8859-6-i",
      "iso_8859-6:1987",
      "iso_8859-7",
      "iso_8859-7:1987",
      "iso_8859-8",
      "iso_8859-8-e",
      "iso_8859-8-i",
      "iso_8859-8:1988",
      "iso_8859-9",
      "iso_8859-9:1989",
      "iso_8859-supp",
      "iso_9036",
      "iso_tr_11548-1",
      "it",
      "jis_c6220-1969",
      "jis_c6220-1969-jp",
      "jis_c6220-1969-ro",
      "jis_c6226-1978",
      "jis_c6226-1983",
      "jis_c6229-1984-a",
      "jis_c6229-1984-b",
      "jis_c6229-1984-b-add",
      "jis_c6229-1984-hand",
      "jis_c6229-1984-hand-add",
      "jis_c6229-1984-kana",
      "jis_encoding",
      "jis_x0201",
      "jis_x0208-1983",
      "jis_x0212-1990",
      "jp",
      "jp-ocr-a",
      "jp-ocr-b",
      "jp-ocr-b-add",
      "jp-ocr-hand",
      "jp-ocr-hand-add",
      "js",
      "jus_i.b1.002",
      "jus_i.b1.003-mac",
      "jus_i.b1.003-serb",
      "katakana",
      "koi7-switched",
      "koi8-e",
      "koi8-r",
      "koi8-u",
      "korean",
      "ks_c_5601-1987",
      "ks_c_5601-1989",
      "ksc5636",
      "ksc_5601",
      "kz-1048",
      "l1",
      "l10",
      "l2",
      "l3",
      "l4",
      "l5",
      "l6",
      "l8",
      "lap",
      "latin-9",
      "latin-greek",
      "latin-greek-1",
      "latin-lap",
      "latin1",
      "latin1-2-5",
      "latin10",
      "latin2",
      "latin3",
      "latin4",
      "latin5",
      "latin6",
      "latin8",
      "mac",
      "macedonian",
      "macintosh",
      "microsoft-publishing",
      "mnem",
      "mnemonic",
      "ms936",
      "ms_kanji",
      "msz_7795.3",
      "naplps",
      "nats-dano",
      "nats-dano-add",
      "nats-sefi",
      "nats-sefi-add",
      "nc_nc00-10:81",
      "nf_z_62-010",
      "nf_z_62-010_(1973)",
      "no",
      "no2",
      "ns_4551-1",
      "ns_4551-2",
      "osd_ebcdic_df03_irv",
      "osd_ebcdic_df04_1",
      "osd_ebcdic_df04_15",
      "pc-multilingual-850+euro",
      "pc8-danish-norwegian",
      "pc8-turkish",
      "pt",
      "pt154",
      "pt2",
      "ptcp154",
      "r8",
      "ref",
      "rk1048",
      "roman8",
      "scsu",
      "se",
      "se2",
      "sen_850200_b",
      "sen_850200_c",
      "serbian",
      "shift_jis",
      "st_sev_358-88",
      "strk1048-2002",
      "t.101-g2",
      "t.61",
      "t.61-7bit",
      "t.61-8bit",
      "tis-620",
      "tscii",
      "uk",
      "unicode-1-1",
      "unicode-1-1-utf-7",
      "unknown-8bit",
      "us",
      "us-ascii",
      "us-dk",
      "utf-16",
      "utf-16be",
      "utf-16le",
      "utf-32",
      "utf-32be",
      "utf-32le",
      "utf-7",
      "utf-8",
      "ventura-international",
      "ventura-math",
      "ventura-us",
      "videotex-suppl",
      "viqr",
      "viscii",
      "windows-1250",
      "windows-1251",
      "windows-1252",
      "windows-1253",
      "windows-1254",
      "windows-1255",
      "windows-1256",
      "windows-1257",
      "windows-1258",
      "windows-31j",
      "windows-874",
      "windows-936",
      "x0201",
      "x0201-7",
      "x0208",
      "x0212",
      "yu"};
  static_assert(std::is_sorted(k_names.begin(), k_names.end()));
  if (s.empty() || s.size() > 64) return false;
  std::array<char, 64> buf{};
  for (std::size_t i = 0; i < s.size(); ++i) buf[i] = ascii_lower(s[i]);
  const std::string_view lower(buf.data(), s.size());
  return std::binary_search(k_names.begin(), k_names.end(), lower);
}

// RFC 5646 section 2.1 (well-formed tags), case-insensitive:
//   langtag = language ["-" script] ["-" region] *("-" variant)
//             *("-" extension) ["-" privateuse]
// plus a private-use tag alone and the grandfathered tags of section 2.2.8.
// Primary language subtags of 4-8 letters are refused: 4 letters are
// reserved and the registry holds no 5-8 letter one.
bool is_language_tag(std::string_view tag) {
  static constexpr std::array<std::string_view, 26> k_grandfathered{
      "art-lojban", "cel-gaulish", "en-gb-oed", "i-ami",    "i-bnn",    "i-default",
      "i-enochian", "i-hak",       "i-klingon", "i-lux",    "i-mingo",  "i-navajo",
      "i-pwn",      "i-tao",       "i-tay",     "i-tsu",    "no-bok",   "no-nyn",
      "sgn-be-fr",  "sgn-be-nl",   "sgn-ch-de", "zh-guoyu", "zh-hakka", "zh-min",
      "zh-min-nan", "zh-xiang"};
  if (tag.empty() || tag.size() > 128) return false;
  std::array<char, 128> buf{};
  for (std::size_t i = 0; i < tag.size(); ++i) buf[i] = ascii_lower(tag[i]);
  const std::string_view t(buf.data(), tag.size());
  if (one_of(t, k_grandfathered)) return true;

  std::array<std::string_view, 64> sub{};
  std::size_t n = 0, start = 0;
  for (std::size_t i = 0; i <= t.size(); ++i) {
    if (i == t.size() || t[i] == '-') {
      if (n == sub.size() || i == start || i - start > 8) return false;
      sub[n++] = t.substr(start, i - start);
      start = i + 1;
    } else if (!is_alnum(t[i])) {
      return false;
    }
  }
  auto all_alpha = [](std::string_view s) { return std::all_of(s.begin(), s.end(), is_alpha); };
  auto all_digit = [](std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); };
  std::size_t i = 0;
  // privateuse = "x" 1*("-" 1*8alphanum)
  auto private_use = [&] {
    if (sub[i] != "x" || i + 1 >= n) return false;
    i = n;
    return true;
  };
  if (sub[0] == "x") return private_use();
  // language = 2*3ALPHA ["-" extlang]; extlang = 3ALPHA *2("-" 3ALPHA)
  if (sub[0].size() < 2 || sub[0].size() > 3 || !all_alpha(sub[0])) return false;
  i = 1;
  for (int e = 0; e < 3 && i < n && sub[i].size() == 3 && all_alpha(sub[i]); ++e) ++i;
  if (i < n && sub[i].size() == 4 && all_alpha(sub[i])) ++i;  // script
  if (i < n &&
      ((sub[i].size() == 2 && all_alpha(sub[i])) || (sub[i].size() == 3 && all_digit(sub[i])))) {
    ++i;  // region
  }
  // variant = 5*8alphanum / (DIGIT 3alphanum)
  while (i < n && (sub[i].size() >= 5 || (sub[i].size() == 4 && is_digit(sub[i][0])))) ++i;
  // extension = singleton 1*("-" (2*8alphanum))
  while (i < n && sub[i].size() == 1 && sub[i] != "x") {
    std::size_t j = i + 1;
    while (j < n && sub[j].size() >= 2) ++j;
    if (j == i + 1) return false;
    i = j;
  }
  if (i < n && sub[i] == "x") return private_use();
  return i == n;
}

// S 6.14: software languages are ISO 639-2 codes: the registry's codes
// (bibliographic and terminology forms; iso-codes' list of ISO 639-2) and
// the range qaa-qtz reserved for local use. Case-insensitive.
bool is_iso639_2(std::string_view s) {
  static constexpr std::array<std::string_view, 506> k_codes{
      "aar", "abk", "ace", "ach", "ada", "ady", "afa", "afh", "afr", "ain", "aka", "akk", "alb",
      "ale", "alg", "alt", "amh", "ang", "anp", "apa", "ara", "arc", "arg", "arm", "arn", "arp",
      "art", "arw", "asm", "ast", "ath", "aus", "ava", "ave", "awa", "aym", "aze", "bad", "bai",
      "bak", "bal", "bam", "ban", "baq", "bas", "bat", "bej", "bel", "bem", "ben", "ber", "bho",
      "bih", "bik", "bin", "bis", "bla", "bnt", "bod", "bos", "bra", "bre", "btk", "bua", "bug",
      "bul", "bur", "byn", "cad", "cai", "car", "cat", "cau", "ceb", "cel", "ces", "cha", "chb",
      "che", "chg", "chi", "chk", "chm", "chn", "cho", "chp", "chr", "chu", "chv", "chy", "cmc",
      "cnr", "cop", "cor", "cos", "cpe", "cpf", "cpp", "cre", "crh", "crp", "csb", "cus", "cym",
      "cze", "dak", "dan", "dar", "day", "del", "den", "deu", "dgr", "din", "div", "doi", "dra",
      "dsb", "dua", "dum", "dut", "dyu", "dzo", "efi", "egy", "eka", "ell", "elx", "eng", "enm",
      "epo", "est", "eus", "ewe", "ewo", "fan", "fao", "fas", "fat", "fij", "fil", "fin", "fiu",
      "fon", "fra", "fre", "frm", "fro", "frr", "frs", "fry", "ful", "fur", "gaa", "gay", "gba",
      "gem", "geo", "ger", "gez", "gil", "gla", "gle", "glg", "glv", "gmh", "goh", "gon", "gor",
      "got", "grb", "grc", "gre", "grn", "gsw", "guj", "gwi", "hai", "hat", "hau", "haw", "heb",
      "her", "hil", "him", "hin", "hit", "hmn", "hmo", "hrv", "hsb", "hun", "hup", "hye", "iba",
      "ibo", "ice", "ido", "iii", "ijo", "iku", "ile", "ilo", "ina", "inc", "ind", "ine", "inh",
      "ipk", "ira", "iro", "isl", "ita", "jav", "jbo", "jpn", "jpr", "jrb", "kaa", "kab", "kac",
      "kal", "kam", "kan", "kar", "kas", "kat", "kau", "kaw", "kaz", "kbd", "kha", "khi", "khm",
      "kho", "kik", "kin", "kir", "kmb", "kok", "kom", "kon", "kor", "kos", "kpe", "krc", "krl",
      "kro", "kru", "kua", "kum", "kur", "kut", "lad", "lah", "lam", "lao", "lat", "lav", "lez",
      "lim", "lin", "lit", "lol", "loz", "ltz", "lua", "lub", "lug", "lui", "lun", "luo", "lus",
      "mac", "mad", "mag", "mah", "mai", "mak", "mal", "man", "mao", "map", "mar", "mas", "may",
      "mdf", "mdr", "men", "mga", "mic", "min", "mis", "mkd", "mkh", "mlg", "mlt", "mnc", "mni",
      "mno", "moh", "mon", "mos", "mri", "msa", "mul", "mun", "mus", "mwl", "mwr", "mya", "myn",
      "myv", "nah", "nai", "nap", "nau", "nav", "nbl", "nde", "ndo", "nds", "nep", "new", "nia",
      "nic", "niu", "nld", "nno", "nob", "nog", "non", "nor", "nqo", "nso", "nub", "nwc", "nya",
      "nym", "nyn", "nyo", "nzi", "oci", "oji", "ori", "orm", "osa", "oss", "ota", "oto", "paa",
      "pag", "pal", "pam", "pan", "pap", "pau", "peo", "per", "phi", "phn", "pli", "pol", "pon",
      "por", "pra", "pro", "pus", "que", "raj", "rap", "rar", "roa", "roh", "rom", "ron", "rum",
      "run", "rup", "rus", "sad", "sag", "sah", "sai", "sal", "sam", "san", "sas", "sat", "scn",
      "sco", "sel", "sem", "sga", "sgn", "shn", "sid", "sin", "sio", "sit", "sla", "slk", "slo",
      "slv", "sma", "sme", "smi", "smj", "smn", "smo", "sms", "sna", "snd", "snk", "sog", "som",
      "son", "sot", "spa", "sqi", "srd", "srn", "srp", "srr", "ssa", "ssw", "suk", "sun", "sus",
      "sux", "swa", "swe", "syc", "syr", "tah", "tai", "tam", "tat", "tel", "tem", "ter", "tet",
      "tgk", "tgl", "tha", "tib", "tig", "tir", "tiv", "tkl", "tlh", "tli", "tmh", "tog", "ton",
      "tpi", "tsi", "tsn", "tso", "tuk", "tum", "tup", "tur", "tut", "tvl", "twi", "tyv", "udm",
      "uga", "uig", "ukr", "umb", "und", "urd", "uzb", "vai", "ven", "vie", "vol", "vot", "wak",
      "wal", "war", "was", "wel", "wen", "wln", "wol", "xal", "xho", "yao", "yap", "yid", "yor",
      "ypk", "zap", "zbl", "zen", "zgh", "zha", "zho", "znd", "zul", "zun", "zxx", "zza"};
  if (s.size() != 3 || !std::all_of(s.begin(), s.end(), is_alpha)) return false;
  const std::array<char, 3> c{ascii_lower(s[0]), ascii_lower(s[1]), ascii_lower(s[2])};
  const std::string_view code(c.data(), 3);
  if (code >= "qaa" && code <= "qtz") return true;
  return std::binary_search(k_codes.begin(), k_codes.end(), code);
}

// The JSON schema's forms for the two sources the STIX 2.1 examples name
// (S 2.5; common/external-reference.json): CVE-YYYY-NNNN (four or more
// digits, no leading zero beyond four) and CAPEC-N.
bool is_cve_id(std::string_view s) {
  if (!s.starts_with("CVE-") || s.size() < 13 || s[8] != '-') return false;
  const auto year = s.substr(4, 4);
  const auto num = s.substr(9);
  if (!std::all_of(year.begin(), year.end(), is_digit) ||
      !std::all_of(num.begin(), num.end(), is_digit)) {
    return false;
  }
  return num[0] == '0' ? num.size() == 4 : num.size() >= 4;
}

bool is_capec_id(std::string_view s) {
  return s.starts_with("CAPEC-") && s.size() > 6 && std::all_of(s.begin() + 6, s.end(), is_digit);
}

// S 3.1: property names are ASCII a-z, 0-9 and '_', 3 to 250 characters,
// starting with a letter.
bool is_property_name(std::string_view k) {
  if (k.size() < 3 || k.size() > 250 || !is_lower(k[0])) return false;
  return std::all_of(k.begin(), k.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_'; });
}

// S 3.8: reserved for future revisions; MUST NOT be present in any STIX
// content.
bool is_reserved_property(std::string_view k) {
  return k == "severity" || k == "username" || k == "phone_number" || k == "action";
}

// Dictionary properties: their keys are data (header names, hash names,
// language tags, local object keys), not property names, so the _ref/_hex/
// _bin suffix rules do not apply inside them.
bool is_dictionary_property(std::string_view k) {
  static constexpr std::array<std::string_view, 11> k_names{"request_header",
                                                            "additional_header_fields",
                                                            "environment_variables",
                                                            "options",
                                                            "ipfix",
                                                            "startup_info",
                                                            "contents",
                                                            "objects",
                                                            "document_info_dict",
                                                            "exif_tags",
                                                            "x509_v3_extensions_dict"};
  return one_of(k, k_names);
}

// S 7.2.3.1: a selector is a path of property names and "[N]" list indexes
// joined by '.', and it MUST refer to a property or list item present in the
// marked object.
bool selector_resolves(json_view at, std::string_view selector) {
  if (selector.empty()) return false;
  while (true) {
    const auto dot = selector.find('.');
    const auto seg = selector.substr(0, dot);
    if (seg.empty()) return false;
    if (seg.size() >= 3 && seg.front() == '[' && seg.back() == ']') {
      const auto digits = seg.substr(1, seg.size() - 2);
      if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), is_digit) ||
          !at.is_array()) {
        return false;
      }
      std::size_t index = 0;
      for (char c : digits) index = index * 10 + static_cast<std::size_t>(c - '0');
      if (index >= at.size()) return false;
      at = at.value_at(index);
    } else {
      if (!at.is_object()) return false;
      const auto next = at.get(seg);
      if (!next) return false;
      at = *next;
    }
    if (dot == std::string_view::npos) return true;
    selector.remove_prefix(dot + 1);
  }
}

enum class object_kind : std::uint8_t { sdo, sro, sco, meta };

class validator;
using check_fn = bool (validator::*)();

struct type_entry {
  std::string_view name;
  object_kind kind;
  check_fn check;
  // Timestamp properties of this type, besides created and modified.
  std::array<std::string_view, 5> timestamps;
};

// ---------------------------------------------------------------------------

class validator {
 public:
  explicit validator(const json_view& obj) : obj_(obj) {}
  // An SCO in observed-data's deprecated objects dictionary: messages carry
  // the parent's path, and its references name keys of `dict`.
  validator(const json_view& obj, const validator& parent, const json_view& dict)
      : path_(parent.path_),
        depth_(parent.depth_),
        base_depth_(parent.depth_),
        obj_(obj),
        dict_(&dict) {}

  result<stix_object_info> run();

  // Type-specific checks (one per STIX type; see k_types below).
  bool check_named();
  bool check_seen_named();
  bool check_indicator();
  bool check_grouping();
  bool check_location();
  bool check_malware();
  bool check_malware_analysis();
  bool check_note();
  bool check_observed_data();
  bool check_opinion();
  bool check_report();
  bool check_relationship();
  bool check_sighting();
  bool check_artifact();
  bool check_autonomous_system();
  bool check_directory();
  bool check_value();
  bool check_value_form(bool (*ok)(std::string_view), std::string_view not_what);
  bool check_ipv4_addr();
  bool check_ipv6_addr();
  bool check_url();
  bool check_email_addr();
  bool check_software();
  bool check_x509_certificate();
  bool check_mac_addr();
  bool check_email_message();
  bool check_file();
  bool check_name_only();
  bool check_network_traffic();
  bool check_any_property();
  bool check_windows_registry_key();
  bool check_marking_definition();
  bool check_language_content();
  bool check_extension_definition();

 private:
  // ---- where we are, for messages ----
  struct segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };
  static constexpr std::size_t k_max_path = 32;
  std::array<segment, k_max_path> path_{};
  std::size_t depth_ = 0;
  std::size_t base_depth_ = 0;  // depth of the object's own members, minus one

  void push(std::string_view key) {
    if (depth_ < k_max_path) path_[depth_] = {key, 0, false};
    ++depth_;
  }
  void push(std::size_t index) {
    if (depth_ < k_max_path) path_[depth_] = {{}, index, true};
    ++depth_;
  }
  void pop() { --depth_; }

  struct scope {
    validator& v;
    scope(validator& v, std::string_view key) : v(v) { v.push(key); }
    scope(validator& v, std::size_t index) : v(v) { v.push(index); }
    ~scope() { v.pop(); }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
  };

  // Records the failure at the current path; always returns false so that
  // checks can `return bad(...)`.
  bool bad(std::string problem);
  bool bad_at(std::string_view key, std::string problem) {
    scope s(*this, key);
    return bad(std::move(problem));
  }

  // ---- building blocks; each returns false after recording a failure ----
  bool need(const json_view& o, std::string_view key, std::string_view why, json_view& out);
  bool need_string(const json_view& o, std::string_view key, std::string_view why,
                   std::string_view* out = nullptr);
  bool opt_string(const json_view& o, std::string_view key, std::string_view* out = nullptr);
  bool opt_bool(const json_view& o, std::string_view key);
  bool opt_integer(const json_view& o, std::string_view key, std::int64_t lo, std::int64_t hi);
  bool opt_number(const json_view& o, std::string_view key, double lo, double hi,
                  std::string_view range);
  bool opt_string_list(const json_view& o, std::string_view key);
  bool opt_language_tag(const json_view& o, std::string_view key, std::string_view section);
  template <std::size_t N>
  bool opt_enum(const json_view& o, std::string_view key,
                const std::array<std::string_view, N>& values);
  bool opt_ref_types(const json_view& o, std::string_view key,
                     std::initializer_list<std::string_view> types);
  bool no_ref_types(const json_view& o, std::string_view key,
                    std::initializer_list<std::string_view> types, std::string_view why);
  bool check_timestamp(const json_view& o, std::string_view key, int min_digits,
                       std::string_view* out);
  bool order(std::string_view early_key, std::string_view early, std::string_view late_key,
             std::string_view late, bool strict);
  bool seen_order(const json_view& o, std::string_view first, std::string_view last, bool strict);

  // ---- common properties and generic rules ----
  bool check_type_and_id();
  bool check_spec_version();
  bool check_id(const json_view& id);
  bool check_property_names();
  bool check_common();
  bool check_external_references(const json_view& v);
  bool check_granular_markings(const json_view& v);
  bool check_kill_chain_phases(const json_view& v);
  bool check_extensions(const json_view& v);
  bool check_predefined_extension(std::string_view name, const json_view& ext);
  bool check_hashes(const json_view& v);
  bool check_extension_property_names(const json_view& ext);
  bool check_embedded_sco();
  bool check_embedded_ref(const json_view& ref, std::string_view key);
  std::string_view ref_type(std::string_view ref) const;
  bool check_x509_v3_extensions(const json_view& o);
  bool check_pebinary_timestamp(const json_view& ext);
  bool check_tlp_content();
  bool check_ref_targets();
  bool declares_new_sco() const;
  bool walk_members(const json_view& o, bool strict);
  bool walk_value(const json_view& v, std::string_view key, bool strict);
  bool walk_inner(const json_view& v, bool strict);

  const json_view& obj_;
  const json_view* dict_ = nullptr;    // set for an SCO inside observed-data objects
  const type_entry* entry_ = nullptr;  // nullptr: a custom type
  std::string_view type_;
  std::string_view id_;
  std::string_view created_;
  std::string_view modified_;
  std::optional<pattern_node> pattern_;  // an indicator's STIX pattern, once parsed
  error error_;
};

constexpr std::array<type_entry, 42> k_types{{
    {"artifact", object_kind::sco, &validator::check_artifact, {}},
    {"attack-pattern", object_kind::sdo, &validator::check_named, {}},
    {"autonomous-system", object_kind::sco, &validator::check_autonomous_system, {}},
    {"campaign", object_kind::sdo, &validator::check_seen_named, {"first_seen", "last_seen"}},
    {"course-of-action", object_kind::sdo, &validator::check_named, {}},
    {"directory", object_kind::sco, &validator::check_directory, {"ctime", "mtime", "atime"}},
    {"domain-name", object_kind::sco, &validator::check_value, {}},
    {"email-addr", object_kind::sco, &validator::check_email_addr, {}},
    {"email-message", object_kind::sco, &validator::check_email_message, {"date"}},
    {"extension-definition", object_kind::meta, &validator::check_extension_definition, {}},
    {"file", object_kind::sco, &validator::check_file, {"ctime", "mtime", "atime"}},
    {"grouping", object_kind::sdo, &validator::check_grouping, {}},
    {"identity", object_kind::sdo, &validator::check_named, {}},
    {"incident", object_kind::sdo, &validator::check_named, {}},
    {"indicator", object_kind::sdo, &validator::check_indicator, {"valid_from", "valid_until"}},
    {"infrastructure", object_kind::sdo, &validator::check_seen_named, {"first_seen", "last_seen"}},
    {"intrusion-set", object_kind::sdo, &validator::check_seen_named, {"first_seen", "last_seen"}},
    {"ipv4-addr", object_kind::sco, &validator::check_ipv4_addr, {}},
    {"ipv6-addr", object_kind::sco, &validator::check_ipv6_addr, {}},
    {"language-content",
     object_kind::meta,
     &validator::check_language_content,
     {"object_modified"}},
    {"location", object_kind::sdo, &validator::check_location, {}},
    {"mac-addr", object_kind::sco, &validator::check_mac_addr, {}},
    {"malware", object_kind::sdo, &validator::check_malware, {"first_seen", "last_seen"}},
    {"malware-analysis",
     object_kind::sdo,
     &validator::check_malware_analysis,
     {"submitted", "analysis_started", "analysis_ended"}},
    {"marking-definition", object_kind::meta, &validator::check_marking_definition, {}},
    {"mutex", object_kind::sco, &validator::check_name_only, {}},
    {"network-traffic", object_kind::sco, &validator::check_network_traffic, {"start", "end"}},
    {"note", object_kind::sdo, &validator::check_note, {}},
    {"observed-data",
     object_kind::sdo,
     &validator::check_observed_data,
     {"first_observed", "last_observed"}},
    {"opinion", object_kind::sdo, &validator::check_opinion, {}},
    {"process", object_kind::sco, &validator::check_any_property, {"created_time"}},
    {"relationship", object_kind::sro, &validator::check_relationship, {"start_time", "stop_time"}},
    {"report", object_kind::sdo, &validator::check_report, {"published"}},
    {"sighting", object_kind::sro, &validator::check_sighting, {"first_seen", "last_seen"}},
    {"software", object_kind::sco, &validator::check_software, {}},
    {"threat-actor", object_kind::sdo, &validator::check_seen_named, {"first_seen", "last_seen"}},
    {"tool", object_kind::sdo, &validator::check_named, {}},
    {"url", object_kind::sco, &validator::check_url, {}},
    {"user-account",
     object_kind::sco,
     &validator::check_any_property,
     {"account_created", "account_expires", "credential_last_changed", "account_first_login",
      "account_last_login"}},
    {"vulnerability", object_kind::sdo, &validator::check_named, {}},
    {"windows-registry-key",
     object_kind::sco,
     &validator::check_windows_registry_key,
     {"modified_time"}},
    {"x509-certificate",
     object_kind::sco,
     &validator::check_x509_certificate,
     {"validity_not_before", "validity_not_after"}},
}};

static_assert(std::is_sorted(k_types.begin(), k_types.end(),
                             [](const type_entry& a, const type_entry& b) {
                               return a.name < b.name;
                             }),
              "k_types must stay sorted for the binary search");

const type_entry* find_type(std::string_view type) {
  auto it = std::lower_bound(k_types.begin(), k_types.end(), type,
                             [](const type_entry& e, std::string_view t) { return e.name < t; });
  return it != k_types.end() && it->name == type ? &*it : nullptr;
}

std::optional<object_kind> kind_of_type(std::string_view type) {
  if (const auto* e = find_type(type)) return e->kind;
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Reporting

bool validator::bad(std::string problem) {
  std::string name;
  std::string pointer;
  const std::size_t n = depth_ < k_max_path ? depth_ : k_max_path;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = path_[i];
    pointer += '/';
    if (s.is_index) {
      name += '[' + std::to_string(s.index) + ']';
      pointer += std::to_string(s.index);
    } else {
      if (i) name += '.';
      name += s.key;
      for (char c : s.key) {
        if (c == '~') {
          pointer += "~0";
        } else if (c == '/') {
          pointer += "~1";
        } else {
          pointer += c;
        }
      }
    }
  }
  error_.message = name.empty() ? std::move(problem) : name + ": " + problem;
  error_.where = std::move(pointer);
  return false;
}

// ---------------------------------------------------------------------------
// Building blocks

bool validator::need(const json_view& o, std::string_view key, std::string_view why,
                     json_view& out) {
  auto v = o.get(key);
  if (!v) {
    return bad_at(
        key, "missing; " + (why.empty() ? with_article(type_) + " requires it" : std::string(why)));
  }
  out = *v;
  return true;
}

bool validator::need_string(const json_view& o, std::string_view key, std::string_view why,
                            std::string_view* out) {
  json_view v;
  if (!need(o, key, why, v)) return false;
  if (!v.is_string()) return bad_at(key, std::string("must be a string, not ") + kind_name(v));
  if (out) *out = v.as_string();
  return true;
}

bool validator::opt_string(const json_view& o, std::string_view key, std::string_view* out) {
  auto v = o.get(key);
  if (!v) return true;
  if (!v->is_string()) return bad_at(key, std::string("must be a string, not ") + kind_name(*v));
  if (out) *out = v->as_string();
  return true;
}

bool validator::opt_bool(const json_view& o, std::string_view key) {
  auto v = o.get(key);
  if (v && !v->is_bool()) {
    return bad_at(key, std::string("must be true or false, not ") + kind_name(*v));
  }
  return true;
}

bool validator::opt_integer(const json_view& o, std::string_view key, std::int64_t lo,
                            std::int64_t hi) {
  auto v = o.get(key);
  if (!v) return true;
  if (!v->is_integer()) {
    return bad_at(key, std::string("must be an integer, not ") +
                           (v->is_number() ? "a fraction or a huge number" : kind_name(*v)));
  }
  const auto i = v->as_int();
  if (i < lo || i > hi) {
    return bad_at(key, std::to_string(i) + " is out of range (" + std::to_string(lo) + " to " +
                           std::to_string(hi) + ")");
  }
  return true;
}

bool validator::opt_number(const json_view& o, std::string_view key, double lo, double hi,
                           std::string_view range) {
  auto v = o.get(key);
  if (!v) return true;
  if (!v->is_number()) return bad_at(key, std::string("must be a number, not ") + kind_name(*v));
  const double d = v->as_double();
  if (!(d >= lo && d <= hi)) {
    return bad_at(key, v->dump() + " is out of range (" + std::string(range) + ")");
  }
  return true;
}

// lang (S 3.2) and a granular marking's lang (S 7.2.3): an RFC 5646 code.
bool validator::opt_language_tag(const json_view& o, std::string_view key,
                                 std::string_view section) {
  std::string_view tag;
  if (!opt_string(o, key, &tag)) return false;
  if (o.get(key) && !is_language_tag(tag)) {
    return bad_at(key, quote(tag) + " is not an RFC 5646 language tag (STIX 2.1 section " +
                           std::string(section) + "), such as 'en' or 'de-DE'");
  }
  return true;
}

bool validator::opt_string_list(const json_view& o, std::string_view key) {
  auto v = o.get(key);
  if (!v) return true;
  scope s(*this, key);
  if (!v->is_array()) return bad(std::string("must be a list of strings, not ") + kind_name(*v));
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto item = v->value_at(i);
    if (!item.is_string()) {
      scope si(*this, i);
      return bad(std::string("must be a string, not ") + kind_name(item));
    }
  }
  return true;
}

template <std::size_t N>
bool validator::opt_enum(const json_view& o, std::string_view key,
                         const std::array<std::string_view, N>& values) {
  std::string_view v;
  if (!o.get(key)) return true;
  if (!opt_string(o, key, &v)) return false;
  if (!one_of(v, values)) {
    return bad_at(key, quote(v) + " is not one of " + list_text(values));
  }
  return true;
}

// Every value of a *_ref / *_refs property is already known to be a STIX id
// (walk_value); these check what the id points at.
bool validator::opt_ref_types(const json_view& o, std::string_view key,
                              std::initializer_list<std::string_view> types) {
  auto v = o.get(key);
  if (!v) return true;
  auto one = [&](const json_view& ref) {
    const auto t = ref_type(ref.as_string());
    if (std::find(types.begin(), types.end(), t) != types.end()) return true;
    std::string allowed;
    for (auto a : types) allowed += (allowed.empty() ? "" : " or ") + std::string(a);
    return bad(quote(ref.as_string()) + " must refer to " + allowed + ", not " + std::string(t));
  };
  scope s(*this, key);
  if (v->is_string()) return one(*v);
  for (std::size_t i = 0; i < v->size(); ++i) {
    scope si(*this, i);
    if (!one(v->value_at(i))) return false;
  }
  return true;
}

bool validator::no_ref_types(const json_view& o, std::string_view key,
                             std::initializer_list<std::string_view> types, std::string_view why) {
  auto v = o.get(key);
  if (!v || !v->is_string()) return true;
  const auto t = ref_type(v->as_string());
  if (std::find(types.begin(), types.end(), t) != types.end()) {
    return bad_at(
        key, quote(v->as_string()) + " points at a " + std::string(t) + "; " + std::string(why));
  }
  return true;
}

bool validator::check_timestamp(const json_view& o, std::string_view key, int min_digits,
                                std::string_view* out) {
  auto v = o.get(key);
  if (!v) return true;
  if (!v->is_string()) {
    return bad_at(key, std::string("must be a timestamp string, not ") + kind_name(*v));
  }
  const auto text = v->as_string();
  if (auto r = check_stix_timestamp(text, min_digits); !r) {
    return bad_at(key, quote(text) + " is not a valid STIX timestamp (" + r.error().message + ")");
  }
  if (out) *out = text;
  return true;
}

bool validator::order(std::string_view early_key, std::string_view early, std::string_view late_key,
                      std::string_view late, bool strict) {
  if (early.empty() || late.empty()) return true;
  const int c = compare_stix_timestamps(late, early);
  if (c > 0 || (c == 0 && !strict)) return true;
  return bad_at(late_key, quote(late) + " must be " +
                              (strict ? "later than" : "the same as or later than") + " " +
                              std::string(early_key) + " " + quote(early));
}

bool validator::seen_order(const json_view& o, std::string_view first, std::string_view last,
                           bool strict) {
  auto a = o.get(first);
  auto b = o.get(last);
  if (!a || !b) return true;
  return order(first, a->as_string(), last, b->as_string(), strict);
}

// ---------------------------------------------------------------------------
// Common properties

bool validator::check_type_and_id() {
  auto type = obj_.get("type");
  if (!type) return bad_at("type", "missing; every STIX object needs a type");
  if (!type->is_string()) {
    return bad_at("type", std::string("must be a string, not ") + kind_name(*type));
  }
  type_ = type->as_string();
  if (type_ == "bundle") {
    return bad_at("type", "'bundle' is a container, not a STIX object; send the objects it holds");
  }
  if (!is_type_name(type_)) {
    return bad_at("type", quote(type_) +
                              " is not a STIX type name (3-250 characters a-z, 0-9 and single "
                              "hyphens, starting with a letter)");
  }
  entry_ = find_type(type_);
  // Before the id: a STIX 2.0 object fails many 2.1 rules, and "only 2.1 is
  // accepted" is the message that helps.
  if (!check_spec_version()) return false;

  auto id = obj_.get("id");
  if (!id) return bad_at("id", "missing; every STIX object needs an id");
  if (!check_id(*id)) return false;
  return true;
}

bool validator::check_spec_version() {
  auto sv = obj_.get("spec_version");
  const bool required = entry_ ? entry_->kind != object_kind::sco
                               : (obj_.get("created").has_value() || obj_.get("modified"));
  if (!sv) {
    if (!required) return true;
    return bad_at("spec_version",
                  "missing; without it this is a STIX 2.0 object, and only STIX 2.1 is accepted "
                  "(add \"spec_version\": \"2.1\" if the object follows STIX 2.1)");
  }
  if (!sv->is_string()) {
    return bad_at("spec_version", std::string("must be the string \"2.1\", not ") + kind_name(*sv));
  }
  if (sv->as_string() != "2.1") {
    return bad_at("spec_version",
                  quote(sv->as_string()) + " is not supported; only STIX 2.1 is accepted");
  }
  return true;
}

constexpr std::string_view k_property_name_rule =
    "is not an allowed property name (3-250 characters a-z, 0-9 and '_', starting with a letter; "
    "STIX 2.1 section 3.1)";
constexpr std::string_view k_reserved_rule = "is a reserved property name (STIX 2.1 section 3.8)";

// STIX 2.1 section 3.1: property names are ASCII a-z, 0-9 and underscore,
// 3 to 250 characters, starting with a letter ("id" is the one shorter name
// the spec defines); section 3.8 reserves a few names.
bool validator::check_property_names() {
  for (std::size_t i = 0; i < obj_.size(); ++i) {
    const auto k = obj_.key_at(i);
    if (k == "id") continue;
    if (!is_property_name(k)) return bad_at(k, std::string(k_property_name_rule));
    if (is_reserved_property(k)) return bad_at(k, std::string(k_reserved_rule));
  }
  return true;
}

// The members of one extension are properties too (S 3.1, 3.8; S 7.3 for
// extension-definition extensions).
bool validator::check_extension_property_names(const json_view& ext) {
  for (std::size_t i = 0; i < ext.size(); ++i) {
    const auto k = ext.key_at(i);
    if (!is_property_name(k)) return bad_at(k, std::string(k_property_name_rule));
    if (is_reserved_property(k)) return bad_at(k, std::string(k_reserved_rule));
  }
  return true;
}

// S 11.2: a custom object carries the common properties of an SDO, created
// and modified among them; a new SCO type defined through an
// extension-definition (S 7.3, extension_type "new-sco") does not.
bool validator::declares_new_sco() const {
  auto ext = obj_.get("extensions");
  if (!ext || !ext->is_object()) return false;
  for (std::size_t i = 0; i < ext->size(); ++i) {
    const auto e = ext->value_at(i);
    if (!e.is_object()) continue;
    if (auto t = e.get("extension_type"); t && t->is_string() && t->as_string() == "new-sco") {
      return true;
    }
  }
  return false;
}

bool validator::check_common() {
  const bool versioned = !entry_ || entry_->kind == object_kind::sdo ||
                         entry_->kind == object_kind::sro || type_ == "language-content" ||
                         type_ == "extension-definition";
  const bool needs_created = versioned || type_ == "marking-definition";
  json_view v;
  if (entry_ && needs_created && !need(obj_, "created", {}, v)) return false;
  if (entry_ && versioned && !need(obj_, "modified", {}, v)) return false;
  if (!entry_ && !dict_ && !declares_new_sco()) {
    constexpr std::string_view why =
        "a custom object requires it (STIX 2.1 section 11.2; only a new SCO type declared with "
        "an extension of extension_type \"new-sco\" goes without)";
    if (!need(obj_, "created", why, v) || !need(obj_, "modified", why, v)) return false;
  }
  // Marking definitions are not versioned and their created needs no
  // millisecond precision (S 7.2.1; published examples rely on it).
  const int created_digits = type_ == "marking-definition" ? 0 : 3;
  if (!check_timestamp(obj_, "created", created_digits, &created_)) return false;
  if (!check_timestamp(obj_, "modified", 3, &modified_)) return false;
  if (!order("created", created_, "modified", modified_, false)) return false;

  if (!opt_ref_types(obj_, "created_by_ref", {"identity"})) return false;
  if (!opt_bool(obj_, "revoked")) return false;
  if (!opt_bool(obj_, "defanged")) return false;
  if (!opt_string_list(obj_, "labels")) return false;
  if (!opt_integer(obj_, "confidence", 0, 100)) return false;
  if (!opt_language_tag(obj_, "lang", "3.2")) return false;
  if (!opt_string(obj_, "name")) return false;
  if (!opt_string(obj_, "description")) return false;
  if (auto v = obj_.get("external_references"); v && !check_external_references(*v)) return false;
  if (!opt_ref_types(obj_, "object_marking_refs", {"marking-definition"})) return false;
  if (auto v = obj_.get("granular_markings"); v && !check_granular_markings(*v)) return false;
  if (auto v = obj_.get("kill_chain_phases"); v && !check_kill_chain_phases(*v)) return false;
  if (auto v = obj_.get("extensions"); v && !check_extensions(*v)) return false;
  if (entry_) {
    for (auto key : entry_->timestamps) {
      if (!key.empty() && !check_timestamp(obj_, key, 0, nullptr)) return false;
    }
  }
  return check_ref_targets();
}

// The reference properties whose targets STIX 2.1 fixes ("The object(s)
// referenced MUST be of type ..."), sections 4.11, 4.12 and 6. An empty
// extension means a property of the object itself.
bool validator::check_ref_targets() {
  struct rule {
    std::string_view type;
    std::string_view extension;
    std::string_view key;
    std::initializer_list<std::string_view> targets;
  };
  static const std::array<rule, 22> k_rules{{
      {"malware", {}, "operating_system_refs", {"software"}},
      {"malware", {}, "sample_refs", {"file", "artifact"}},
      {"malware-analysis", {}, "host_vm_ref", {"software"}},
      {"malware-analysis", {}, "operating_system_ref", {"software"}},
      {"malware-analysis", {}, "installed_software_refs", {"software"}},
      {"malware-analysis", {}, "sample_ref", {"file", "network-traffic", "artifact"}},
      {"domain-name", {}, "resolves_to_refs", {"ipv4-addr", "ipv6-addr", "domain-name"}},
      {"email-addr", {}, "belongs_to_ref", {"user-account"}},
      {"file", {}, "content_ref", {"artifact"}},
      {"ipv4-addr", {}, "resolves_to_refs", {"mac-addr"}},
      {"ipv4-addr", {}, "belongs_to_refs", {"autonomous-system"}},
      {"ipv6-addr", {}, "resolves_to_refs", {"mac-addr"}},
      {"ipv6-addr", {}, "belongs_to_refs", {"autonomous-system"}},
      {"network-traffic", {}, "src_payload_ref", {"artifact"}},
      {"network-traffic", {}, "dst_payload_ref", {"artifact"}},
      {"network-traffic", {}, "encapsulates_refs", {"network-traffic"}},
      {"network-traffic", {}, "encapsulated_by_ref", {"network-traffic"}},
      {"network-traffic", "http-request-ext", "message_body_data_ref", {"artifact"}},
      {"process", {}, "opened_connection_refs", {"network-traffic"}},
      {"process", {}, "creator_user_ref", {"user-account"}},
      {"process", {}, "image_ref", {"file"}},
      {"windows-registry-key", {}, "creator_user_ref", {"user-account"}},
  }};
  for (const auto& r : k_rules) {
    if (r.type != type_) continue;
    if (r.extension.empty()) {
      if (!opt_ref_types(obj_, r.key, r.targets)) return false;
      continue;
    }
    auto exts = obj_.get("extensions");
    if (!exts || !exts->is_object()) continue;
    if (auto ext = exts->get(r.extension); ext && ext->is_object()) {
      scope s1(*this, "extensions");
      scope s2(*this, r.extension);
      if (!opt_ref_types(*ext, r.key, r.targets)) return false;
    }
  }
  if (type_ == "process") {
    if (!opt_ref_types(obj_, "parent_ref", {"process"}) ||
        !opt_ref_types(obj_, "child_refs", {"process"})) {
      return false;
    }
    if (auto exts = obj_.get("extensions"); exts && exts->is_object()) {
      if (auto svc = exts->get("windows-service-ext"); svc && svc->is_object()) {
        scope s1(*this, "extensions");
        scope s2(*this, "windows-service-ext");
        if (!opt_ref_types(*svc, "service_dll_refs", {"file"})) return false;
      }
    }
  }
  if (type_ == "email-message") {
    // S 6.6.2: a MIME part's body_raw_ref is an artifact or a file.
    if (auto parts = obj_.get("body_multipart"); parts && parts->is_array()) {
      scope s(*this, "body_multipart");
      for (std::size_t i = 0; i < parts->size(); ++i) {
        scope si(*this, i);
        if (parts->value_at(i).is_object() &&
            !opt_ref_types(parts->value_at(i), "body_raw_ref", {"artifact", "file"})) {
          return false;
        }
      }
    }
  }
  return true;
}

bool validator::check_external_references(const json_view& v) {
  scope s(*this, "external_references");
  if (!v.is_array()) return bad(std::string("must be a list of objects, not ") + kind_name(v));
  for (std::size_t i = 0; i < v.size(); ++i) {
    scope si(*this, i);
    const auto r = v.value_at(i);
    if (!r.is_object()) return bad(std::string("must be an object, not ") + kind_name(r));
    if (!need_string(r, "source_name", "every external reference names its source")) return false;
    if (!opt_string(r, "description") || !opt_string(r, "url") || !opt_string(r, "external_id")) {
      return false;
    }
    if (!r.get("description") && !r.get("url") && !r.get("external_id")) {
      return bad("needs at least one of description, url or external_id besides source_name");
    }
    // The JSON schema of S 2.5 (common/external-reference.json) fixes the
    // source names "cve" and "capec" in lower case and the form of their ids.
    const auto source = r.get("source_name")->as_string();
    const auto id = r.get("external_id");
    for (std::string_view known : {"cve", "capec"}) {
      if (source != known && iequals(source, known)) {
        return bad_at("source_name", quote(source) + " must be written '" + std::string(known) +
                                         "' (lower case; STIX 2.1 section 2.5)");
      }
    }
    if (id && source == "cve" && !is_cve_id(id->as_string())) {
      return bad_at("external_id", quote(id->as_string()) +
                                       " is not a CVE id ('CVE-YYYY-NNNN'; STIX 2.1 section 2.5)");
    }
    // S 2.5.1: the keys of an external reference's hashes MUST come from
    // hash-algorithm-ov (the first eight of k_hash_algorithms).
    if (auto hashes = r.get("hashes"); hashes && hashes->is_object()) {
      for (std::size_t h = 0; h < hashes->size(); ++h) {
        const auto name = hashes->key_at(h);
        if (std::none_of(k_hash_algorithms.begin(), k_hash_algorithms.begin() + 8,
                         [&](const hash_algorithm& a) { return iequals(a.name, name); })) {
          scope sh(*this, "hashes");
          return bad_at(name, quote(name) +
                                  " is not a hash-algorithm-ov name (STIX 2.1 section 2.5.1): "
                                  "MD5, SHA-1, SHA-256, SHA-512, SHA3-256, SHA3-512, SSDEEP or "
                                  "TLSH");
        }
      }
    }
    if (id && source == "capec" && !is_capec_id(id->as_string())) {
      return bad_at("external_id", quote(id->as_string()) +
                                       " is not a CAPEC id ('CAPEC-N'; STIX 2.1 section 2.5)");
    }
  }
  return true;
}

bool validator::check_granular_markings(const json_view& v) {
  scope s(*this, "granular_markings");
  if (!v.is_array()) return bad(std::string("must be a list of objects, not ") + kind_name(v));
  for (std::size_t i = 0; i < v.size(); ++i) {
    scope si(*this, i);
    const auto m = v.value_at(i);
    if (!m.is_object()) return bad(std::string("must be an object, not ") + kind_name(m));
    json_view selectors;
    if (!need(m, "selectors", "a granular marking says which properties it marks", selectors)) {
      return false;
    }
    if (!opt_string_list(m, "selectors")) return false;
    const bool has_ref = m.get("marking_ref").has_value();
    const bool has_lang = m.get("lang").has_value();
    if (has_ref == has_lang) {
      return bad("needs exactly one of marking_ref or lang");
    }
    if (!opt_ref_types(m, "marking_ref", {"marking-definition"})) return false;
    if (!opt_language_tag(m, "lang", "7.2.3")) return false;
    if (selectors.is_array()) {
      scope ss(*this, "selectors");
      for (std::size_t j = 0; j < selectors.size(); ++j) {
        const auto sel = selectors.value_at(j).as_string();
        if (!selector_resolves(obj_, sel)) {
          scope sj(*this, j);
          return bad(quote(sel) +
                     " does not select a property or list item present in this object (STIX "
                     "2.1 section 7.2.3.1: property names and [N] list indexes joined by '.')");
        }
      }
    }
  }
  return true;
}

bool validator::check_kill_chain_phases(const json_view& v) {
  scope s(*this, "kill_chain_phases");
  if (!v.is_array()) return bad(std::string("must be a list of objects, not ") + kind_name(v));
  for (std::size_t i = 0; i < v.size(); ++i) {
    scope si(*this, i);
    const auto p = v.value_at(i);
    if (!p.is_object()) return bad(std::string("must be an object, not ") + kind_name(p));
    if (!need_string(p, "kill_chain_name", "a kill chain phase names its kill chain") ||
        !need_string(p, "phase_name", "a kill chain phase names its phase")) {
      return false;
    }
  }
  return true;
}

bool validator::check_extensions(const json_view& v) {
  scope s(*this, "extensions");
  if (!v.is_object()) return bad(std::string("must be an object, not ") + kind_name(v));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto name = v.key_at(i);
    const auto ext = v.value_at(i);
    scope se(*this, name);
    if (!ext.is_object()) return bad(std::string("must be an object, not ") + kind_name(ext));
    if (name.starts_with("extension-definition--")) {
      if (!is_stix_id(name)) {
        return bad("the key is not a valid extension-definition identifier: " + id_problem(name));
      }
      std::string_view et;
      if (!need_string(ext, "extension_type",
                       "an extension keyed by an extension-definition id states its type", &et)) {
        return false;
      }
      if (!one_of(et, k_extension_types)) {
        return bad_at("extension_type",
                      quote(et) + " is not one of " + list_text(k_extension_types));
      }
      if (name == k_tlp2_extension && !opt_enum(ext, "tlp_2_0", k_tlp2_levels)) return false;
    } else if (!check_predefined_extension(name, ext)) {
      return false;
    }
  }
  return true;
}

// STIX 2.1 sections 6.7.2-6.7.6, 6.12.2-6.12.5, 6.13.2-6.13.3, 6.16.2.
bool validator::check_predefined_extension(std::string_view name, const json_view& ext) {
  struct predefined {
    std::string_view name;
    std::string_view type;
  };
  static constexpr std::array<predefined, 12> k_predefined{{
      {"archive-ext", "file"},
      {"ntfs-ext", "file"},
      {"pdf-ext", "file"},
      {"raster-image-ext", "file"},
      {"windows-pebinary-ext", "file"},
      {"http-request-ext", "network-traffic"},
      {"icmp-ext", "network-traffic"},
      {"socket-ext", "network-traffic"},
      {"tcp-ext", "network-traffic"},
      {"windows-process-ext", "process"},
      {"windows-service-ext", "process"},
      {"unix-account-ext", "user-account"},
  }};
  const auto it = std::find_if(k_predefined.begin(), k_predefined.end(),
                               [&](const predefined& p) { return p.name == name; });
  // Any other name is a (deprecated, S 11.3) custom extension: any object.
  if (it == k_predefined.end()) return true;
  if (it->type != type_) {
    return bad("the predefined extension " + std::string(name) + " is for " +
               std::string(it->type) + " objects, not " + std::string(type_));
  }
  if (ext.size() == 0) return bad("must hold at least one property of the extension");
  // The path of the message names the extension.
  constexpr std::string_view why = "the extension requires it";
  if (name == "archive-ext") {
    // S 6.7.2: the archive contains files and directories.
    json_view refs;
    return need(ext, "contains_refs", why, refs) &&
           opt_ref_types(ext, "contains_refs", {"file", "directory"});
  }
  if (name == "windows-pebinary-ext") {
    return need_string(ext, "pe_type", why) && check_pebinary_timestamp(ext);
  }
  if (name == "http-request-ext") {
    if (auto headers = ext.get("request_header")) {
      scope sh(*this, "request_header");
      if (!headers->is_object()) {
        return bad(std::string("must be an object (header name to list of values), not ") +
                   kind_name(*headers));
      }
      for (std::size_t i = 0; i < headers->size(); ++i) {
        if (!opt_string_list(*headers, headers->key_at(i))) {
          // STIX 2.1 6.12.2: each value is a list, so repeated headers fit.
          error_.message += " (each header's value is a list of strings, e.g. [\"text/plain\"])";
          return false;
        }
      }
    }
    return need_string(ext, "request_method", why) && need_string(ext, "request_value", why) &&
           opt_string(ext, "request_version");
  }
  if (name == "icmp-ext") {
    return need_string(ext, "icmp_type_hex", why) && need_string(ext, "icmp_code_hex", why);
  }
  if (name == "tcp-ext") {
    if (!ext.get("src_flags_hex") && !ext.get("dst_flags_hex")) {
      return bad("needs src_flags_hex or dst_flags_hex");
    }
    return true;
  }
  if (name == "socket-ext") {
    return need_string(ext, "address_family", why) &&
           opt_enum(ext, "address_family", k_address_families) &&
           opt_enum(ext, "socket_type", k_socket_types) && opt_bool(ext, "is_blocking") &&
           opt_bool(ext, "is_listening");
  }
  if (name == "windows-process-ext") return opt_enum(ext, "integrity_level", k_integrity_levels);
  if (name == "windows-service-ext") {
    return opt_enum(ext, "start_type", k_service_start_types) &&
           opt_enum(ext, "service_type", k_service_types) &&
           opt_enum(ext, "service_status", k_service_statuses);
  }
  return true;
}

bool validator::check_hashes(const json_view& v) {
  if (!v.is_object()) {
    return bad(std::string("must be an object (algorithm name to hash value), not ") +
               kind_name(v));
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto name = v.key_at(i);
    const auto value = v.value_at(i);
    scope s(*this, name);
    if (!value.is_string()) return bad(std::string("must be a string, not ") + kind_name(value));
    const auto h = value.as_string();
    const auto alg = std::find_if(k_hash_algorithms.begin(), k_hash_algorithms.end(),
                                  [&](const hash_algorithm& a) { return iequals(a.name, name); });
    if (alg == k_hash_algorithms.end()) {
      bool ok = name.size() >= 3 && name.size() <= 250;
      for (char c : name)
        ok = ok && (is_lower(c) || is_upper(c) || is_digit(c) || c == '-' || c == '_');
      if (!ok) {
        return bad(
            "is not an allowed hash name (3-250 characters a-z, A-Z, 0-9, '-' and '_'; STIX 2.1 "
            "section 2.7)");
      }
      if (h.empty()) return bad("must not be empty");
      continue;
    }
    switch (alg->shape) {
      case hash_shape::hex:
        if (!is_hex_of_length(h, alg->hex_digits)) {
          return bad(quote(h) + " is not a valid " + std::string(alg->name) + " hash (" +
                     std::to_string(alg->hex_digits) + " hexadecimal digits)");
        }
        break;
      case hash_shape::ssdeep:
        if (!is_ssdeep(h)) {
          return bad(quote(h) + " is not a valid SSDEEP hash ('blocksize:hash:hash')");
        }
        break;
      case hash_shape::tlsh:
        if (!is_hex_of_length(h, 70) &&
            !(h.size() == 72 && h.starts_with("T1") && is_hex_of_length(h.substr(2), 70))) {
          return bad(quote(h) +
                     " is not a valid TLSH hash (70 hexadecimal digits, or 'T1' and 70)");
        }
        break;
    }
  }
  return true;
}

// The rules that hold at any depth: no empty lists (S 2.12), *_ref and *_refs
// hold STIX ids, *_hex is hex, *_bin is base64 (S 3.1), hashes dictionaries
// (S 2.7). Inside dictionaries only the first rule applies.
bool validator::walk_members(const json_view& o, bool strict) {
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (!walk_value(o.value_at(i), o.key_at(i), strict)) return false;
  }
  return true;
}

bool validator::walk_value(const json_view& v, std::string_view key, bool strict) {
  scope s(*this, key);
  if (strict && dict_ && (ends_with(key, "_ref") || ends_with(key, "_refs"))) {
    if (!v.is_array()) return check_embedded_ref(v, key);
    if (v.size() == 0) return bad("must not be an empty list (leave the property out instead)");
    for (std::size_t i = 0; i < v.size(); ++i) {
      scope si(*this, i);
      if (!check_embedded_ref(v.value_at(i), key)) return false;
    }
    return true;
  }
  if (strict) {
    if (ends_with(key, "_ref")) {
      if (!v.is_string()) {
        return bad(std::string("must be a STIX identifier string, not ") + kind_name(v));
      }
      if (!is_stix_id(v.as_string())) {
        return bad(quote(v.as_string()) +
                   " is not a valid STIX identifier: " + id_problem(v.as_string()));
      }
      return true;
    }
    if (ends_with(key, "_refs")) {
      if (!v.is_array()) {
        return bad(std::string("must be a list of STIX identifiers, not ") + kind_name(v));
      }
      if (v.size() == 0) return bad("must not be an empty list (leave the property out instead)");
      for (std::size_t i = 0; i < v.size(); ++i) {
        scope si(*this, i);
        const auto item = v.value_at(i);
        if (!item.is_string()) {
          return bad(std::string("must be a STIX identifier string, not ") + kind_name(item));
        }
        if (!is_stix_id(item.as_string())) {
          return bad(quote(item.as_string()) +
                     " is not a valid STIX identifier: " + id_problem(item.as_string()));
        }
      }
      return true;
    }
    if (ends_with(key, "_hex")) {
      if (!v.is_string() || !is_hex_string(v.as_string())) {
        return bad((v.is_string() ? quote(v.as_string()) : std::string(kind_name(v))) +
                   " is not hexadecimal (an even number of digits 0-9, a-f)");
      }
      return true;
    }
    if (ends_with(key, "_enc")) {
      if (!v.is_string() || !is_charset_name(v.as_string())) {
        return bad((v.is_string() ? quote(v.as_string()) : v.dump()) +
                   " is not an IANA character set name (STIX 2.1 section 3.9.1), such as "
                   "'UTF-8' or 'windows-1252'");
      }
      return true;
    }
    if (ends_with(key, "_bin")) {
      if (!v.is_string() || !is_base64(v.as_string())) {
        return bad((v.is_string() ? quote(v.as_string()) : std::string(kind_name(v))) +
                   " is not valid base64 (RFC 4648, padded with '=')");
      }
      return true;
    }
    if (key == "hashes" && !check_hashes(v)) return false;
    if (key == "extensions" && depth_ == base_depth_ + 1 && v.is_object()) {
      // check_extensions looks at the names; the contents follow the
      // property rules.
      for (std::size_t i = 0; i < v.size(); ++i) {
        scope se(*this, v.key_at(i));
        if (v.value_at(i).is_object() && !check_extension_property_names(v.value_at(i))) {
          return false;
        }
        if (!walk_members(v.value_at(i), true)) return false;
      }
      return true;
    }
  }
  return walk_inner(v, strict && key != "hashes" && !is_dictionary_property(key));
}

bool validator::walk_inner(const json_view& v, bool strict) {
  if (v.is_object()) return walk_members(v, strict);
  if (!v.is_array()) return true;
  if (v.size() == 0) return bad("must not be an empty list (leave the property out instead)");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto item = v.value_at(i);
    if (item.is_array() || item.is_object()) {
      scope si(*this, i);
      if (!walk_inner(item, strict)) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Type-specific checks

bool validator::check_named() {
  return need_string(obj_, "name", {});
}

bool validator::check_seen_named() {
  return check_named() && seen_order(obj_, "first_seen", "last_seen", false);
}

bool validator::check_indicator() {
  constexpr std::string_view why = "an indicator requires it";
  std::string_view pattern, pattern_type;
  json_view valid_from;
  if (!need_string(obj_, "pattern", why, &pattern) ||
      !need_string(obj_, "pattern_type",
                   "an indicator requires it (e.g. \"stix\", \"snort\", \"yara\")",
                   &pattern_type) ||
      !need(obj_, "valid_from", why, valid_from) || !opt_string(obj_, "pattern_version") ||
      !opt_string_list(obj_, "indicator_types")) {
    return false;
  }
  if (!seen_order(obj_, "valid_from", "valid_until", true)) return false;
  if (pattern_type == "stix") {
    auto tree = parse_stix_pattern(pattern, true);
    if (!tree) return bad_at("pattern", "not a valid STIX pattern: " + tree.error().message);
    pattern_ = std::move(*tree);
  }
  return true;
}

bool validator::check_grouping() {
  json_view refs;
  return need_string(obj_, "context", "a grouping requires it") &&
         need(obj_, "object_refs", "a grouping requires it", refs);
}

bool validator::check_location() {
  const auto lat = obj_.get("latitude");
  const auto lon = obj_.get("longitude");
  if (!opt_number(obj_, "latitude", -90, 90, "-90 to 90") ||
      !opt_number(obj_, "longitude", -180, 180, "-180 to 180") ||
      !opt_number(obj_, "precision", 0, 1e300, "0 or more metres") || !opt_string(obj_, "region") ||
      !opt_string(obj_, "country")) {
    return false;
  }
  if (lat.has_value() != lon.has_value()) {
    return bad_at(lat ? "longitude" : "latitude", "missing; latitude and longitude go together");
  }
  if (obj_.get("precision") && !lat) {
    return bad_at("precision", "only makes sense with latitude and longitude");
  }
  if (!lat && !obj_.get("region") && !obj_.get("country")) {
    return bad("a location needs at least one of region, country, or latitude and longitude");
  }
  return true;
}

bool validator::check_malware() {
  json_view is_family;
  if (!need(obj_, "is_family", "a malware says whether it is a family (true) or an instance",
            is_family)) {
    return false;
  }
  if (!is_family.is_bool()) {
    return bad_at("is_family", std::string("must be true or false, not ") + kind_name(is_family));
  }
  if (is_family.as_bool() && !need_string(obj_, "name", "a malware family requires a name")) {
    return false;
  }
  return seen_order(obj_, "first_seen", "last_seen", false);
}

bool validator::check_malware_analysis() {
  if (!need_string(obj_, "product", "a malware-analysis requires it")) return false;
  if (!obj_.get("result") && !obj_.get("analysis_sco_refs")) {
    return bad("a malware-analysis needs result or analysis_sco_refs");
  }
  return opt_string(obj_, "result");
}

bool validator::check_note() {
  json_view refs;
  return need_string(obj_, "content", "a note requires it") &&
         need(obj_, "object_refs", "a note requires it", refs);
}

bool validator::check_observed_data() {
  constexpr std::string_view why = "an observed-data requires it";
  json_view v;
  if (!need(obj_, "first_observed", why, v) || !need(obj_, "last_observed", why, v) ||
      !need(obj_, "number_observed", why, v) ||
      !opt_integer(obj_, "number_observed", 1, 999999999)) {
    return false;
  }
  const bool objects = obj_.get("objects").has_value();
  const bool refs = obj_.get("object_refs").has_value();
  if (objects == refs) {
    return bad(objects ? "objects (deprecated) and object_refs must not both be present"
                       : "an observed-data needs object_refs (or the deprecated objects)");
  }
  if (objects && !obj_.get("objects")->is_object()) {
    return bad_at("objects", "must be an object (a dictionary of observables)");
  }
  if (objects) {
    // The deprecated container holds SCOs, each checked as one (S 4.14).
    const auto dict = *obj_.get("objects");
    scope s(*this, "objects");
    if (dict.size() == 0) return bad("must hold at least one object (STIX 2.1 section 4.14)");
    // First every entry's type, which the references between them rely on.
    for (std::size_t i = 0; i < dict.size(); ++i) {
      const auto o = dict.value_at(i);
      scope si(*this, dict.key_at(i));
      if (!o.is_object()) {
        return bad(std::string("must be a cyber-observable object, not ") + kind_name(o));
      }
      // Each entry is an SCO: it names its type like any STIX object.
      const auto t = o.get("type");
      if (!t) return bad_at("type", "missing; every object in objects names its type");
      if (!t->is_string() || !is_type_name(t->as_string())) {
        return bad_at("type", (t->is_string() ? quote(t->as_string()) : t->dump()) +
                                  " is not a STIX type name (3-250 characters a-z, 0-9 and "
                                  "single hyphens, starting with a letter)");
      }
    }
    for (std::size_t i = 0; i < dict.size(); ++i) {
      const auto o = dict.value_at(i);
      scope si(*this, dict.key_at(i));
      validator inner(o, *this, dict);
      if (!inner.check_embedded_sco()) {
        error_ = std::move(inner.error_);
        return false;
      }
    }
  }
  if (refs) {
    // S 4.14: "A list of SCOs and SROs representing the observation. The
    // object_refs MUST contain at least one SCO reference if defined." A type
    // unknown here may be a custom SCO, so it counts as one.
    const auto list = *obj_.get("object_refs");
    scope s(*this, "object_refs");
    bool sco = false;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto ref = list.value_at(i).as_string();
      const auto t = stix_id_type(ref);
      const auto k = kind_of_type(t);
      if (!k && t != "bundle") {
        sco = true;
      } else if (k == object_kind::sco) {
        sco = true;
      } else if (k != object_kind::sro) {
        scope si(*this, i);
        return bad(quote(ref) + " must refer to SCOs or SROs, not " + std::string(t) +
                   " (STIX 2.1 section 4.14)");
      }
    }
    if (!sco) return bad("must contain at least one SCO reference (STIX 2.1 section 4.14)");
  }
  return seen_order(obj_, "first_observed", "last_observed", false);
}

bool validator::check_opinion() {
  json_view v;
  return need(obj_, "opinion", "an opinion requires it", v) &&
         opt_enum(obj_, "opinion", k_opinions) &&
         need(obj_, "object_refs", "an opinion requires it", v);
}

bool validator::check_report() {
  json_view v;
  return need_string(obj_, "name", "a report requires it") &&
         need(obj_, "published", "a report requires it", v) &&
         need(obj_, "object_refs", "a report requires it", v);
}

bool validator::check_relationship() {
  constexpr std::string_view why = "a relationship requires it";
  std::string_view rt;
  json_view v;
  if (!need_string(obj_, "relationship_type", why, &rt) || !need(obj_, "source_ref", why, v) ||
      !need(obj_, "target_ref", why, v)) {
    return false;
  }
  const bool ok = !rt.empty() && std::all_of(rt.begin(), rt.end(), [](char c) {
    return is_lower(c) || is_digit(c) || c == '-';
  });
  if (!ok) {
    return bad_at("relationship_type", quote(rt) + " may only use a-z, 0-9 and '-'");
  }
  const std::string_view endpoint = "a relationship connects SDOs and SCOs only";
  for (auto key : {"source_ref", "target_ref"}) {
    if (!no_ref_types(obj_, key,
                      {"relationship", "sighting", "marking-definition", "language-content",
                       "extension-definition", "bundle"},
                      endpoint)) {
      return false;
    }
  }
  return seen_order(obj_, "start_time", "stop_time", true);
}

bool validator::check_sighting() {
  json_view v;
  if (!need(obj_, "sighting_of_ref", "a sighting requires it", v)) return false;
  const auto t = stix_id_type(v.as_string());
  const auto k = kind_of_type(t);
  if ((k && *k != object_kind::sdo) || t == "bundle") {
    return bad_at("sighting_of_ref", quote(v.as_string()) +
                                         " must refer to an SDO (such as an indicator or "
                                         "malware), not a " +
                                         std::string(t));
  }
  return opt_integer(obj_, "count", 0, 999999999) && opt_bool(obj_, "summary") &&
         opt_ref_types(obj_, "observed_data_refs", {"observed-data"}) &&
         opt_ref_types(obj_, "where_sighted_refs", {"identity", "location"}) &&
         seen_order(obj_, "first_seen", "last_seen", false);
}

bool validator::check_artifact() {
  const bool bin = obj_.get("payload_bin").has_value();
  const bool url = obj_.get("url").has_value();
  if (bin && url) return bad_at("url", "must not be present together with payload_bin");
  if (!bin && !url) return bad("an artifact needs payload_bin or url (STIX 2.1 section 6.1)");
  if (url && !obj_.get("hashes")) {
    return bad_at("hashes", "missing; an artifact given by url requires hashes of its content");
  }
  if (!opt_string(obj_, "url") || !opt_string(obj_, "mime_type") ||
      !opt_enum(obj_, "encryption_algorithm", k_encryption_algorithms) ||
      !opt_string(obj_, "decryption_key")) {
    return false;
  }
  // S 6.1: "The value of this property MUST be a valid URL".
  if (auto u = obj_.get("url"); u && !is_url(u->as_string())) {
    return bad_at("url", quote(u->as_string()) +
                             " is not a URL (RFC 3986; STIX 2.1 section 6.1), such as "
                             "'https://example.com/sample.bin'");
  }
  if (obj_.get("decryption_key") && !obj_.get("encryption_algorithm")) {
    return bad_at("decryption_key", "must not be present without encryption_algorithm");
  }
  return true;
}

bool validator::check_autonomous_system() {
  json_view v;
  return need(obj_, "number", "an autonomous-system requires it", v) &&
         opt_integer(obj_, "number", 0, 4294967295LL);
}

bool validator::check_directory() {
  // S 6.4: contains_refs MUST refer to file or directory objects.
  return need_string(obj_, "path", "a directory requires it") &&
         opt_ref_types(obj_, "contains_refs", {"file", "directory"});
}

bool validator::check_value() {
  return need_string(obj_, "value", {});
}

// An SCO whose value must have one form (ok), with the reason given when not.
bool validator::check_value_form(bool (*ok)(std::string_view), std::string_view not_what) {
  std::string_view v;
  if (!need_string(obj_, "value", {}, &v)) return false;
  if (!ok(v)) return bad_at("value", quote(v) + " is not " + std::string(not_what));
  return true;
}

bool validator::check_ipv4_addr() {
  return check_value_form([](std::string_view v) { return is_ip_or_cidr(v, false); },
                          "an IPv4 address or CIDR block (STIX 2.1 section 6.8), such as "
                          "'198.51.100.3' or '10.2.4.0/24'");
}

bool validator::check_ipv6_addr() {
  return check_value_form([](std::string_view v) { return is_ip_or_cidr(v, true); },
                          "an IPv6 address or CIDR block (STIX 2.1 section 6.9), such as "
                          "'2001:db8::1' or '2001:db8::/96'");
}

bool validator::check_url() {
  return check_value_form(is_url,
                          "a URL (RFC 3986; STIX 2.1 section 6.15), such as "
                          "'https://example.com/path?q=1'");
}

bool validator::check_email_addr() {
  return check_value_form(is_addr_spec,
                          "an email address without a display name (STIX 2.1 section 6.5), such "
                          "as 'jdoe@example.com'; a display name goes in display_name");
}

bool validator::check_software() {
  std::string_view cpe;
  if (!need_string(obj_, "name", {}) || !opt_string(obj_, "cpe", &cpe)) return false;
  if (auto langs = obj_.get("languages"); langs && langs->is_array()) {
    scope s(*this, "languages");
    for (std::size_t i = 0; i < langs->size(); ++i) {
      const auto l = langs->value_at(i);
      if (!l.is_string() || !is_iso639_2(l.as_string())) {
        scope si(*this, i);
        return bad((l.is_string() ? quote(l.as_string()) : l.dump()) +
                   " is not an ISO 639-2 language code (STIX 2.1 section 6.14), such as 'eng' or "
                   "'fre'");
      }
    }
  }
  if (obj_.get("cpe") && !is_cpe23(cpe)) {
    return bad_at("cpe", quote(cpe) +
                             " is not a CPE 2.3 formatted string (STIX 2.1 section 6.14), such as "
                             "'cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*'");
  }
  return true;
}

bool validator::check_x509_certificate() {
  return check_any_property() && check_x509_v3_extensions(obj_);
}

// S 6.18.2: the two private key usage periods are timestamps.
bool validator::check_x509_v3_extensions(const json_view& o) {
  auto ext = o.get("x509_v3_extensions");
  if (!ext || !ext->is_object()) return true;
  scope s(*this, "x509_v3_extensions");
  return check_timestamp(*ext, "private_key_usage_period_not_before", 0, nullptr) &&
         check_timestamp(*ext, "private_key_usage_period_not_after", 0, nullptr);
}

// S 6.7.5: time_date_stamp of the PE header is a timestamp.
bool validator::check_pebinary_timestamp(const json_view& ext) {
  return check_timestamp(ext, "time_date_stamp", 0, nullptr);
}

// The object's id: a STIX identifier of the object's own type (S 2.9).
bool validator::check_id(const json_view& id) {
  if (!id.is_string()) return bad_at("id", std::string("must be a string, not ") + kind_name(id));
  id_ = id.as_string();
  if (!is_stix_id(id_)) {
    return bad_at("id", quote(id_) + " is not a valid STIX identifier: " + id_problem(id_));
  }
  if (stix_id_type(id_) != type_) {
    return bad_at(
        "id", quote(id_) + " must start with the object's type, '" + std::string(type_) + "--'");
  }
  return true;
}

// An SCO inside observed-data's deprecated objects (S 4.14) follows the
// rules of its type like any SCO, except that it needs no id or
// spec_version and that its references name keys of the dictionary.
bool validator::check_embedded_sco() {
  type_ = obj_.get("type")->as_string();
  entry_ = find_type(type_);
  if (entry_ && entry_->kind != object_kind::sco) {
    return bad_at("type", with_article(type_) +
                              " is not a cyber-observable object; objects holds SCOs only (STIX "
                              "2.1 section 4.14)");
  }
  if (auto id = obj_.get("id"); id && !check_id(*id)) return false;
  if (obj_.get("spec_version") && !check_spec_version()) return false;
  return check_property_names() && walk_members(obj_, true) && check_common() &&
         (!entry_ || (this->*(entry_->check))());
}

// A reference inside the objects dictionary names one of its keys; the
// markings an SCO carries (and a created_by_ref) stay STIX identifiers.
bool validator::check_embedded_ref(const json_view& ref, std::string_view key) {
  if (!ref.is_string()) {
    return bad(std::string("must be a key of this observed-data's objects, not ") + kind_name(ref));
  }
  const auto r = ref.as_string();
  if (dict_->get(r)) return true;
  const bool marking =
      key == "object_marking_refs" || key == "marking_ref" || key == "created_by_ref";
  if (marking && is_stix_id(r)) return true;
  return bad(quote(r) +
             " is not a key of this observed-data's objects (STIX 2.1 section 4.14: references "
             "between the objects name their keys)");
}

// The type a reference points at: the id's prefix, or inside the objects
// dictionary the type of the entry it names.
std::string_view validator::ref_type(std::string_view ref) const {
  if (dict_) {
    if (auto target = dict_->get(ref); target && target->is_object()) {
      if (auto t = target->get("type"); t && t->is_string()) return t->as_string();
    }
  }
  return stix_id_type(ref);
}

bool validator::check_mac_addr() {
  std::string_view v;
  if (!need_string(obj_, "value", "a mac-addr requires it", &v)) return false;
  // S 6.10: a single colon-delimited, lower-case MAC-48 address.
  bool ok = v.size() == 17;
  for (std::size_t i = 0; ok && i < v.size(); ++i) {
    ok = i % 3 == 2 ? v[i] == ':' : (is_digit(v[i]) || (v[i] >= 'a' && v[i] <= 'f'));
  }
  if (!ok) {
    return bad_at("value", quote(v) +
                               " is not a lower-case, colon-delimited MAC-48 address "
                               "such as 'd2:fb:49:24:37:18'");
  }
  return true;
}

bool validator::check_email_message() {
  json_view v;
  if (!need(obj_, "is_multipart", "an email-message requires it", v)) return false;
  if (!v.is_bool()) {
    return bad_at("is_multipart", std::string("must be true or false, not ") + kind_name(v));
  }
  if (v.as_bool() && obj_.get("body")) {
    return bad_at("body", "must not be present when is_multipart is true (use body_multipart)");
  }
  if (!v.as_bool() && obj_.get("body_multipart")) {
    return bad_at("body_multipart", "must not be present when is_multipart is false");
  }
  if (auto h = obj_.get("additional_header_fields")) {
    scope s(*this, "additional_header_fields");
    if (!h->is_object()) return bad(std::string("must be an object, not ") + kind_name(*h));
    for (std::size_t i = 0; i < h->size(); ++i) {
      if (!opt_string_list(*h, h->key_at(i))) return false;
    }
  }
  return opt_ref_types(obj_, "from_ref", {"email-addr"}) &&
         opt_ref_types(obj_, "sender_ref", {"email-addr"}) &&
         opt_ref_types(obj_, "to_refs", {"email-addr"}) &&
         opt_ref_types(obj_, "cc_refs", {"email-addr"}) &&
         opt_ref_types(obj_, "bcc_refs", {"email-addr"}) &&
         opt_ref_types(obj_, "raw_email_ref", {"artifact"});
}

bool validator::check_file() {
  if (!obj_.get("hashes") && !obj_.get("name")) return bad("a file needs hashes or name");
  return opt_integer(obj_, "size", 0, INT64_MAX) &&
         opt_ref_types(obj_, "parent_directory_ref", {"directory"});
}

bool validator::check_name_only() {
  return need_string(obj_, "name", {});
}

bool validator::check_network_traffic() {
  json_view v;
  if (!need(obj_, "protocols", "a network-traffic requires it", v) ||
      !opt_string_list(obj_, "protocols")) {
    return false;
  }
  if (!obj_.get("src_ref") && !obj_.get("dst_ref")) {
    return bad("a network-traffic needs src_ref or dst_ref (or both)");
  }
  if (!opt_integer(obj_, "src_port", 0, 65535) || !opt_integer(obj_, "dst_port", 0, 65535) ||
      !opt_bool(obj_, "is_active")) {
    return false;
  }
  if (auto a = obj_.get("is_active"); a && a->as_bool() && obj_.get("end")) {
    return bad_at("end", "must not be present while is_active is true");
  }
  // S 6.12: end MUST be greater than or equal to start.
  if (!seen_order(obj_, "start", "end", false)) return false;
  for (auto key : {"src_ref", "dst_ref"}) {
    if (!opt_ref_types(obj_, key, {"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"})) {
      return false;
    }
  }
  return true;
}

// process, user-account, x509-certificate: "at least one property (other than
// type) from this object or one of its extensions".
bool validator::check_any_property() {
  static constexpr std::array<std::string_view, 6> k_common{
      "type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"};
  for (std::size_t i = 0; i < obj_.size(); ++i) {
    if (!one_of(obj_.key_at(i), k_common)) return true;
  }
  return bad(with_article(type_) + " needs at least one property of its own");
}

bool validator::check_windows_registry_key() {
  if (!check_any_property()) return false;
  std::string_view key;
  if (!opt_string(obj_, "key", &key)) return false;
  if (obj_.get("key") && !starts_with_full_hive(key)) {
    return bad_at("key", quote(key) +
                             " must start with the full hive name, such as HKEY_LOCAL_MACHINE "
                             "rather than HKLM (STIX 2.1 section 6.17)");
  }
  auto values = obj_.get("values");
  if (!values || !values->is_array()) return true;
  scope s(*this, "values");
  for (std::size_t i = 0; i < values->size(); ++i) {
    scope si(*this, i);
    if (!opt_enum(values->value_at(i), "data_type", k_registry_datatypes)) return false;
  }
  return true;
}

bool validator::check_marking_definition() {
  if (!opt_string(obj_, "definition_type")) return false;
  const auto definition_type = obj_.get("definition_type");
  const auto definition = obj_.get("definition");
  const auto extensions = obj_.get("extensions");
  if (!extensions || definition_type || definition) {
    json_view v;
    const char* why = "a marking-definition without extensions requires it";
    if (!need(obj_, "definition_type", why, v) || !need(obj_, "definition", why, v)) return false;
    if (!definition->is_object()) {
      return bad_at("definition", std::string("must be an object, not ") + kind_name(*definition));
    }
  }
  const std::string_view dt = definition_type ? definition_type->as_string() : "";
  std::string_view tlp1_value;
  if (dt == "tlp") {
    scope s(*this, "definition");
    if (!need_string(*definition, "tlp", "a tlp definition states its level", &tlp1_value) ||
        !opt_enum(*definition, "tlp", k_tlp1_levels)) {
      return false;
    }
  } else if (dt == "statement") {
    scope s(*this, "definition");
    if (!need_string(*definition, "statement", "a statement definition holds its text")) {
      return false;
    }
  }
  std::string_view tlp2_value;
  if (extensions) {
    if (auto ext = extensions->get(k_tlp2_extension)) {
      if (auto level = ext->get("tlp_2_0"); level && level->is_string()) {
        tlp2_value = level->as_string();
      } else {
        scope s1(*this, "extensions");
        scope s2(*this, k_tlp2_extension);
        return bad_at("tlp_2_0", "missing; the TLP 2.0 extension states the level");
      }
    }
  }

  // STIX 2.1 7.2.1.4: the TLP marking-definitions are fixed objects. An id
  // of theirs means exactly that marking, and TLP is carried by those ids
  // only; anything else would change what the sharing policy sees.
  const auto fixed = tlp_of_marking(id_);
  const bool tlp1_id = one_of(id_, k_tlp1_ids);
  if (fixed) {
    const std::string level(tlp_name(*fixed));
    std::string upper = level == "clear" && tlp1_id ? "WHITE" : level;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; });
    if (tlp1_id) {
      if (dt != "tlp" || parse_tlp_name(tlp1_value) != fixed) {
        return bad_at("id", quote(id_) + " is the fixed TLP 1.0 marking TLP:" + upper +
                                "; a marking-definition with this id must be exactly that TLP "
                                "marking (definition_type 'tlp', definition {\"tlp\": \"" +
                                (level == "clear" ? std::string("white") : level) +
                                "\"}), not a different one");
      }
    } else if (tlp2_value.empty() || parse_tlp_name(tlp2_value) != fixed || tlp2_value == "white") {
      return bad_at("id", quote(id_) + " is the fixed TLP 2.0 marking TLP:" + upper +
                              "; a marking-definition with this id must be exactly that TLP "
                              "marking (the TLP 2.0 extension with tlp_2_0 \"" +
                              level + "\")");
    }
    if (!check_tlp_content()) return false;
  } else if (dt == "tlp") {
    return bad_at("definition_type",
                  "a 'tlp' marking must use one of the four fixed TLP 1.0 ids (STIX 2.1 "
                  "section 7.2.1.4); refer to those instead of defining a new one");
  } else if (!tlp2_value.empty()) {
    return bad_at("extensions",
                  "a TLP 2.0 marking must use one of the five fixed TLP 2.0 ids; refer to "
                  "those instead of defining a new one");
  }

  // A marking-definition cannot mark itself.
  if (auto refs = obj_.get("object_marking_refs"); refs && refs->is_array()) {
    for (std::size_t i = 0; i < refs->size(); ++i) {
      if (refs->value_at(i).as_string() == id_) {
        scope s(*this, "object_marking_refs");
        scope si(*this, i);
        return bad("a marking-definition must not refer to itself");
      }
    }
  }
  if (auto gm = obj_.get("granular_markings"); gm && gm->is_array()) {
    for (std::size_t i = 0; i < gm->size(); ++i) {
      const auto ref = gm->value_at(i).get("marking_ref");
      if (ref && ref->is_string() && ref->as_string() == id_) {
        scope s(*this, "granular_markings");
        scope si(*this, i);
        return bad_at("marking_ref",
                      "a marking-definition must not refer to itself (STIX 2.1 "
                      "section 7.2: no circular markings)");
      }
    }
  }
  return true;
}

// The fixed TLP marking-definitions are fixed in every property: the TLP 1.0
// objects of S 7.2.1.4 ("MUST be used", no others may be created) and the
// TLP 2.0 objects the CTI TC publishes with its extension. Marking
// definitions are not versioned (S 7.2.1), so an object that reuses one of
// these ids with any difference (an added property such as
// granular_markings, another name) would be a second, conflicting
// definition of the same marking. Values are compared as parsed JSON;
// created as a timestamp.
bool validator::check_tlp_content() {
  const auto level = tlp_of_marking(id_);
  if (!level) return true;
  const bool tlp1 = one_of(id_, k_tlp1_ids);
  const std::string name(tlp1 && *level == tlp_level::clear ? "white" : tlp_name(*level));
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; });
  const std::string common = "{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":\"" +
                             std::string(id_) + "\",\"name\":\"TLP:" + upper + "\",";
  const std::string expected =
      tlp1 ? common +
                 "\"created\":\"2017-01-20T00:00:00.000Z\",\"definition_type\":\"tlp\","
                 "\"definition\":{\"tlp\":\"" +
                 name + "\"}}"
           : common + "\"created\":\"2022-10-01T00:00:00.000Z\",\"extensions\":{\"" +
                 std::string(k_tlp2_extension) +
                 "\":{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"" + name + "\"}}}";
  const auto doc = parse_json(expected);
  if (!doc) return bad("internal error: the reference TLP object does not parse");
  const auto ref = doc->root();
  auto differs = [&](std::string_view key, const std::string& what) {
    return bad_at(key, what + "; " + quote(id_) + " is TLP:" + upper + " (TLP " +
                           (tlp1 ? "1.0" : "2.0") +
                           "), and a marking-definition with this id must be exactly the "
                           "published TLP marking-definition (" +
                           (tlp1 ? "STIX 2.1 section 7.2.1.4"
                                 : "STIX 2.1 section 7.2.1.4; TLP 2.0 as published with " +
                                       std::string(k_tlp2_extension)) +
                           ")");
  };
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const auto key = ref.key_at(i);
    const auto want = ref.value_at(i);
    const auto have = obj_.get(key);
    // name is optional on a marking-definition, and the TLP 1.0 objects as
    // STIX 2.0 published them (still in wide use, and valid to independent
    // validators) have none; with it absent the object still says nothing
    // the published one does not. TLP 2.0 was only ever published named.
    if (!have && key == "name" && tlp1) continue;
    if (!have) return differs(key, "missing");
    const bool same =
        key == "created"
            ? have->is_string() && compare_stix_timestamps(have->as_string(), want.as_string()) == 0
            : have->equals(want);
    if (!same) return differs(key, have->dump() + " is not " + want.dump());
  }
  for (std::size_t i = 0; i < obj_.size(); ++i) {
    if (!ref.get(obj_.key_at(i))) return differs(obj_.key_at(i), "is not part of it");
  }
  return true;
}

bool validator::check_language_content() {
  json_view contents, ref;
  if (!need(obj_, "object_ref", "a language-content requires it", ref) ||
      !need(obj_, "contents", "a language-content requires it", contents)) {
    return false;
  }
  scope s(*this, "contents");
  if (!contents.is_object()) {
    return bad(std::string("must be an object (language tag to translated properties), not ") +
               kind_name(contents));
  }
  if (contents.size() == 0) return bad("must hold at least one language");
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const auto v = contents.value_at(i);
    // S 7.1: each key MUST be a language code conformant to RFC 5646.
    if (!is_language_tag(contents.key_at(i))) {
      return bad_at(contents.key_at(i),
                    quote(contents.key_at(i)) +
                        " is not an RFC 5646 language tag (STIX 2.1 section 7.1), such as 'de', "
                        "'de-DE' or 'zh-Hant-TW'");
    }
    if (!v.is_object()) {
      return bad_at(contents.key_at(i), std::string("must be an object, not ") + kind_name(v));
    }
    // S 7.1: the keys of each language are the names of the translated
    // properties, so they follow the property name rules (S 3.1).
    scope sl(*this, contents.key_at(i));
    for (std::size_t j = 0; j < v.size(); ++j) {
      if (!is_property_name(v.key_at(j))) {
        return bad_at(v.key_at(j), std::string(k_property_name_rule));
      }
    }
  }
  return true;
}

bool validator::check_extension_definition() {
  constexpr std::string_view why = "an extension-definition requires it";
  json_view types;
  if (!need(obj_, "created_by_ref", why, types) || !need_string(obj_, "name", why) ||
      !need_string(obj_, "schema", why) || !need_string(obj_, "version", why) ||
      !need(obj_, "extension_types", why, types) || !opt_string_list(obj_, "extension_types") ||
      !opt_string_list(obj_, "extension_properties")) {
    return false;
  }
  bool toplevel = false;
  {
    scope s(*this, "extension_types");
    for (std::size_t i = 0; i < types.size(); ++i) {
      const auto t = types.value_at(i).as_string();
      if (!one_of(t, k_extension_types)) {
        scope si(*this, i);
        return bad(quote(t) + " is not one of " + list_text(k_extension_types));
      }
      toplevel = toplevel || t == "toplevel-property-extension";
    }
  }
  // S 7.3: extension_properties names the properties a toplevel property
  // extension adds, and MUST only be used with that extension type.
  if (obj_.get("extension_properties") && !toplevel) {
    return bad_at("extension_properties",
                  "must only be used when extension_types includes "
                  "'toplevel-property-extension' (STIX 2.1 section 7.3)");
  }
  return true;
}

// ---------------------------------------------------------------------------

result<stix_object_info> validator::run() {
  if (!obj_.is_object()) {
    return fail(std::string("a STIX object must be a JSON object, not ") + kind_name(obj_));
  }
  // The generic walk runs first: it guarantees the shapes (ids in *_ref,
  // lists without holes) that the specific checks then rely on.
  const bool ok = check_type_and_id() && check_property_names() && walk_members(obj_, true) &&
                  check_common() && (!entry_ || (this->*(entry_->check))());
  if (!ok) return std::unexpected(std::move(error_));

  stix_object_info info;
  info.id = std::string(id_);
  info.type = std::string(type_);
  info.version = std::string(!modified_.empty() ? modified_ : created_);
  info.spec_version = "2.1";
  info.tlp = tlp_of_object(obj_);
  info.json = obj_.dump();
  info.observables = observables_of(obj_, pattern_ ? &*pattern_ : nullptr);
  return info;
}

}  // namespace

// ---------------------------------------------------------------------------
// Identifiers

bool is_uuid(std::string_view text) {
  return has_uuid_shape(text);
}

bool is_uuid_v4(std::string_view text) {
  return has_uuid_shape(text) && text[14] == '4' && is_rfc4122_variant(text[19]);
}

bool is_stix_id(std::string_view text) {
  const auto sep = text.find("--");
  if (sep == std::string_view::npos) return false;
  const auto uuid = text.substr(sep + 2);
  return is_type_name(text.substr(0, sep)) && has_uuid_shape(uuid) && uuid[14] >= '1' &&
         uuid[14] <= '5' && is_rfc4122_variant(uuid[19]);
}

std::string_view stix_id_type(std::string_view id) {
  const auto sep = id.find("--");
  return sep == std::string_view::npos ? std::string_view{} : id.substr(0, sep);
}

std::string new_uuid_v4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    throw std::runtime_error("the OpenSSL random generator failed");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    append_hex(out, b[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Objects, envelopes and files

result<stix_object_info> validate_stix_object(const json_view& obj) {
  return validator(obj).run();
}

namespace {

parsed_object parse_one(const json_view& obj) {
  parsed_object p;
  if (obj.is_object()) {
    if (auto id = obj.get("id"); id && id->is_string()) p.id = std::string(id->as_string());
    auto version = obj.get("modified");
    if (!version || !version->is_string()) version = obj.get("created");
    if (version && version->is_string()) p.version = std::string(version->as_string());
  }
  auto r = validate_stix_object(obj);
  if (r) {
    p.info = std::move(*r);
  } else {
    p.problem = std::move(r.error());
  }
  return p;
}

result<void> check_count(std::size_t n, std::size_t max_objects) {
  if (n > max_objects) {
    return fail("holds " + std::to_string(n) + " objects, more than the limit of " +
                std::to_string(max_objects) + " per request");
  }
  return {};
}

result<std::vector<parsed_object>> parse_list(const json_view& list, std::size_t max_objects) {
  if (auto r = check_count(list.size(), max_objects); !r) return std::unexpected(r.error());
  std::vector<parsed_object> out;
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) out.push_back(parse_one(list.value_at(i)));
  return out;
}

// One object a line; blank lines are skipped.
result<std::vector<parsed_object>> parse_json_lines(std::string_view text,
                                                    const json_limits& limits,
                                                    std::size_t max_objects) {
  std::vector<parsed_object> out;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto doc = parse_json(line, limits);
    if (!doc) return fail("line " + std::to_string(line_no) + ": " + doc.error().message);
    if (!doc->root().is_object()) {
      return fail("line " + std::to_string(line_no) + ": each line must hold one STIX object");
    }
    if (auto r = check_count(out.size() + 1, max_objects); !r) return std::unexpected(r.error());
    out.push_back(parse_one(doc->root()));
  }
  return out;
}

bool looks_like_json_lines(std::string_view text, const json_limits& limits) {
  // Two or more non-blank lines, the first of which is a JSON object on its
  // own. A pretty-printed document never passes this ("{" alone is not JSON).
  std::size_t pos = 0;
  std::string_view first;
  int lines = 0;
  while (pos < text.size() && lines < 2) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (lines++ == 0) first = line;
  }
  if (lines < 2) return false;
  auto doc = parse_json(first, limits);
  return doc && doc->root().is_object();
}

}  // namespace

result<std::vector<parsed_object>> parse_envelope(std::string_view text, const json_limits& limits,
                                                  std::size_t max_objects) {
  auto doc = parse_json(text, limits);
  if (!doc) return fail("the envelope is not valid JSON: " + doc.error().message);
  const auto root = doc->root();
  if (!root.is_object()) {
    return fail(std::string("the envelope must be a JSON object ({\"objects\": [...]}), not ") +
                kind_name(root));
  }
  auto objects = root.get("objects");
  if (!objects) return fail("the envelope has no \"objects\" list", "/objects");
  if (!objects->is_array()) {
    return fail(std::string("\"objects\" must be a list, not ") + kind_name(*objects), "/objects");
  }
  auto r = parse_list(*objects, max_objects);
  if (!r) return fail("the envelope " + r.error().message, "/objects");
  return r;
}

result<std::vector<parsed_object>> parse_stix_content(std::string_view text,
                                                      const json_limits& limits,
                                                      std::size_t max_objects) {
  if (text.size() > limits.max_bytes) {
    return fail("the content is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  auto doc = parse_json(text, limits);
  if (!doc) {
    if (looks_like_json_lines(text, limits)) return parse_json_lines(text, limits, max_objects);
    return fail("not valid JSON: " + doc.error().message);
  }
  const auto root = doc->root();
  if (root.is_array()) {
    auto r = parse_list(root, max_objects);
    if (!r) return fail("the list " + r.error().message);
    return r;
  }
  if (!root.is_object()) {
    return fail(std::string("expected a STIX bundle, an envelope, a list of objects or one "
                            "object, not ") +
                kind_name(root));
  }
  auto type = root.get("type");
  auto objects = root.get("objects");
  if (type && type->is_string() && type->as_string() == "bundle") {
    if (auto id = root.get("id"); !id || !id->is_string() || !is_stix_id(id->as_string()) ||
                                  stix_id_type(id->as_string()) != "bundle") {
      return fail("the bundle needs an id of the form 'bundle--<UUID>'", "/id");
    }
    if (!objects) return std::vector<parsed_object>{};
    if (!objects->is_array()) {
      return fail(
          std::string("the bundle's \"objects\" must be a list, not ") + kind_name(*objects),
          "/objects");
    }
    auto r = parse_list(*objects, max_objects);
    if (!r) return fail("the bundle " + r.error().message, "/objects");
    return r;
  }
  if (!type && objects) {
    if (root.get("id") || root.get("spec_version")) {
      return fail(
          "the top-level object has \"objects\" and an \"id\" but no \"type\": \"bundle\"; a STIX "
          "bundle needs \"type\": \"bundle\" (a TAXII envelope has only \"objects\", \"more\" and "
          "\"next\")",
          "/type");
    }
    if (!objects->is_array()) {
      return fail(std::string("\"objects\" must be a list, not ") + kind_name(*objects),
                  "/objects");
    }
    auto r = parse_list(*objects, max_objects);
    if (!r) return fail("the envelope " + r.error().message, "/objects");
    return r;
  }
  // One object on its own.
  if (auto r = check_count(1, max_objects); !r) return std::unexpected(r.error());
  std::vector<parsed_object> out;
  out.push_back(parse_one(root));
  return out;
}

}  // namespace cairn::formats
