#pragma once
// The object store: STIX objects per collection in LMDB, kept apart per TLP
// level in date_added order (so that a reader reads only the levels it may
// receive), with a by-id index and TAXII status resources.
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
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/taxii.hpp"
#include "formats/time.hpp"
#include "formats/tlp.hpp"

namespace cairn::storage {

struct store_faults;  // storage/faults.hpp: test seams
struct store_access;  // storage/store_access.hpp: for the rest of storage/ only
namespace lmdb {
class txn;
struct error;
}  // namespace lmdb

using collection_key = std::uint32_t;
using formats::micros;

struct store_options {
  std::string path;                                 // data directory (created if missing)
  std::size_t map_size = std::size_t{1} << 30;      // initial LMDB map size
  std::size_t max_map_size = std::size_t{1} << 40;  // the map never grows beyond this
  unsigned max_readers = 510;
  micros status_retention = micros{48} * 3600 * 1'000'000;  // at least 24 h (TAXII 4.3)
  unsigned max_collections = 1000;                          // collection keys run from 1 to this
  std::shared_ptr<store_faults> faults;                     // tests only: fault injection and clock
  // Told, during open() only, of one-off events worth a log line (a store
  // migrated to the current layout). Optional.
  std::function<void(std::string_view)> notice;
};

// Counters, for health reporting and tests.
struct store_stats {
  std::uint64_t commits = 0;         // durable commits of write transactions
  std::uint64_t failed_commits = 0;  // commits that failed (nothing acknowledged)
  std::uint64_t jobs = 0;            // write jobs completed, successfully or not
  std::uint64_t map_resizes = 0;
  std::uint64_t statuses_purged = 0;  // expired statuses removed
};

// One validated object to store.
struct new_object {
  std::string id;            // "indicator--<uuid>"
  std::string type;          // "indicator"
  std::string version;       // STIX modified, else created, else empty (see publish())
  std::string spec_version;  // "2.1"
  formats::tlp_level tlp = formats::tlp_level::amber;  // resolved at ingest
  std::string json;                                    // minified JSON of the object
};

// A stored object version. The string_views point into the LMDB map and are
// valid only while the read_txn that produced them is alive.
struct object_record {
  collection_key collection = 0;
  micros date_added = 0;  // unique and strictly increasing per collection
  std::string_view id;
  std::string_view version;  // as published (or the assigned value, see publish())
  std::string_view spec_version;
  std::string_view publisher;  // account name that published this version
  formats::tlp_level tlp = formats::tlp_level::amber;
  std::string_view json;
  // Set when this version was stored while another copy of its (id,
  // version) was live: see read_txn::earlier_copy().
  bool later_copy = false;
  // With later_copy: it was published without a version (its version was
  // assigned) while another version of its id was live, so its copies are
  // the id's other versions (an object without a version is a duplicate of
  // any version of its id).
  bool id_copy = false;
};

using formats::status_detail;

// A TAXII status resource as stored.
struct status_record {
  std::string id;     // UUIDv4
  std::string owner;  // account that made the request; only it may read the status
  std::string api_root;
  micros request_timestamp = 0;
  std::vector<status_detail> successes;
  std::vector<status_detail> failures;
  std::vector<status_detail> pendings;
  bool complete() const { return pendings.empty(); }
};

struct publish_outcome;

// storage/ only (the audit log): work done in the same write transaction as a
// publish or a remove, after its own writes, so that both commit together or
// not at all. Runs on the writer thread, perhaps more than once (a batch is
// run again after the map grew). An error fails the whole job.
using publish_companion =
    std::function<std::expected<void, lmdb::error>(lmdb::txn&, const publish_outcome&)>;
using remove_companion = std::function<std::expected<void, lmdb::error>(
    lmdb::txn&, const std::vector<micros>& removed_positions)>;

struct publish_request {
  collection_key collection = 0;
  std::string publisher;
  std::vector<new_object> objects;
  // Filled in by the caller: id, owner, api_root, request_timestamp and the
  // failures it already found (objects that did not validate). The writer adds
  // one success per stored or duplicate object and stores the status in the
  // same commit.
  status_record status;
  publish_companion companion;  // optional
  // Optional: when set, only a stored version for which it returns true
  // makes an object a duplicate. The server passes its sharing policy, so
  // that a version the publisher may not receive neither swallows the
  // publish nor shows through the status (the object is stored as the
  // publisher's own, a second copy of that (id, version), marked as a later
  // copy: see object_record::later_copy). Runs on the writer thread; the
  // record's views die with the call.
  std::function<bool(const object_record&)> duplicate_if;
  // When set, the job gets a commit of its own. The server sets it when the
  // publisher sends versions above its own clearance: it receives those, and
  // in a shared commit, numbered by level, the other publishers' versions of
  // the levels in between (withheld from it) would lie between its own.
  bool own_commit = false;
};

// date_added: the new versions of one commit (all the publish jobs that
// share it) are numbered together, per collection, in ascending TLP level
// order (within a level: job order, then request order), from
// max(now, last given out + 1) on. So for any clearance, the versions it may
// receive from one commit have consecutive positions and every version above
// it comes after them: the gaps an account sees never count withheld
// versions. Between commits the gap is set by the clock: writing a version
// costs more than a microsecond of wall time, so the next commit's start is
// its time, not the last position plus one. (A job that fails after the
// commit was numbered, in a batch that goes on without it, leaves its
// positions unused: they are of its own levels only.)
struct publish_outcome {
  // As read_txn::status() returns it: successes are the added versions in
  // date_added order, then the request's own successes and the duplicates.
  status_record status;
  std::size_t added = 0;        // new versions written
  std::size_t duplicates = 0;   // versions that were already there (a success, TAXII 5.5)
  micros first_date_added = 0;  // of the added versions; 0 when none
  micros last_date_added = 0;
  // Of the added versions, ascending. Not always one range: versions of
  // other publishes in the same commit may lie between them.
  std::vector<micros> added_positions;
};

// Versions to delete, by their date_added positions (found by the caller in
// a read_txn). Positions already deleted are skipped.
struct delete_request {
  collection_key collection = 0;
  std::vector<micros> positions;
  remove_companion companion{};  // optional; gets the positions this job deleted
};

// What one reader may receive (the sharing policy of server/policy.hpp):
// every version at or below max_level, and the versions it published itself.
struct visibility {
  formats::tlp_level max_level = formats::tlp_level::red;
  std::string_view publisher;  // empty: none beyond max_level
};

class read_txn;

class object_store {
 public:
  // Opens (creating if needed) the LMDB environment under options.path, clears
  // stale reader slots and starts the writer thread.
  static result<std::unique_ptr<object_store>> open(const store_options& options);
  ~object_store();  // drains the queue, commits, stops the writer, closes the env
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

  // Stops accepting jobs; already queued jobs are committed. Idempotent.
  void close();

  // Any thread. Blocks while the map is being grown, or while max_readers
  // read_txns are alive. If LMDB cannot begin the txn (a broken environment),
  // the read_txn finds nothing and its last_error() says why.
  read_txn begin_read() const;

  // The current map size and the bytes in use, for health and tests.
  std::size_t map_size() const;
  std::size_t used_bytes() const;

  store_stats stats() const;

  // storage/ only: the environment, writer and databases, for the audit log.
  store_access access() const;

 private:
  object_store();
  friend class read_txn;
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One LMDB read transaction: a consistent snapshot. Move-only.
class read_txn {
 public:
  read_txn(read_txn&&) noexcept;
  read_txn& operator=(read_txn&&) noexcept;
  ~read_txn();

  // Calls fn for each live version in the collection with date_added > after,
  // in date_added order, until fn returns false.
  void scan(collection_key c, micros after,
            const std::function<bool(const object_record&)>& fn) const;
  // The same for the versions `who` may receive only. Versions above
  // who.max_level that `who` did not publish are never read: a page costs
  // the same whatever is withheld (one cursor per visible level, and an
  // index of who's own versions above max_level).
  void scan(collection_key c, micros after, const visibility& who,
            const std::function<bool(const object_record&)>& fn) const;

  // Calls fn for each live version of one object, oldest version first
  // (STIX timestamp order), until fn returns false.
  void versions(collection_key c, std::string_view object_id,
                const std::function<bool(const object_record&)>& fn) const;

  // The live version at a date_added position.
  std::optional<object_record> at(collection_key c, micros date_added) const;

  // Whether this live version is the first and/or the last live version of
  // its object (for match[version]=first/last), in the order of versions().
  // With counts, only the other versions for which it returns true are
  // considered (say, those an account may receive); r itself always is.
  // Other copies of r's own version (same STIX timestamp) are r's version,
  // neither before nor after it: they are skipped unread.
  struct rank {
    bool first = false;
    bool last = false;
  };
  rank version_rank(const object_record& r,
                    const std::function<bool(const object_record&)>& counts = {}) const;

  // Whether a live copy of r's version (same object id, same STIX
  // timestamp; for r.id_copy, any version of its id) was stored before r (one not marked as a later
  // copy, or one marked at a lower date_added: within one commit positions follow TLP levels, not
  // the order in which copies were stored) and passes counts (any copy, when counts is empty). A
  // reader that may receive such a copy treats r as absent: of the copies of one version, each
  // reader sees the first it may receive. Returns false at once, reading nothing, when r.later_copy
  // is not set (no copy existed when r was stored).
  bool earlier_copy(const object_record& r,
                    const std::function<bool(const object_record&)>& counts = {}) const;

  // The stored status, or std::nullopt (unknown or expired).
  std::optional<status_record> status(std::string_view status_id) const;

  // Object records this txn has read so far (live or not), for tests and
  // benchmarks of what a read costs.
  std::uint64_t records_read() const;

  // The first LMDB error any read of this txn met (a damaged store); reads
  // that met one behave as if the data were absent. std::nullopt normally.
  const std::optional<error>& last_error() const;

 private:
  friend class object_store;
  read_txn();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::storage
