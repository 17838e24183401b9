#pragma once
// Intelligence where partners use it (INTERFACE.md "Lookup, exports and
// exposure"): GET /cairn/v1/lookup and GET /cairn/v1/export/{root}/{collection}.
//
// Both read under the same sharing policy as the TAXII reads (an account sees
// only the collections it can read, and in them the versions its clearance
// covers or that it published), and both are audited as pull records listing
// every version they answered with, durable before the answer leaves:
// - a lookup: one record per collection with matches, listing the matching
//   versions it returned;
// - an export: one record listing the indicator versions the export drew on
//   (the current ones its values came from). A 304 (If-None-Match) records
//   nothing: it carries no object.
//
// An export's body is streamed in bounded pieces (respond_fn::stream), each
// produced with a reader of its own (a reader is never held across a write);
// what it lists is fixed, when the request is judged, as the set of versions
// it was audited with, so a publish during the transfer neither adds to it nor
// mixes two states of the collection.
//
// ETag: a digest of what determines the body: the versions it draws on (so a
// version withheld from the account never changes its tag), the account and
// its clearance, the format, the types, and the next instant at which an
// indicator's valid_from or valid_until passes. The last ETag per (account,
// collection, format, types) is remembered with the collection's generation
// and that instant (export_etags), so that an unchanged export polled by a
// firewall costs a generation read and a hash look-up; after any write to the
// collection, the next poll reads the index once and finds its tag again.
//
// Threads: any I/O thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/transport/http.hpp"

namespace cairn::server {

class exchange;
struct snapshot;
struct account;

class exports_service {
 public:
  // GET /cairn/v1/lookup?value=V[&type=T].
  static void lookup(exchange& ex, const snapshot& snap, const account& who, const request& req,
                     const peer_info& peer, std::string_view query, respond_fn respond);

  // GET /cairn/v1/export/{root}/{collection}?format=edl|csv|stix[&type=...].
  static void export_values(exchange& ex, const snapshot& snap, const account& who,
                            const request& req, const peer_info& peer, std::string_view root,
                            std::string_view collection, std::string_view query,
                            respond_fn respond);
};

// Whether an If-None-Match value names etag (weak comparison, RFC 9110
// 13.1.2; "*" matches any).
bool if_none_match_matches(std::string_view header, std::string_view etag);

// An RFC 4180 field: quoted when it holds a comma, a quote, CR or LF.
std::string csv_field(std::string_view v);

// A URL as firewall lists take it: without its scheme ("https://a.b/c" ->
// "a.b/c").
std::string_view url_without_scheme(std::string_view url);

}  // namespace cairn::server
