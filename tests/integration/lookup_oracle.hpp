#pragma once
// A reference for lookup and exports (INTERFACE.md, "Lookup, exports and
// exposure"), written from the STIX 2.1 patterning specification (section 9,
// STIXPattern.g4) and the contract, and from nothing in formats/ but JSON:
// its own pattern parser, its own normal forms, its own "current" rule. The
// lookup oracle test compares cairnd against it.
//
// What a pattern yields:
// - exported values: the pattern is one comparison, or several joined by OR
//   (inside one observation expression, or between observation expressions,
//   with parentheses anywhere and no qualifier), each of a listed observable
//   path with `=` (not negated) and a string constant: the normal forms of
//   those constants. Any other pattern exports nothing.
// - lookup keys: every `=` comparison (not negated) of a listed path with a
//   string constant, anywhere in the pattern; and for IPv4/IPv6, every CIDR
//   compared with `=` or ISSUBSET, which matches the addresses and the
//   networks it contains.
// Listed paths: ipv4-addr:value, ipv6-addr:value, domain-name:value,
// url:value, email-addr:value, file:hashes.'SHA-256', file:hashes.'SHA-1',
// file:hashes.MD5 (a quoted name is the same name: file:hashes.'MD5').
//
// Normal forms (what the standards call equal, nothing more): IPv4 dotted
// decimal, a CIDR's host bits cleared and /32 written bare; IPv6 per RFC 5952
// (lower case, no leading zeros, the longest run of two or more zero groups
// as "::", the first of equal runs), /128 bare; a domain in lower case
// without a trailing dot; a hash in lower-case hex; URLs and email addresses
// as given.

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::testing::lookup_oracle {

enum class kind { ipv4, ipv6, domain, url, email, sha256, sha1, md5 };

// The STIX type a kind belongs to ("ipv4-addr", ..., "file" for hashes).
std::string_view type_name(kind k);
// "ipv4-addr" -> {ipv4}, "file" -> the three hash kinds; empty if unknown.
std::vector<kind> kinds_of_type(std::string_view type);

struct value {
  kind k = kind::ipv4;
  std::string text;  // normal form
  bool cidr = false;
  auto operator<=>(const value&) const = default;
};

// An IPv4 or IPv6 network (an address is a network of the full length).
struct ip_net {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4
  int prefix = 32;
  int width() const { return v6 ? 128 : 32; }
};

std::optional<ip_net> parse_ipv4(std::string_view text);
std::optional<ip_net> parse_ipv6(std::string_view text);
// The normal form of a network (host bits cleared; a full-length one bare).
std::string render(ip_net net);
bool contains(const ip_net& outer, const ip_net& inner);

// The normal form of text as a value of kind k, or nothing if it is not one.
std::optional<value> normalise(kind k, std::string_view text);

struct pattern_facts {
  bool valid = false;        // the oracle could parse the pattern
  std::string error;         // why not
  std::set<value> exported;  // empty unless the pattern's shape exports
  std::set<value> equal;     // lookup keys compared with `=`
  std::vector<ip_net> ranges;
};

pattern_facts analyse(std::string_view pattern);

// The (kind, normal form) pairs a lookup value stands for: with a type, the
// kinds of that type the value is valid for; without, the one kind its form
// says (an IP address, 64/40/32 hex digits, "scheme://" a URL, '@' an email
// address, a dotted name a domain).
std::vector<value> candidates(std::string_view text, std::string_view type = {});

// Whether a pattern with these facts answers a lookup of candidate c.
bool matches(const pattern_facts& f, const value& c);

// ---------------------------------------------------------------- CSV (RFC 4180)

// The records of a CSV text; nothing if it is malformed (a quote in an
// unquoted field, an unterminated quoted field). crlf_only says whether
// every record ended in CRLF.
std::optional<std::vector<std::vector<std::string>>> parse_csv(std::string_view text,
                                                               bool* crlf_only = nullptr);

}  // namespace cairn::testing::lookup_oracle
