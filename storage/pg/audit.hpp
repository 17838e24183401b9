#pragma once
// storage/ only: the audit log of the PostgreSQL backend (postgres_store.hpp),
// with the semantics of the LMDB log (storage/audit_log.hpp): seq without
// gaps, the hash chain over RFC 8785 bodies built by formats/audit_record.hpp
// (byte for byte the bodies the LMDB log and memory_store build), the bodies
// as the leaves of an RFC 9162 tree, signed checkpoints, and the queries of
// store.hpp's audit_query with the same limits and paging.
//
// Layout (audit_schema_sql):
//   audit              one row per record: the columns the filters read, its
//                      chain hash and leaf hash, its INTERFACE JSON, and where
//                      the versions it lists by position are (a collection
//                      key, runs of date_added positions as (start, length)
//                      pairs, and their first and last position, in a GiST
//                      index). Those versions are left out of the stored
//                      JSON's "objects" and read back, in position order, from
//                      the objects table (whose rows are never removed) when
//                      the record is read: a pull of 1,000 objects stores a
//                      few numbers, not 1,000 ids and versions (as the LMDB
//                      log does). Records without positions (imported ones,
//                      and whatever objects a record names beyond them) keep
//                      them in the JSON.
//   audit_accounts     (account, seq) for the record's account and every name
//                      of a counter record's accounts
//   audit_objects      (hash of an object id, seq) for the objects a record
//                      names without a position (duplicates of a publish,
//                      deletes, imported records)
//   audit_nodes        (height, idx) -> hash of the complete subtree of
//                      2^height leaves, for heights 8, 16, ...: any other
//                      range's hash is at most 255 stored hashes away, so no
//                      root or proof reads all leaves
//   audit_checkpoints  tree size -> checkpoint JSON
// audit_head (schema v1, storage/pg/schema.cpp) holds the last seq and its hash; append()
// locks it FOR UPDATE, so every node appends to one chain.
//
// An object query finds the object's versions' positions in the objects
// table (deleted rows stay there) and the records whose position range
// covers one of them, then checks their runs; and the records that name
// the object by id through audit_objects.
//
// Threads: an audit object is shared; its members are const but for the
// key. Each call uses the connection it is given, by one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/error.hpp"
#include "formats/merkle.hpp"
#include "storage/pg/pq.hpp"
#include "storage/store.hpp"

namespace cairn::storage::pg {

// The tables and indexes above (DDL), run by pg_init_schema in the schema
// transaction after schema v1's own tables.
extern const char* const audit_schema_sql;

struct audit_settings {
  std::uint64_t checkpoint_records = 10'000;
};

// A record to append (without seq, time, prev and hash) and, optionally,
// where its versions are: the first positions.size() objects of record are
// the versions at these date_added positions (strictly increasing) of
// collection key. Object queries find those through their positions and the
// other objects through their ids.
struct audit_append {
  formats::audit_record record;
  collection_key key = 0;
  std::vector<micros> positions;
};

// The record of store::record(entry), as memory_store and the LMDB log make
// it: the delivered versions in position order, each once, with their
// positions. Fails (nothing to append) for an unknown action, delivered
// versions without a key, and a publish, pull or delete without a
// collection.
result<audit_append> audit_append_of(const audit_entry& entry);

// The record of a publish or a delete (action "publish" or "delete"): the
// entry's account, remote, api_root, collection and status, and objects;
// the first positions.size() of them are the versions at positions of
// collection key (a publish's added versions), the rest are named by id.
audit_append audit_append_of(const audit_entry& entry, std::string_view action,
                             std::vector<formats::audit_object> objects, collection_key key = 0,
                             std::vector<micros> positions = {});

class audit {
 public:
  audit(formats::ed25519_key key, audit_settings s);

  // Inside the writer's transaction (after any collection row locks): locks
  // audit_head, gives seqs (no gaps) and times (max(now, the last record's),
  // never backwards), builds bodies, prev and hashes, inserts the records
  // and their index entries and tree nodes in one statement, moves the head,
  // and signs a checkpoint when checkpoint_records were added since the
  // last one. The seqs given, in order. On error the caller rolls back.
  result<std::vector<std::uint64_t>> append(pq::connection& c,
                                            std::vector<formats::audit_record> records, micros now);
  result<std::vector<std::uint64_t>> append(pq::connection& c, std::vector<audit_append> records,
                                            micros now);

  // Inside a writer transaction: a checkpoint of the whole log unless the
  // latest covers it (then that one). errc::not_found for an empty log.
  result<formats::audit_checkpoint> checkpoint_now(pq::connection& c, micros now);

  // Reads, each on a connection the caller leased, inside a transaction or
  // not: each reads one statement's snapshot, or rows that never change once
  // committed (records, nodes) after reading the log's size.
  result<audit_page> query(pq::connection& c, const audit_query& q) const;
  // Delivery statistics from the audit_stats table (schema_audit_v2.cpp),
  // kept by append() and the importer in their transactions.
  result<std::vector<audit_stats_point>> stats(pq::connection& c, const audit_stats_query& q) const;
  result<std::optional<std::string>> record_json(pq::connection& c, std::uint64_t seq) const;
  result<std::uint64_t> size(pq::connection& c) const;
  result<std::optional<formats::audit_checkpoint>> checkpoint(pq::connection& c) const;
  result<std::vector<formats::merkle::digest>> inclusion_proof(pq::connection& c, std::uint64_t seq,
                                                               std::uint64_t tree_size) const;
  result<std::vector<formats::merkle::digest>> consistency_proof(pq::connection& c,
                                                                 std::uint64_t from,
                                                                 std::uint64_t to) const;
  result<formats::merkle::digest> root(pq::connection& c, std::uint64_t tree_size) const;

  const std::string& public_key_pem() const { return public_pem_; }

 private:
  result<formats::audit_checkpoint> sign(pq::connection& c, std::uint64_t size,
                                         const formats::merkle::digest& root,
                                         const formats::merkle::digest& chain, micros now) const;
  formats::ed25519_key key_;
  std::string public_pem_;
  audit_settings settings_;
};

// The audit part of cairnd migrate (pg_importer): records as INTERFACE JSON
// (with prev and hash) in seq order from 1, and checkpoints as they were,
// inside the importer's transaction on c. Records are checked as they come
// (seq, prev, hash, canonical form: record_json gives them back byte for
// byte) and written in batches; finish() writes the rest, checks that every
// checkpoint's root and chain hash match the tree, and sets audit_head. The
// caller commits (or rolls back on any error).
class audit_importer {
 public:
  explicit audit_importer(pq::connection& c);
  ~audit_importer();
  audit_importer(const audit_importer&) = delete;
  audit_importer& operator=(const audit_importer&) = delete;

  result<void> record(std::string_view record_json);
  result<void> checkpoint(const formats::audit_checkpoint& c);
  result<void> finish();

  std::uint64_t records() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::storage::pg
