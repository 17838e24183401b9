#pragma once
// The sharing record: who published, received, deleted or was refused what,
// as the tamper-evident log of INTERFACE.md ("An audit record"): seq without
// gaps, a hash chain over the records' RFC 8785 bodies, the bodies as the
// leaves of an RFC 9162 Merkle tree, and checkpoints signed with an Ed25519
// key kept beside the store.
//
// storage/ only (server/ uses store.hpp). Storage: named databases of a
// storage::database, which the object store shares, written by its single
// writer (storage/audit_codec.hpp has the layout). So a publish or a delete
// and its record commit in one transaction (lmdb_store runs the publish job
// and write_publish_record() in one job), and the records of many
// concurrent pulls share one durable commit (group commit). A pull record is stored compactly, as
// runs of date_added positions in the collection, and expanded to the INTERFACE form (every id and
// version) when read or verified.
//
// Checkpoints: one at open, then whenever 10,000 records have been added
// since the last one (in the same commit), at least every
// checkpoint_interval while records arrive, on demand (checkpoint_now), and
// at close().
//
// Threads: record(), queries and proofs from any thread; the
// write_*_record() calls on the writer thread, inside a job. Queries
// run in their own short read transactions; none blocks on the writer, and
// the deadlock rule of object_store applies (never wait for a done() while
// holding a read_txn). done() callbacks run on the writer thread after the
// commit: they must only post work elsewhere. open() and close() belong to the
// control thread. The audit_log must be closed (or destroyed) before its
// database's writer stops.
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
#include <utility>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "formats/merkle.hpp"
#include "storage/lmdb.hpp"
#include "storage/store.hpp"

namespace cairn::storage {

class database;  // storage/database.hpp

struct audit_options {
  // The Ed25519 signing key (PKCS#8 PEM), created with mode 0600 when
  // missing, and its public key (PEM), written beside it for auditors.
  std::string key_path;
  std::string public_key_path;
  std::chrono::milliseconds checkpoint_interval{std::chrono::minutes(5)};
  std::uint64_t checkpoint_records = 10'000;
  // Told, during open only, of one-off work worth a log line (indexing the
  // delivery statistics of a log written before that index). Optional.
  std::function<void(std::string_view)> notice;
};

class audit_log {
 public:
  // The named databases the log opens in its database.
  static constexpr unsigned databases = 16;

  // What the log reads of the objects, given by the owner of both (the
  // object store's, in lmdb_store).
  struct sources {
    // The objects database of a collection (a zero handle when unknown):
    // pull, publish and delete records are stored as positions in it and
    // expanded to ids and versions when read.
    std::function<lmdb::dbi(collection_key)> objects;
    // The positions of an object's live versions in each of these
    // collections, for object queries. Any thread; a snapshot of its own.
    std::function<result<std::vector<std::pair<collection_key, micros>>>(
        std::string_view object_id, const std::vector<collection_key>& keys)>
        live_versions;
  };

  // Opens (creating if needed) the log's databases in db, whose writer must
  // be running, loads or creates the signing key, records nothing, and
  // writes a first checkpoint if the log has records its latest checkpoint
  // does not cover. Blocks until the databases are open.
  static result<std::unique_ptr<audit_log>> open(std::shared_ptr<database> db,
                                                 audit_options options, sources from);
  ~audit_log();
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  // Appends a record in the writer's next commit. done (optional) gets its
  // seq once it is durable, or the error that kept it out (nothing stored).
  // An entry with an unknown action, delivered versions without a key, or
  // alert members that formats::check_alert_members() refuses, fails at
  // once on this thread.
  void record(audit_entry entry, std::function<void(result<std::uint64_t>)> done = {});

  // Appends the record of a publish in t, the publish's own transaction,
  // after its writes: every version it added (by position) and every
  // duplicate it accepted. entry gives account, remote, api_root,
  // collection and status. Writer thread; may run more than once for one
  // publish (a batch is re-run after the map grew), each run starting over.
  lmdb::status write_publish_record(lmdb::txn& t, const audit_entry& entry, collection_key c,
                                    const publish_outcome& out);
  // The same for a delete: the versions it removed.
  lmdb::status write_delete_record(lmdb::txn& t, const audit_entry& entry, collection_key c,
                                   const std::vector<micros>& removed);

  // Signs a checkpoint of the whole log unless the latest already covers it;
  // done gets the latest checkpoint either way (writer thread).
  void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done);

  // The latest checkpoint, std::nullopt when there is none.
  result<std::optional<formats::audit_checkpoint>> checkpoint() const;

  // The number of records committed (the last seq).
  result<std::uint64_t> size() const;

  // Records matching q, oldest first (bounded by the limits above).
  result<audit_page> query(const audit_query& q) const;

  // Delivery statistics (store::audit_stats) from the audit_stats index
  // (storage/audit_stats.hpp), examining at most max_audit_examined hour
  // counters.
  result<std::vector<audit_stats_point>> stats(const audit_stats_query& q) const;

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
