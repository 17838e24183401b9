#pragma once
// The observable values Cairn indexes for lookup and exports (INTERFACE.md,
// "Lookup, exports and exposure"): which values an object carries, and the
// normal form under which two values the standards call equal are one key.
//
// Values come from an indicator's pattern (each comparison of a listed
// observable path with `=`, and CIDRs compared with `=` or ISSUBSET), read
// with the pattern parser of formats/stix_pattern.hpp, and from SCOs of the
// listed types (their `value`, a file's listed hashes).
//
// Normal forms (and nothing else is folded): an IPv4 address or CIDR in
// dotted decimal without leading zeros, a CIDR's host bits cleared and a /32
// written as the bare address; IPv6 per RFC 5952 (lower case, longest zero
// run compressed) with the same CIDR rules (/128 bare); a domain name in
// lower case without a trailing dot; a hash in lower-case hex; a URL and an
// email address as given.
//
// Pure functions; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"

namespace cairn::formats {

class json_view;
struct pattern_node;

enum class observable_kind : std::uint8_t {
  ipv4 = 1,    // ipv4-addr:value
  ipv6 = 2,    // ipv6-addr:value
  domain = 3,  // domain-name:value
  url = 4,     // url:value
  email = 5,   // email-addr:value
  sha256 = 6,  // file:hashes.'SHA-256'
  sha1 = 7,    // file:hashes.'SHA-1'
  md5 = 8,     // file:hashes.MD5
};

// The STIX object type of a kind ("ipv4-addr", ..., "file" for the hashes),
// and the CSV/lookup "type" column's value (the same).
std::string_view observable_type_name(observable_kind k);

struct observable {
  observable_kind kind = observable_kind::ipv4;
  std::string value;  // normalised
  bool cidr = false;  // an ipv4/ipv6 network with a prefix shorter than the address
  // The value comes from a pattern that is one comparison, or several joined
  // by OR (within one observation expression or between observation
  // expressions without qualifiers), each of a listed observable with `=`:
  // what exports draw on. SCO values are not exportable (exports list
  // indicators).
  bool exportable = false;
  bool operator==(const observable&) const = default;
};

// The values one validated STIX object carries (empty for other types or
// patterns of another pattern_type). `json` is the object's JSON.
// Deduplicated (kind, value, cidr); order unspecified.
std::vector<observable> observables_of(std::string_view json);

// The same for a parsed object (formats/json.hpp). `pattern`, when given, is
// the tree of the object's pattern (an indicator of pattern_type "stix"),
// already parsed by parse_stix_pattern(): validation parses it once and the
// values are read from that tree instead of parsing the text again.
std::vector<observable> observables_of(const json_view& object,
                                       const pattern_node* pattern = nullptr);

// The normal form of a value given as kind k, or an error saying why it is
// not one (e.g. "'1.2.3' is not an IPv4 address").
result<std::string> normalise_observable(observable_kind k, std::string_view value);

// For a lookup without a type: the kinds `value` can be, each with its
// normal form (an IPv4 address is only ipv4; 64 hex digits only sha256; a
// name with a dot and no '/' or '@' a domain; ...).
std::vector<std::pair<observable_kind, std::string>> observable_candidates(std::string_view value);

// For an address or a network in normal form (ipv4 or ipv6): the normal
// forms of the wider networks that contain it, one per prefix length shorter
// than its own ("0.0.0.0/0" ... "1.2.3.4/31" for an address, "10.0.0.0/0"
// ... "10.0.0.0/23" for "10.0.0.0/24"), which a lookup probes to find the
// CIDRs containing the value. Empty for anything else.
std::vector<std::string> containing_networks(observable_kind k, std::string_view address);

// "ipv4-addr" -> ipv4, ..., "file" -> the three hash kinds.
std::optional<std::vector<observable_kind>> observable_kinds_of_type(std::string_view type);

}  // namespace cairn::formats
