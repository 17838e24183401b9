#pragma once
// The sharing record's wire forms (INTERFACE.md, "An audit record"), shared by
// the server that writes them and by every verifier (`cairnd audit verify`,
// `cairn audit verify-proof`, anyone else's code):
//
// - a record's body is the record without "prev" and "hash", serialised as
//   RFC 8785 canonical JSON;
// - hash = SHA-256(prev || body), where prev is the 32 raw bytes of the
//   previous record's hash (32 zero bytes before record 1);
// - the bodies, in seq order, are the leaves of the RFC 9162 tree
//   (formats/merkle.hpp);
// - a checkpoint's Ed25519 signature covers the canonical JSON of
//   {tree_size, root_hash, chain_hash, time}.
//
// Members beyond INTERFACE.md's example appear only where they carry
// something: "sha256" (config records: the SHA-256 of the loaded file),
// "suppressed" (auth-failure counter records: how many failures from that
// address were not recorded one by one), "accounts" (counter records: an
// object of account name -> failures among those suppressed that named it;
// "*" counts known accounts beyond the names a counter lists, and failures
// that named no known account are the rest of "suppressed"), and, on alert
// records (action "alert") and on those only, all three of "kind" (one of
// alert_kinds), "detail" (a sentence for people) and "evidence" (the seq
// numbers of the records that raised the alert, strictly increasing).
// An alert record names no collection and no objects. Verifiers that hash
// the body from the JSON they received (audit_body_of()) need not know them.
//
// Pure functions; any thread.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"

namespace cairn::formats {

// The values of "action".
bool is_audit_action(std::string_view action);

// The values of an alert record's "kind" (INTERFACE.md, "Monitoring the
// exchange itself"). Stores number them by their place here: only append.
inline constexpr std::string_view alert_kinds[] = {"auth-failure-burst", "denied-burst",
                                                   "new-address", "volume", "suspended-use"};
bool is_alert_kind(std::string_view kind);

// The most seq numbers one alert's evidence lists.
inline constexpr std::size_t max_alert_evidence = 10'000;

struct audit_object {
  std::string id;
  std::string version;
  bool operator==(const audit_object&) const = default;
};

struct audit_record {
  std::uint64_t seq = 0;  // from 1, no gaps
  std::string time;       // TAXII timestamp, "2026-11-27T10:00:00.123456Z"
  std::string account;    // empty when no account is known (config, most auth failures)
  std::string action;     // publish, pull, delete, denied, auth-failure, config, alert
  std::string remote;     // peer address; empty for config records
  std::string api_root;
  std::string collection;  // collection id; empty when the request named none
  std::vector<audit_object> objects;
  int status = 0;                // the HTTP status answered (0 for config records)
  std::string sha256;            // config records only
  std::uint64_t suppressed = 0;  // auth-failure counter records only
  // Counter records only: failures per account name (counts >= 1).
  std::map<std::string, std::uint64_t> accounts;
  // Alert records (action "alert") only: the alert's kind
  // (auth-failure-burst, denied-burst, new-address, volume, suspended-use),
  // a sentence for people, and the seq numbers of the records that raised it.
  std::string kind;
  std::string detail;
  std::vector<std::uint64_t> evidence;
  merkle::digest prev{};
  merkle::digest hash{};
};

// Appends one {"id":..,"version":..} entry to an objects array being built
// ("[" first, then entries with first = true for the first one, then "]").
void append_audit_object(std::string& out, bool first, std::string_view id,
                         std::string_view version);
// The canonical "objects" array of these objects.
std::string audit_objects_json(std::span<const audit_object> objects);

// The record's body, with objects_json (from audit_objects_json() or built
// with append_audit_object()) as the value of "objects"; r.objects is not
// read.
std::string audit_body(const audit_record& r, std::string_view objects_json);
// The same with r.objects.
std::string audit_body(const audit_record& r);

// SHA-256(prev || body).
merkle::digest audit_chain_hash(const merkle::digest& prev, std::string_view body);

// Whether r's alert members are as this header says for its action: kind,
// detail and evidence (strictly increasing, each >= 1, at most
// max_alert_evidence) with no collection, objects, accounts, sha256 or
// suppressed on an alert record; none of the three on any other.
result<void> check_alert_members(const audit_record& r);

// The whole record as canonical JSON: the body's members plus "prev" and
// "hash" (hex), in sorted order.
std::string audit_record_json(const audit_record& r, std::string_view objects_json);

// The body of a record given as JSON (as received from a server): every
// member except "prev" and "hash", in RFC 8785 form. Fails when v is not an
// object.
result<std::string> audit_body_of(const json_view& v);

// A record given as JSON, strictly: every INTERFACE member with its type,
// and the alert members as check_alert_members() requires.
result<audit_record> parse_audit_record(const json_view& v);

// A signed tree head.
struct audit_checkpoint {
  std::uint64_t tree_size = 0;
  merkle::digest root_hash{};
  merkle::digest chain_hash{};  // hash of record tree_size
  std::string time;             // TAXII timestamp
  std::string signature;        // base64 of the Ed25519 signature
  std::string public_key;       // PEM of the signing key
};

// What the signature covers: {"chain_hash":..,"root_hash":..,"time":..,"tree_size":N}.
std::string checkpoint_signed_text(const audit_checkpoint& c);
// All six members, canonical.
std::string checkpoint_json(const audit_checkpoint& c);
result<audit_checkpoint> parse_checkpoint(const json_view& v);
result<audit_checkpoint> parse_checkpoint(std::string_view json);
// Does c's signature verify under public_key_pem (the key the verifier
// trusts, not necessarily c.public_key)?
bool checkpoint_signature_ok(const audit_checkpoint& c, std::string_view public_key_pem);

}  // namespace cairn::formats
