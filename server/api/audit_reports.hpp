#pragma once
// Reports built on the sharing record, for auditor accounts (INTERFACE.md
// "Lookup, exports and exposure"), reached through audit_service::handle():
//
// GET /cairn/v1/audit/exposure?object=ID: who holds which version of ID. One
// recipient per account that ever received a version of it (its pull
// records: TAXII reads, lookups and exports alike), with the version of its
// latest delivery (the newest one when that delivery carried several) and
// when; `current` when that version is the object's latest live version in
// the collections the auditor sees. Found through the audit log's object
// index, page by page, at most max_exposure_records pull records (past that,
// a 400 says so).
//
// GET /cairn/v1/audit/stats?bucket=hour|day[&since=T][&until=T][&collection=ID]:
// deliveries (pull records and the objects they listed) per account per UTC
// bucket, from the store's statistics index (store::audit_stats), never by
// reading records. A bucket that overlaps [since, until] is counted whole.
//
// Scope: an auditor whose read list names collections counts only the
// records, versions and deliveries of those collections (a collection
// filter naming another finds nothing, as on /cairn/v1/audit).

#include <cstddef>
#include <string_view>

#include "server/api/call.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

class exchange;
struct snapshot;
struct account;

inline constexpr std::size_t max_exposure_records = 50'000;

void audit_exposure(exchange& ex, const snapshot& snap, const account& who, const request& req,
                    std::string_view query, const respond_fn& respond);

void audit_stats(exchange& ex, const snapshot& snap, const account& who, const request& req,
                 std::string_view query, const respond_fn& respond);

}  // namespace cairn::server
