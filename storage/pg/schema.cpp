#include "storage/pg/schema.hpp"

#include <charconv>

#include "storage/pg/objects.hpp"

#if __has_include("storage/pg/audit.hpp")
#include "storage/pg/audit.hpp"
#else
namespace cairn::storage::pg {
extern const char* const audit_schema_sql;
}
#endif

namespace cairn::storage {
namespace pg {

// Version 2's additions, each defined beside the code that uses it.
extern const char* const observables_schema_sql;  // storage/pg/schema_observables.cpp
extern const char* const control_schema_sql;      // storage/pg/schema_control.cpp
extern const char* const audit_v2_schema_sql;     // storage/pg/schema_audit_v2.cpp
// Added at version 2 without a new version (idempotent; see the file).
extern const char* const statuses_by_owner_sql;  // storage/pg/schema_statuses.cpp

const char* const core_schema_sql = R"sql(
CREATE TABLE cairn_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE collections (key integer PRIMARY KEY, name text NOT NULL UNIQUE,
                          last_added bigint NOT NULL DEFAULT 0);
CREATE TABLE objects (
  collection integer NOT NULL, date_added bigint NOT NULL,
  id text NOT NULL, version text NOT NULL, time_key text NOT NULL,
  spec_version text NOT NULL, publisher text NOT NULL, tlp smallint NOT NULL,
  later_copy boolean NOT NULL DEFAULT false, id_copy boolean NOT NULL DEFAULT false,
  deleted boolean NOT NULL DEFAULT false,
  json text NOT NULL,
  PRIMARY KEY (collection, date_added));
CREATE INDEX objects_by_id ON objects (collection, id, time_key, date_added);
CREATE INDEX objects_by_level ON objects (collection, tlp, date_added) WHERE NOT deleted;
CREATE INDEX objects_by_publisher ON objects (collection, publisher, date_added) WHERE NOT deleted;
CREATE TABLE statuses (id text PRIMARY KEY, owner text NOT NULL, stored_at bigint NOT NULL,
                       json text NOT NULL);
CREATE INDEX statuses_by_age ON statuses (stored_at);
CREATE TABLE audit_head (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                         seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');
)sql";

namespace {

// pg_advisory_xact_lock's key for schema changes: "cairn" in ASCII.
const pq::statement k_lock_schema{"cairn_schema_lock",
                                  "SELECT pg_advisory_xact_lock(427035881070)"};
const pq::statement k_has_schema{"cairn_schema_exists",
                                 "SELECT to_regclass('cairn_meta') IS NOT NULL"};
const pq::statement k_has_statuses_by_owner{"cairn_schema_statuses_by_owner",
                                            "SELECT to_regclass('statuses_by_owner') IS NOT NULL"};
const pq::statement k_read_meta{
    "cairn_schema_meta",
    "SELECT key, value FROM cairn_meta WHERE key IN ('schema_version', 'public_key')"};
const pq::statement k_write_meta{"cairn_schema_write_meta",
                                 "INSERT INTO cairn_meta (key, value) VALUES ('schema_version', "
                                 "$1), ('public_key', $2)"};

result<bool> has_schema(pq::connection& c) {
  auto r = c.run(k_has_schema);
  if (!r) return std::unexpected(r.error());
  return r->size() == 1 && r->boolean(0, 0);
}

result<schema_info> read_meta(pq::connection& c) {
  auto r = c.run(k_read_meta);
  if (!r) return std::unexpected(r.error());
  schema_info out;
  bool versioned = false;
  for (int i = 0; i < r->size(); ++i) {
    const std::string_view key = r->text(i, 0);
    const std::string_view value = r->text(i, 1);
    if (key == "public_key") {
      out.public_key = value;
    } else {
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), out.version);
      versioned = ec == std::errc() && end == value.data() + value.size();
    }
  }
  if (!versioned) {
    return fail(
        "the database's cairn_meta records no valid schema_version: "
        "it was not made by cairnd db init");
  }
  return out;
}

result<void> known_version(const schema_info& info) {
  if (info.version != pg_schema_version) {
    std::string message = "database schema version " + std::to_string(info.version) +
                          ", this cairnd knows " + std::to_string(pg_schema_version);
    if (info.version >= 1 && info.version < pg_schema_version) {
      message += ": run cairnd db init to upgrade it";
    }
    return fail(message);
  }
  return {};
}

const pq::statement k_write_version{
    "cairn_schema_write_version", "UPDATE cairn_meta SET value = $1 WHERE key = 'schema_version'"};

// Applies the additions of every version after `from`, in order.
result<void> upgrade_from(pq::connection& c, int from) {
  if (from < 2) {
    for (const char* const sql :
         {observables_schema_sql, control_schema_sql, audit_v2_schema_sql}) {
      if (auto done = c.exec(sql); !done) return std::unexpected(done.error());
    }
    // The versions stored under version 1 get their observable index rows.
    if (from == 1) {
      if (auto indexed = index_observables(c); !indexed) return std::unexpected(indexed.error());
    }
  }
  return {};
}

// PEM text compared without line-ending or trailing-space differences.
std::string normalised(std::string_view pem) {
  std::string out;
  for (const char c : pem) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') out += c;
  }
  return out;
}

}  // namespace

result<schema_info> check_schema(pq::connection& c) {
  auto exists = has_schema(c);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) {
    return fail("the database has no Cairn schema: run cairnd db init first");
  }
  auto info = read_meta(c);
  if (!info) return info;
  if (auto known = known_version(*info); !known) return std::unexpected(known.error());
  return info;
}

result<pg_init_outcome> init_schema(pq::connection& c, std::string_view public_key_pem) {
  if (public_key_pem.empty()) return fail("pg_init_schema needs the audit public key");
  if (auto locked = c.run(k_lock_schema); !locked) return std::unexpected(locked.error());
  auto exists = has_schema(c);
  if (!exists) return std::unexpected(exists.error());
  if (*exists) {
    auto info = read_meta(c);
    if (!info) return std::unexpected(info.error());
    const bool older = info->version >= 1 && info->version < pg_schema_version;
    if (!older) {
      if (auto known = known_version(*info); !known) return std::unexpected(known.error());
    }
    if (normalised(info->public_key) != normalised(public_key_pem)) {
      return fail(
          "the database is initialised with another audit signing key than this node's "
          "(key_path): every node of a deployment must use the same key");
    }
    if (!older) {
      // Only when missing: a role that does not own the tables may still
      // check a current database.
      auto indexed = c.run(k_has_statuses_by_owner);
      if (!indexed) return std::unexpected(indexed.error());
      if (indexed->size() != 1 || !indexed->boolean(0, 0)) {
        if (auto index = c.exec(statuses_by_owner_sql); !index) {
          return std::unexpected(index.error());
        }
      }
      return pg_init_outcome::already_current;
    }
    if (auto up = upgrade_from(c, info->version); !up) return std::unexpected(up.error());
    if (auto index = c.exec(statuses_by_owner_sql); !index) return std::unexpected(index.error());
    auto version = c.run(k_write_version, pq::params().text(std::to_string(pg_schema_version)));
    if (!version) return std::unexpected(version.error());
    return pg_init_outcome::upgraded;
  }
  if (auto core = c.exec(core_schema_sql); !core) return std::unexpected(core.error());
  if (auto audit = c.exec(audit_schema_sql); !audit) return std::unexpected(audit.error());
  if (auto later = upgrade_from(c, 1); !later) return std::unexpected(later.error());
  if (auto index = c.exec(statuses_by_owner_sql); !index) return std::unexpected(index.error());
  auto meta = c.run(k_write_meta,
                    pq::params().text(std::to_string(pg_schema_version)).text(public_key_pem));
  if (!meta) return std::unexpected(meta.error());
  return pg_init_outcome::created;
}

}  // namespace pg

result<pg_init_outcome> pg_init_schema(const pg_options& options, std::string_view public_key_pem) {
  auto c = pq::connection::open(options);
  if (!c) return std::unexpected(c.error());
  pq::connection& db = **c;
  if (auto begun = db.begin(); !begun) return std::unexpected(begun.error());
  auto outcome = pg::init_schema(db, public_key_pem);
  if (!outcome) {
    db.rollback();
    return outcome;
  }
  // Also when already current: the indexes added without a new version
  // (nothing, when they are there).
  if (auto committed = db.commit(); !committed) return std::unexpected(committed.error());
  return outcome;
}

}  // namespace cairn::storage
