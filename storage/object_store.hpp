#pragma once
// storage/ only (server/ uses store.hpp): the object store, STIX objects per
// collection in LMDB, kept apart per TLP level in date_added order (so that a
// reader reads only the levels it may receive), with a by-id index and TAXII
// status resources. Built on storage::database (database.hpp), which it
// shares with the audit log.
//
// Threading: open() once; begin_read() from any thread (each read_txn is used
// by one thread at a time and must not outlive the store; never hold one across
// an async wait). All writes go through one writer thread that batches queued
// jobs into a single durable LMDB commit (group commit); a job's callback runs
// on the writer thread after that commit, so it must only post work elsewhere.
//
// Durability: commits are synchronous (no MDB_NOSYNC, MDB_NOMETASYNC,
// MDB_MAPASYNC or MDB_WRITEMAP). A callback that reports success means the
// data is on disk. When the map is full, the batch is aborted, the map grown
// (up to options.max_map_size) and the batch re-run; nothing is half-written.
// At max_map_size, the jobs that do not fit fail with "storage full"; reads
// and smaller jobs go on.
//
// Deadlock rule: a thread holding a read_txn must not block waiting for the
// writer (collection(), or waiting for a done() callback): growing the map
// waits for every read_txn to end.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "storage/database.hpp"
#include "storage/lmdb.hpp"
#include "storage/lmdb_options.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

namespace cairn::storage {

struct store_faults;  // storage/faults.hpp: test seams
class database;       // storage/database.hpp

// The types of publish(), remove() and reads are those of the seam
// (store.hpp). About date_added within one commit: the new versions of all
// the publish jobs that share it are numbered together (within a level: job
// order, then request order), so the gaps an account sees never count
// withheld versions. Between commits the gap is set by the clock: writing a
// version costs more than a microsecond of wall time, so the next commit's
// start is its time, not the last position plus one. (A job that fails
// after the commit was numbered, in a batch that goes on without it, leaves
// its positions unused: they are of its own levels only.) A publish with
// own_commit gets a commit of its own: the server sets it when the publisher
// sends versions above its own clearance, which it receives, and in a shared
// commit, numbered by level, the other publishers' versions of the levels
// in between (withheld from it) would lie between its own.

// A publish as a write job, for a job of the caller's that writes more in
// the same transaction (lmdb_store adds the audit record). complete()
// hands outcome() (or the failure) to the publish's done.
class publish_job : public write_job {
 public:
  // What the last successful run() did.
  virtual const publish_outcome& outcome() const = 0;
};

// The same for a delete: the positions the last successful run() deleted.
class remove_job : public write_job {
 public:
  virtual const std::vector<micros>& removed() const = 0;
};

class read_txn;

class object_store {
 public:
  // The named databases the store needs besides objects/<key>, with room to
  // spare, and in all for max_collections (database_options::max_databases).
  static constexpr unsigned fixed_databases = 16;
  // The environment options for a store with these options and `extra`
  // databases beside the object store's own; fails for a max_collections
  // out of range.
  static result<database_options> environment(const store_options& options, unsigned extra = 0);

  static constexpr unsigned databases(unsigned max_collections) {
    return fixed_databases + max_collections;
  }

  // Opens (creating or migrating) the store's databases in db, whose writer
  // must not be running yet (the caller start()s it). db's path, map sizes,
  // readers and faults come from the caller; options gives the rest.
  static result<std::unique_ptr<object_store>> open(std::shared_ptr<database> db,
                                                    const store_options& options);
  // A store alone in its own environment under options.path (no audit log:
  // tests and benchmarks), with its writer started.
  static result<std::unique_ptr<object_store>> open(const store_options& options);
  ~object_store();  // closes the database when it is the store's own
  object_store(const object_store&) = delete;
  object_store& operator=(const object_store&) = delete;

  // The key of a collection (by its TAXII id), assigned on first use and
  // kept in the meta database. Blocks until durable; control plane only.
  // Fails for an empty id or one over 256 bytes, when max_collections keys
  // are taken, and when called on the writer thread (from a done()).
  result<collection_key> collection(std::string_view collection_id);

  // Adds the objects. An object whose (id, version) is already stored in the
  // collection is a duplicate: kept as it was, reported as a success. An
  // object with an empty version (an SCO without created/modified) is a
  // duplicate when its id is already stored; otherwise its version is its
  // date_added, written as a TAXII timestamp. done() runs on the writer thread.
  // An object whose id is empty or longer than 300 bytes, or whose version is
  // not a STIX timestamp, becomes a failure in the status. A request.status
  // with an empty id is not stored. The whole job fails (done() gets an
  // error, nothing is stored) for an unknown collection key, a failed commit
  // or "storage full". After close(), done() runs at once on the calling
  // thread with an error.
  void publish(publish_request request, std::function<void(result<publish_outcome>)> done);

  // Marks the versions at the given positions deleted: they vanish from every
  // read below. done() gets the number of versions deleted. Threads and
  // failures as for publish().
  void remove(delete_request request, std::function<void(result<std::size_t>)> done);

  // The jobs publish() and remove() submit, for a job of the caller's that
  // runs them first (see publish_job). The job must not outlive the store.
  std::unique_ptr<publish_job> publish_job_of(publish_request request,
                                              std::function<void(result<publish_outcome>)> done);
  std::unique_ptr<remove_job> remove_job_of(delete_request request,
                                            std::function<void(result<std::size_t>)> done);
  // Starts a purge of expired statuses when one is due (publish() does).
  void maybe_purge();

  // The objects database of a collection, or a zero handle when the key is
  // unknown; valid in every txn that began after the key was handed out.
  lmdb::dbi objects_database(collection_key c) const;

  // For a store alone in its database (open(options)): stops accepting
  // jobs; already queued jobs are committed. Idempotent. A shared database
  // is closed by its owner (lmdb_store).
  void close();

  // Any thread. Blocks while the map is being grown, or while max_readers
  // read_txns are alive. If LMDB cannot begin the txn (a broken environment),
  // the read_txn finds nothing and its last_error() says why.
  read_txn begin_read() const;

  // The current map size and the bytes in use, for health and tests.
  std::size_t map_size() const;
  std::size_t used_bytes() const;

  store_stats stats() const;

 private:
  object_store();
  friend class read_txn;
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One LMDB read transaction: a consistent snapshot, and the seam's reader.
// Move-only.
class read_txn final : public reader {
 public:
  read_txn(read_txn&&) noexcept;
  read_txn& operator=(read_txn&&) noexcept;
  ~read_txn() override;

  // Calls fn for each live version in the collection with date_added > after,
  // in date_added order, until fn returns false.
  void scan(collection_key c, micros after,
            const std::function<bool(const object_record&)>& fn) const;
  // The same for the versions `who` may receive only. Versions above
  // who.max_level that `who` did not publish are never read: a page costs
  // the same whatever is withheld (one cursor per visible level, and an
  // index of who's own versions above max_level).
  void scan(collection_key c, micros after, const visibility& who,
            const record_fn& fn) const override;

  // Calls fn for each live version of one object, oldest version first
  // (STIX timestamp order), until fn returns false.
  void versions(collection_key c, std::string_view object_id, const record_fn& fn) const override;

  // The live version at a date_added position.
  std::optional<object_record> at(collection_key c, micros date_added) const override;

  // Whether this live version is the first and/or the last live version of
  // its object (for match[version]=first/last), in the order of versions().
  // With counts, only the other versions for which it returns true are
  // considered (say, those an account may receive); r itself always is.
  // Other copies of r's own version (same STIX timestamp) are r's version,
  // neither before nor after it: they are skipped unread.
  rank version_rank(const object_record& r, const record_fn& counts = {}) const override;

  // Whether a live copy of r's version (same object id, same STIX
  // timestamp; for r.id_copy, any version of its id) was stored before r (one not marked as a later
  // copy, or one marked at a lower date_added: within one commit positions follow TLP levels, not
  // the order in which copies were stored) and passes counts (any copy, when counts is empty). A
  // reader that may receive such a copy treats r as absent: of the copies of one version, each
  // reader sees the first it may receive. Returns false at once, reading nothing, when r.later_copy
  // is not set (no copy existed when r was stored).
  bool earlier_copy(const object_record& r, const record_fn& counts = {}) const override;

  // The observable index (one database, keys collection | kind | value |
  // date_added): exact probes, and one probe per shorter prefix for the
  // CIDRs containing an address.
  void lookup(std::span<const collection_key> cs, formats::observable_kind k,
              std::string_view value, const visibility& who,
              const observable_fn& fn) const override;
  void exportable_values(collection_key c, std::span<const formats::observable_kind> kinds,
                         const visibility& who, const observable_fn& fn) const override;
  // The last position given out plus the number of versions deleted: both
  // only grow, and every publish that adds or delete that removes grows one.
  std::uint64_t collection_generation(collection_key c) const override;

  // The stored status, or std::nullopt (unknown or expired).
  std::optional<status_record> status(std::string_view status_id) const override;

  // From the status_owner index, backwards from the cursor: reads no
  // status record.
  status_page owned_statuses(std::string_view owner, const std::optional<status_cursor>& after,
                             std::size_t limit) const override;

  // Object records this txn has read so far (live or not), for tests and
  // benchmarks of what a read costs.
  std::uint64_t records_read() const override;

  // The first LMDB error any read of this txn met (a damaged store); reads
  // that met one behave as if the data were absent. std::nullopt normally.
  const std::optional<error>& last_error() const override;

 private:
  friend class object_store;
  read_txn();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::storage
