#pragma once
// The sharing record on the server side: the extension endpoints of
// INTERFACE.md (GET /cairn/v1/audit, .../checkpoint, .../proof,
// .../consistency, GET /cairn/v1/alerts; auditor accounts only), and the hooks through which the
// router and the TAXII endpoints record what they publish, deliver, delete
// and refuse (the store keeps the records: storage/store.hpp).
//
// Delivery rule: a pull's response (objects, object, versions, manifest) is
// held until its record is durable, and sent from the commit's callback; if
// the record cannot be stored, the client gets a 503 and nothing of the page.
// Publishes and deletes are recorded in their own transaction (store::publish()
// and store::remove() take the record).
// Denied requests, authentication failures and config loads are recorded
// without delaying the response.
//
//
// Threads: every function may be called from any I/O thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "server/api/audit_limits.hpp"
#include "server/api/call.hpp"
#include "server/transport/http.hpp"
#include "storage/store.hpp"

namespace cairn::server {

class exchange;
struct snapshot;
struct account;

class audit_service {
 public:
  // GET /cairn/v1/audit[/checkpoint|/proof|/consistency|/exposure|/stats]
  // for an authenticated account: endpoint is the path segment after "audit"
  // ("", "checkpoint", "proof", "consistency", "exposure", "stats"
  // (audit_reports.hpp); anything else is a 404).
  // Non-auditors get 403 (and a denied record). An auditor whose read list
  // names collections (account::audit_scoped) gets only the records of those
  // collections and the records that name none; a filter naming another
  // collection, or an object of one, finds nothing. The checkpoint, proof and
  // consistency endpoints answer every auditor alike: hashes and tree sizes,
  // which the proofs of the records it sees need.
  static void handle(exchange& ex, const snapshot& snap, const account& who, const request& req,
                     const peer_info& peer, std::string_view endpoint, std::string_view query,
                     respond_fn respond);

  // GET /cairn/v1/alerts for an authenticated account: the alert records
  // (INTERFACE.md, "Monitoring the exchange itself"), filters since, until,
  // kind, account, limit and next. Non-auditors get 403 (and a denied
  // record). Alerts name no collection: scoped auditors see every one.
  static void alerts(exchange& ex, const account& who, const request& req, const peer_info& peer,
                     std::string_view query, respond_fn respond);

  // Runs a pull endpoint, then records the versions its response carried
  // and sends the response once the record is durable.
  static void pull(taxii_call& c, response (*endpoint)(const taxii_call& c));

  // The record entry for a request of c (account, remote, root, collection).
  static storage::audit_entry entry(const taxii_call& c, std::string action, int status);

  // An authenticated request refused by policy (403, or 404 for a
  // collection the account may not see). collection_id may be empty.
  static void denied(exchange& ex, const account& who, const peer_info& peer,
                     std::string_view api_root, std::string_view collection_id, int status);

  // Failed authentication (wrong credentials or refused by the throttle).
  // claimed: the account name given, if any; kept only when it names an
  // account of snap (a password typed as a name is never recorded).
  static void auth_failure(exchange& ex, const snapshot& snap, const peer_info& peer,
                           std::string_view claimed, int status);
};

}  // namespace cairn::server
