#pragma once
// The PostgreSQL backend of the storage seam (store.hpp): objects, statuses
// and the audit log in one PostgreSQL 15 database that many cairnd
// processes (nodes) share. INTERFACE.md, "Round 2 additions / Storage
// backends", is the contract.
//
// Several nodes, one exchange:
// - date_added is unique and strictly increasing per collection across all
//   nodes, and versions become visible in date_added order: a write takes
//   its collections' rows FOR UPDATE (in key order) and holds them to its
//   commit, so a later date_added never commits before an earlier one.
// - One audit log: every record append takes the log's head row FOR UPDATE
//   (after any collection rows), so seq has no gaps and the hash chain is
//   one chain whichever node wrote a record.
// - Each node batches the writes queued while its previous commit ran into
//   one transaction (group commit), as the LMDB writer does.
//
// Durability: a done() that reports success means PostgreSQL committed the
// transaction (synchronous_commit as the database is configured; on is the
// default and what the guarantees assume).
//
// Faults: when the database cannot be reached, writes fail with
// errc::unavailable (nothing of them stored), readers report it through
// last_error(), healthy() turns false and the store reconnects by itself.
//
// Security: every statement is prepared and takes request text only as
// parameters. The password comes from options.password (the config's
// password_file) or libpq's own means; it is never logged.
//
// No libpq type appears here: server/ opens the store through this header
// and uses it through store.hpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "storage/audit_verifier.hpp"
#include "storage/control.hpp"
#include "storage/store.hpp"
#include "storage/store_sink.hpp"

namespace cairn::storage {

// The schema version this build reads and writes.
inline constexpr int pg_schema_version = 2;

struct pg_options {
  std::string conninfo;    // libpq connection string
  std::string password;    // from the config's password_file; empty: libpq's own means
  unsigned pool_size = 8;  // connections for reads; the writer has one more of its own
  std::chrono::milliseconds connect_timeout{5000};     // one connection attempt
  std::chrono::milliseconds acquire_timeout{5000};     // waiting for a pooled connection
  std::chrono::milliseconds statement_timeout{30000};  // set on every connection
  // Told of events worth a log line (lost and regained connections). Optional.
  std::function<void(std::string_view)> notice;
};

struct pg_store_options : pg_options {
  // The audit signing key (PKCS#8 PEM) in the node's data_dir. It must
  // exist (cairnd db init creates it) and its public half must be the one
  // recorded in the database, or the node refuses to start.
  std::string key_path;
  std::chrono::milliseconds checkpoint_interval{std::chrono::minutes(5)};
  std::uint64_t checkpoint_records = 10'000;
  micros status_retention = micros{48} * 3600 * 1'000'000;  // at least 24 h (TAXII 4.3)
  unsigned max_collections = 1000;
  std::function<micros()> clock;  // tests: date_added, audit times, status expiry
  // Tests: called on the writer thread before each COMMIT; a non-zero errno
  // value fails the whole transaction as a failed commit would (ENOSPC,
  // EDQUOT: errc::storage_full, others errc::unavailable).
  std::function<int()> before_commit;
};

enum class pg_init_outcome { created, already_current, upgraded };

// Creates the schema (version pg_schema_version) in an empty database and
// records public_key_pem as the deployment's audit key. A database already
// at this version: already_current (its version unchanged; a different
// recorded key is an error; an index added within the version, such as
// statuses_by_owner, is created when missing). An older version: upgraded to this one in the same
// transaction (version 1 -> 2: the observable index, the control tables and
// the audit statistics). A newer version: an error naming both versions.
result<pg_init_outcome> pg_init_schema(const pg_options& options, std::string_view public_key_pem);

// Opens the store: checks the schema version (an unknown one is refused,
// with both versions in the message), loads the signing key and checks it
// against the recorded public key, starts the writer, and signs a
// checkpoint if the log grew after its last one.
result<std::unique_ptr<store>> open_pg_store(const pg_store_options& options);

// Fills an initialised, empty database from another store (cairnd
// migrate): the parts as store_sink says, the audit records byte for byte
// (the same seq, bodies and hashes) and the checkpoints as they were.
// finish() checks that the chain is intact and that every checkpoint's root
// and chain hash match the tree, sets each collection's last date_added and
// the log's head, and commits everything in one transaction; before it,
// nothing is visible, and a failure leaves the database empty.
class pg_importer : public store_sink {
 public:
  virtual result<void> finish() = 0;
};

// Fails unless the database is initialised at pg_schema_version and holds
// no collection, object, status or audit record.
result<std::unique_ptr<pg_importer>> open_pg_importer(const pg_options& options);

// The control store (storage/control.hpp) in the deployment's database
// (tables suspensions and control_state, schema version 2): shared by every
// node. Fails when the database cannot be reached or has no such tables.
result<std::unique_ptr<control_store>> open_pg_control(const pg_options& options);

// cairnd audit verify --config: walks the deployment's audit log in the
// database (one snapshot), recomputes the chain and the tree, and checks
// every checkpoint's root, chain hash and signature against public_key_pem.
result<audit_verdict> verify_pg_audit_log(const pg_options& options,
                                          std::string_view public_key_pem);

}  // namespace cairn::storage
