#pragma once
// The storage seam: everything server/ asks of storage, as one interface that
// the embedded LMDB backend (storage/lmdb_store.hpp), the PostgreSQL
// backend (storage/postgres_store.hpp) and the in-memory fake of the API
// tests implement.
//
// One store holds the STIX objects of every collection, the TAXII status
// resources and the sharing record (the audit log of INTERFACE.md). A publish
// or a delete and its audit record are one call and one transaction: both are
// stored or neither.
//
// Threads: every member from any thread. Writes complete through callbacks
// that run on a thread of the store's (the writer): they must only post work
// elsewhere and never block on the store. A reader is a consistent snapshot,
// used by one thread at a time; it must not outlive the store, nor be held
// across an async wait, nor be held while waiting for a write's callback.
//
// Types here are plain data: no backend type appears in this header.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "formats/merkle.hpp"
#include "formats/observables.hpp"
#include "formats/taxii.hpp"
#include "formats/time.hpp"
#include "formats/tlp.hpp"

namespace cairn::storage {

using collection_key = std::uint32_t;
using formats::micros;
using formats::status_detail;

// ---------------------------------------------------------------- objects

// One validated object to store.
struct new_object {
  std::string id;            // "indicator--<uuid>"
  std::string type;          // "indicator"
  std::string version;       // STIX modified, else created, else empty (see store::publish())
  std::string spec_version;  // "2.1"
  formats::tlp_level tlp = formats::tlp_level::amber;  // resolved at ingest
  std::string json;                                    // minified JSON of the object
  // The observable values to index with this version (indicators' pattern
  // comparisons, SCOs' values: formats/observables.hpp), filled at ingest.
  // Stored in the same transaction as the version.
  std::vector<formats::observable> observables;
};

// A stored object version. The string_views are valid only while the reader
// that produced them is alive.
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
  // version) was live: see reader::earlier_copy().
  bool later_copy = false;
  // With later_copy: it was published without a version (its version was
  // assigned) while another version of its id was live, so its copies are
  // the id's other versions.
  bool id_copy = false;
  // The store knows that no later version of this object (a later STIX
  // timestamp; copies of this version are not later) exists in this
  // collection, at any level, from any publisher: then this version is the
  // last of every reader's, and reader::version_rank() need not be asked for
  // "last". False when the backend cannot tell (older records, other
  // backends); readers then rank as before.
  bool newest = false;
};

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

// One stored status as GET /cairn/v1/statuses lists it: the counts of its
// lists, not the lists (read through reader::status()).
struct status_summary {
  std::string id;
  std::string api_root;
  micros request_timestamp = 0;
  std::size_t successes = 0;
  std::size_t failures = 0;
  std::size_t pendings = 0;
  bool complete() const { return pendings == 0; }
  std::size_t total() const { return successes + failures + pendings; }
  bool operator==(const status_summary&) const = default;
};

// Where a listing of an owner's statuses goes on: after the status with this
// request_timestamp and id (in newest first order).
struct status_cursor {
  micros request_timestamp = 0;
  std::string id;
  bool operator==(const status_cursor&) const = default;
};

struct status_page {
  std::vector<status_summary> statuses;  // newest first
  bool more = false;                     // more may follow `resume`
  status_cursor resume;                  // the last listed, when more
};

// The most statuses one reader::owned_statuses() call lists.
inline constexpr std::size_t max_status_page = 100;

struct publish_request {
  collection_key collection = 0;
  std::string publisher;
  std::vector<new_object> objects;
  // Filled in by the caller: id, owner, api_root, request_timestamp and the
  // failures it already found (objects that did not validate). The store adds
  // one success per stored or duplicate object and stores the status in the
  // same transaction. A status with an empty id is not stored.
  status_record status;
  // Optional: when set, only a stored version for which it returns true
  // makes an object a duplicate (the server passes its sharing policy, so
  // that a version the publisher may not receive neither swallows the
  // publish nor shows through the status; the object is then stored as a
  // later copy). Runs on the writer thread; the record's views die with the
  // call.
  std::function<bool(const object_record&)> duplicate_if;
  // When set, the job gets a transaction of its own (a publisher sending
  // versions above its own clearance: see the date_added rule below).
  bool own_commit = false;
};

// date_added: the new versions of one transaction are numbered together, per
// collection, in ascending TLP level order (within a level: request order,
// then object order), from max(now, last given out + 1) on. So for any
// clearance, the versions it may receive from one transaction have
// consecutive positions and every version above it comes after them.
struct publish_outcome {
  // As reader::status() returns it: successes are the added versions in
  // date_added order, then the request's own successes and the duplicates.
  status_record status;
  std::size_t added = 0;        // new versions written
  std::size_t duplicates = 0;   // versions that were already there (a success, TAXII 5.5)
  micros first_date_added = 0;  // of the added versions; 0 when none
  micros last_date_added = 0;
  std::vector<micros> added_positions;  // ascending
};

// Versions to delete, by their date_added positions (found by the caller in
// a reader). Positions already deleted are skipped.
struct delete_request {
  collection_key collection = 0;
  std::vector<micros> positions;
};

// What one reader may receive (the sharing policy of the server): every
// version at or below max_level, and the versions it published itself.
struct visibility {
  formats::tlp_level max_level = formats::tlp_level::red;
  std::string_view publisher;  // empty: none beyond max_level
};

// ---------------------------------------------------------------- audit

// The object versions a response carried, with their positions (date_added)
// in one collection. Filled while the response is built, in any order;
// duplicates are dropped when stored.
struct audit_delivery {
  struct item {
    micros position = 0;
    std::string id;
    std::string version;
  };
  std::vector<item> items;

  void add(micros position, std::string_view id, std::string_view version) {
    items.push_back({position, std::string(id), std::string(version)});
  }
  bool empty() const { return items.empty(); }
  std::size_t size() const { return items.size(); }
};

// What to record. The store adds seq, time, prev and hash. A publish's or a
// delete's entry gets the versions the store added, accepted as duplicates
// or removed.
struct audit_entry {
  std::string action;   // publish, pull, delete, denied, auth-failure, config, alert
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
  // Alert records (action "alert"): the alert's kind (formats::alert_kinds),
  // a sentence for people, and the seq numbers of the records that raised it
  // (the store sorts them and drops repeats; at most
  // formats::max_alert_evidence). An alert names no collection and delivers
  // nothing.
  std::string kind;
  std::string detail;
  std::vector<std::uint64_t> evidence;
  collection_key key = 0;    // the collection of `delivered`
  audit_delivery delivered;  // pull records: the versions the response carried
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
  std::string kind;             // alert records of this kind (implies action "alert")
  std::optional<micros> since;  // time >= since
  std::optional<micros> until;  // time <= until
  std::uint64_t after = 0;      // paging: only records with a greater seq
  std::size_t limit = 100;      // 1..max_audit_limit records
  // Set: only records in scope.
  std::optional<audit_scope> scope;
};

struct audit_page {
  std::vector<std::string> records;  // INTERFACE JSON, canonical, in seq order
  bool more = false;                 // more may match after `resume`
  std::uint64_t resume = 0;          // seq to continue after, when more
};

// GET /cairn/v1/audit/stats: deliveries (pull records and the objects they
// listed) per account per time bucket, from an index kept at append time,
// never by reading records.
struct audit_stats_query {
  bool day = false;  // buckets of a UTC day; else of an hour
  // The buckets that overlap [since, until], each counted whole.
  std::optional<micros> since;
  std::optional<micros> until;
  std::string collection;  // collection id; empty: every collection
  std::optional<audit_scope> scope;
};
struct audit_stats_point {
  std::string account;
  micros bucket = 0;  // start of the bucket (UTC)
  std::uint64_t records = 0;
  std::uint64_t objects = 0;
};
inline constexpr std::size_t max_audit_stats_points = 100'000;

// Limits of one query: records examined, and objects listed in one page.
inline constexpr std::size_t max_audit_examined = 200'000;
inline constexpr std::size_t max_audit_page_objects = 100'000;
inline constexpr std::size_t max_audit_limit = 1000;

// ---------------------------------------------------------------- observables

// One indexed value met by a lookup or an export scan. The views are valid
// only during the callback.
struct observable_hit {
  formats::observable_kind kind = formats::observable_kind::ipv4;
  std::string_view value;  // normalised, as indexed (a CIDR keeps its "/N")
  bool cidr = false;
  bool exportable = false;  // see formats::observable::exportable
};
using observable_fn = std::function<bool(const observable_hit&, const object_record&)>;

// ---------------------------------------------------------------- health

struct store_stats {
  std::uint64_t commits = 0;          // durable commits of write transactions
  std::uint64_t failed_commits = 0;   // commits that failed (nothing acknowledged)
  std::uint64_t jobs = 0;             // write jobs completed, successfully or not
  std::uint64_t map_resizes = 0;      // embedded backend: times the file grew
  std::uint64_t statuses_purged = 0;  // expired statuses removed
  std::size_t capacity_bytes = 0;     // embedded backend: current map size (0: unbounded)
  std::size_t used_bytes = 0;
  std::size_t write_queue_depth = 0;  // writes submitted, not yet taken by the writer
};

// One commit of the store's writer, as told to a commit_observer.
struct commit_sample {
  double seconds = 0;    // from the transaction's begin to the end of its commit
  std::size_t jobs = 0;  // writes (publishes, deletes, records, ...) in it
  bool ok = true;        // false: the commit failed and nothing of it is stored
};
using commit_observer = std::function<void(const commit_sample&)>;

// ---------------------------------------------------------------- the seam

// One consistent snapshot of the objects and statuses. Move-only; obtained
// from store::begin_read().
class reader {
 public:
  virtual ~reader() = default;

  using record_fn = std::function<bool(const object_record&)>;

  // Calls fn for each live version in the collection with date_added > after
  // that `who` may receive, in date_added order, until fn returns false.
  // Versions withheld from `who` are never read: a page costs the same
  // whatever is withheld.
  virtual void scan(collection_key c, micros after, const visibility& who,
                    const record_fn& fn) const = 0;

  // Calls fn for each live version of one object, oldest version first
  // (STIX timestamp order), until fn returns false.
  virtual void versions(collection_key c, std::string_view object_id,
                        const record_fn& fn) const = 0;

  // The live version at a date_added position.
  virtual std::optional<object_record> at(collection_key c, micros date_added) const = 0;

  // Whether this live version is the first and/or the last live version of
  // its object, in the order of versions(). With counts, only the other
  // versions for which it returns true are considered; r itself always is.
  // Other copies of r's own version are neither before nor after it.
  struct rank {
    bool first = false;
    bool last = false;
  };
  virtual rank version_rank(const object_record& r, const record_fn& counts = {}) const = 0;

  // Whether a live copy of r's version (same id and STIX timestamp; for
  // r.id_copy, any version of its id) was stored before r and passes counts
  // (any copy, when counts is empty). False at once, reading nothing, when
  // r.later_copy is not set.
  virtual bool earlier_copy(const object_record& r, const record_fn& counts = {}) const = 0;

  // Lookup (INTERFACE.md "Lookup, exports and exposure"): calls fn for each
  // live version in these collections that `who` may receive and that
  // indexed `value` (normalised, formats::normalise_observable) as kind k
  // exactly, or, for an ipv4/ipv6 address, a CIDR of kind k containing it,
  // found by prefix probes, never by reading every range. Order: collection
  // order of cs, then date_added. Stops when fn returns false.
  virtual void lookup(std::span<const collection_key> cs, formats::observable_kind k,
                      std::string_view value, const visibility& who,
                      const observable_fn& fn) const = 0;

  // Exports: calls fn for each exportable indexed value of a live version in
  // collection c that `who` may receive, kinds restricted to `kinds` (empty:
  // all), in (kind, value, date_added) order, so that equal values are
  // adjacent and the output sorted without holding it. Stops when fn returns
  // false. Here the record's views, too, are valid only during the callback
  // (a backend may drop what it read once passed on).
  virtual void exportable_values(collection_key c, std::span<const formats::observable_kind> kinds,
                                 const visibility& who, const observable_fn& fn) const = 0;

  // A number that changes whenever a write changes collection c (publish,
  // delete): with the reader's visibility and the clock, enough to tell
  // whether an export can still be the one a client holds (ETag).
  virtual std::uint64_t collection_generation(collection_key c) const = 0;

  // The stored status, or std::nullopt (unknown or expired).
  virtual std::optional<status_record> status(std::string_view status_id) const = 0;

  // The unexpired statuses whose owner is `owner`, newest first (by
  // request_timestamp, then id, both descending), from an index by owner:
  // at most min(limit, max_status_page) of them, those after `after` when
  // set (a page's resume). Statuses stored or purged after the first page
  // neither shift nor repeat the ones that follow a cursor.
  virtual status_page owned_statuses(std::string_view owner,
                                     const std::optional<status_cursor>& after,
                                     std::size_t limit) const = 0;

  // Object records read so far (live or not), for tests and benchmarks.
  virtual std::uint64_t records_read() const = 0;

  // The first storage error any read met (a damaged store); reads that met
  // one behave as if the data were absent. std::nullopt normally.
  virtual const std::optional<error>& last_error() const = 0;
};

class store {
 public:
  virtual ~store() = default;

  // The key of a collection (by "<api root>/<collection id>"), assigned on
  // first use. Blocks until durable; control plane only. Fails for an empty
  // id or one over 256 bytes, when no key is left, and when called from a
  // write's callback.
  virtual result<collection_key> collection(std::string_view collection_id) = 0;

  // Adds the objects and the publish's audit record in one transaction. An
  // object whose (id, version) is already stored is a duplicate: kept as it
  // was, reported as a success. An object with an empty version is a
  // duplicate when its id is stored; otherwise its version is its
  // date_added, written as a TAXII timestamp. An object whose id is empty or
  // longer than 300 bytes, or whose version is not a STIX timestamp, becomes
  // a failure in the status. The whole job fails (done() gets an error,
  // nothing is stored, no record) for an unknown collection key, a failed
  // commit or a full store.
  virtual void publish(publish_request request, audit_entry record,
                       std::function<void(result<publish_outcome>)> done) = 0;

  // Marks the versions at the given positions deleted, with the delete's
  // audit record, in one transaction. done() gets the number deleted.
  virtual void remove(delete_request request, audit_entry record,
                      std::function<void(result<std::size_t>)> done) = 0;

  // Appends an audit record. done (optional) gets its seq once durable, or
  // the error that kept it out. An entry with an unknown action, delivered
  // versions without a key, or alert members that
  // formats::check_alert_members() refuses, fails at once on this thread.
  virtual void record(audit_entry entry, std::function<void(result<std::uint64_t>)> done = {}) = 0;

  virtual std::unique_ptr<reader> begin_read() const = 0;

  // The audit log's reads.
  virtual result<audit_page> audit_records(const audit_query& q) const = 0;
  virtual result<std::optional<std::string>> audit_record_json(std::uint64_t seq) const = 0;
  virtual result<std::uint64_t> audit_size() const = 0;
  // Points ordered by account, then bucket; fails with errc::too_many past
  // max_audit_stats_points.
  virtual result<std::vector<audit_stats_point>> audit_stats(const audit_stats_query& q) const = 0;
  // The latest signed checkpoint, std::nullopt when there is none.
  virtual result<std::optional<formats::audit_checkpoint>> checkpoint() const = 0;
  // Signs a checkpoint of the whole log unless the latest covers it; done
  // gets the latest either way (writer thread).
  virtual void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) = 0;
  // RFC 9162 proofs and roots over the records (seq is 1-based).
  virtual result<std::vector<formats::merkle::digest>> inclusion_proof(
      std::uint64_t seq, std::uint64_t tree_size) const = 0;
  virtual result<std::vector<formats::merkle::digest>> consistency_proof(
      std::uint64_t from, std::uint64_t to) const = 0;
  virtual result<formats::merkle::digest> audit_root(std::uint64_t tree_size) const = 0;
  // The checkpoint signing key's public half (PEM).
  virtual const std::string& public_key_pem() const = 0;

  virtual store_stats stats() const = 0;

  // From now on, fn is called on the writer thread after every commit
  // (successful or failed; the in-memory fake has none), replacing an
  // earlier observer; an empty fn stops the calls. fn must be cheap and must
  // not call the store. Any thread.
  virtual void observe_commits(commit_observer fn) = 0;

  // False while the backend cannot serve (a database that cannot be
  // reached); the health endpoint then says "degraded". Cheap: no I/O.
  virtual bool healthy() const { return true; }

  // Stops accepting writes, commits what is queued, writes a last
  // checkpoint. Idempotent; the destructor calls it.
  virtual void close() = 0;
};

}  // namespace cairn::storage
