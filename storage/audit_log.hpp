#pragma once
// The sharing record: who published, received, deleted or was refused what,
// as the tamper-evident log of INTERFACE.md ("An audit record"): seq without
// gaps, a hash chain over the records' RFC 8785 bodies, the bodies as the
// leaves of an RFC 9162 Merkle tree, and checkpoints signed with an Ed25519
// key kept beside the store.
//
// Storage: named databases in the object store's LMDB environment, written by
// the store's single writer (storage/audit_codec.hpp has the layout). So a
// publish or a delete and its record commit in one transaction (attach()),
// and the records of many concurrent pulls share one durable commit (group
// commit). A pull record is stored compactly, as runs of date_added positions
// in the collection, and expanded to the INTERFACE form (every id and
// version) when read or verified.
//
// Checkpoints: one at open, then whenever 10,000 records have been added
// since the last one (in the same commit), at least every
// checkpoint_interval while records arrive, on demand (checkpoint_now), and
// at close().
//
// Threads: record(), attach(), queries and proofs from any thread. Queries
// run in their own short read transactions; none blocks on the writer, and
// the deadlock rule of object_store applies (never wait for a done() while
// holding a read_txn). done() callbacks run on the writer thread after the
// commit: they must only post work elsewhere. open() and close() belong to the
// control thread. The audit_log must be closed (or destroyed) before its
// object_store.
//
// Secrets: records hold names, addresses, collection and object ids and the
// SHA-256 of config files; never a password, token or key.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "formats/merkle.hpp"
#include "storage/object_store.hpp"

namespace cairn::storage {

// The object versions a response carried, with their positions (date_added)
// in one collection. Filled on an I/O thread while the response is built,
// in any order; duplicates are dropped.
class audit_delivery {
 public:
  void add(micros position, std::string_view id, std::string_view version);
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }

 private:
  friend class audit_log;
  struct item {
    micros position = 0;
    std::string id;
    std::string version;
  };
  std::vector<item> items_;
};

// What to record. The log adds seq, time, prev and hash.
struct audit_entry {
  std::string action;   // publish, pull, delete, denied, auth-failure, config
  std::string account;  // empty when unknown
  std::string remote;   // peer address
  std::string api_root;
  std::string collection;        // TAXII collection id, or empty
  int status = 0;                // HTTP status answered
  std::string sha256;            // config records: the file's SHA-256, hex
  std::uint64_t suppressed = 0;  // auth-failure counter records
  // Counter records: failures per account name (counts >= 1), indexed like
  // `account` so that the account filter finds them.
  std::map<std::string, std::uint64_t> accounts;
  collection_key key = 0;    // the collection of `delivered`
  audit_delivery delivered;  // pull records: the versions the response carried
};

struct audit_options {
  // The Ed25519 signing key (PKCS#8 PEM), created with mode 0600 when
  // missing, and its public key (PEM), written beside it for auditors.
  std::string key_path;
  std::string public_key_path;
  std::chrono::milliseconds checkpoint_interval{std::chrono::minutes(5)};
  std::uint64_t checkpoint_records = 10'000;
};

// The records one auditor may see: those that name no collection, and those
// of these collections (api_root, collection id) with their store keys.
struct audit_scope {
  std::set<std::pair<std::string, std::string>> collections;
  std::vector<collection_key> keys;
};

// Filters of GET /cairn/v1/audit; empty strings and nullopt match anything.
struct audit_query {
  std::string object;      // STIX id: records whose objects include it
  std::string account;     // the record's account, or a counter record's accounts
  std::string collection;  // collection id
  std::string action;
  std::optional<micros> since;  // time >= since
  std::optional<micros> until;  // time <= until
  std::uint64_t after = 0;      // paging: only records with a greater seq
  std::size_t limit = 100;      // 1..1000 records
  // Set: only records in scope, found through the collection and action
  // indexes (not a walk of the whole log) when no other index applies.
  std::optional<audit_scope> scope;
};

struct audit_page {
  std::vector<std::string> records;  // INTERFACE JSON, canonical, in seq order
  bool more = false;                 // more may match after `resume`
  std::uint64_t resume = 0;          // seq to continue after, when more
};

// Limits of one query: records examined, and objects listed in one page (a
// pull record can list 1,000 versions).
inline constexpr std::size_t max_audit_examined = 200'000;
inline constexpr std::size_t max_audit_page_objects = 100'000;
inline constexpr std::size_t max_audit_limit = 1000;

class audit_log {
 public:
  // Opens (creating if needed) the log's databases in store's environment,
  // loads or creates the signing key, records nothing, and writes a first
  // checkpoint if the log has records its latest checkpoint does not cover.
  // store must outlive the log. Blocks until the databases are open.
  static result<std::unique_ptr<audit_log>> open(object_store& store, audit_options options);
  ~audit_log();
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  // Appends a record in the writer's next commit. done (optional) gets its
  // seq once it is durable, or the error that kept it out (nothing stored).
  // An entry with an unknown action, or delivered versions without a key,
  // fails at once on this thread.
  void record(audit_entry entry, std::function<void(result<std::uint64_t>)> done = {});

  // Makes the publish also append its record, in the same transaction: every
  // version it added (by position) and every duplicate it accepted. entry
  // gives account, remote, api_root, collection and status.
  void attach(publish_request& request, audit_entry entry);
  // The same for a delete: the versions it removed.
  void attach(delete_request& request, audit_entry entry);

  // Signs a checkpoint of the whole log unless the latest already covers it;
  // done gets the latest checkpoint either way (writer thread).
  void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done);

  // The latest checkpoint, std::nullopt when there is none.
  result<std::optional<formats::audit_checkpoint>> checkpoint() const;

  // The number of records committed (the last seq).
  result<std::uint64_t> size() const;

  // Records matching q, oldest first (bounded by the limits above).
  result<audit_page> query(const audit_query& q) const;

  // One record as INTERFACE JSON; std::nullopt when seq is not in the log.
  result<std::optional<std::string>> record_json(std::uint64_t seq) const;

  // RFC 9162 inclusion proof of record seq (1-based) in the tree of the
  // first tree_size records. Requires 1 <= seq <= tree_size <= size().
  result<std::vector<formats::merkle::digest>> inclusion_proof(std::uint64_t seq,
                                                               std::uint64_t tree_size) const;
  // RFC 9162 consistency proof between the trees of the first `from` and
  // `to` records. Requires 1 <= from <= to <= size().
  result<std::vector<formats::merkle::digest>> consistency_proof(std::uint64_t from,
                                                                 std::uint64_t to) const;
  // The root of the tree of the first tree_size records (tree_size <= size()).
  result<formats::merkle::digest> root(std::uint64_t tree_size) const;

  // The signing key's public half (PEM).
  const std::string& public_key_pem() const;

  // Stops the checkpoint timer and writes a last checkpoint. Blocks on the
  // writer; idempotent. Call before the object store closes.
  void close();

 private:
  audit_log();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::storage
