#pragma once
// storage/ only: the objects, versions and statuses of the PostgreSQL
// backend (tables objects and statuses of schema v1): the writes the store's
// writer runs inside its transaction, the reader of store.hpp, and the
// importer's rows.
//
// The decisions of a publish are storage/publish_plan.hpp's; here they meet
// the tables with a fixed number of statements per request (one read of the
// request's ids, one multi-row INSERT, the status), whatever its size.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "storage/pg/pq.hpp"
#include "storage/store.hpp"

namespace cairn::storage::pg {

struct publish_result {
  publish_outcome outcome;
  // The publish record's objects: added versions by position, then the
  // duplicates (and the request's own successes).
  std::vector<formats::audit_object> recorded;
  std::uint64_t statuses_purged = 0;  // expired statuses this call removed
};

// Inside the writer's transaction, after the collection's row is locked.
// last_added is the collection's last position given out (in: from the
// row; out: after this publish). Stores the new versions and the status (if
// it has an id), now and then removing expired statuses. An error leaves the
// transaction to be rolled back.
result<publish_result> publish(pq::connection& c, const publish_request& req, micros now,
                               micros& last_added, micros status_retention);

// Inside the writer's transaction: marks the live versions at req.positions
// deleted and returns them in position order, for the delete record.
result<std::vector<formats::audit_object>> remove(pq::connection& c, const delete_request& req);

// A reader on a leased pooled connection: a REPEATABLE READ READ ONLY
// transaction begun on first use, ended (and the connection given back)
// when the reader dies. A failed lease, or a connection lost on the way,
// makes last_error() errc::unavailable and every read find nothing. now and
// status_retention decide which statuses have expired.
std::unique_ptr<reader> make_reader(result<pq::pool::lease> lease, std::function<micros()> now,
                                    micros status_retention);

// The importer's rows (cairnd migrate), inside its transaction: one live
// version as the source stored it (position, publisher and copy flags), and
// one status with the time it was stored.
result<void> import_version(pq::connection& c, const object_record& v);
result<void> import_status(pq::connection& c, const status_record& s, micros stored_at);

// Writes the observable index rows of every live version (db init, on a
// database upgraded from schema version 1, whose versions have none);
// returns the number of versions read.
result<std::uint64_t> index_observables(pq::connection& c);

// The JSON a status is kept as in statuses.json, and back (std::nullopt for
// text that is not such JSON).
std::string encode_status(const status_record& s);
std::optional<status_record> decode_status(std::string_view json);

}  // namespace cairn::storage::pg
