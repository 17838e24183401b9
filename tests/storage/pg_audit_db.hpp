#pragma once
// A fresh database for the PostgreSQL audit log's tests (support/pg.hpp)
// holding schema v1's tables the log reads (collections, objects,
// audit_head) and the log's own, dropped again when the test is done.

#include <optional>
#include <string>

#include "storage/pg/audit.hpp"
#include "storage/pg/pq.hpp"
#include "support/pg.hpp"

namespace cairn::testing {

struct pg_audit_database {
  std::string name;
  std::string conninfo;
};

// Drops a database made by fresh_pg_audit_database (no connection to it may
// remain).
inline void drop_pg_audit_database(const std::string& name) {
  auto base = test_pg_conninfo();
  if (!base) return;
  auto admin = with_pg_database(*base, "postgres");
  if (!admin) return;
  storage::pg_options o;
  o.conninfo = *admin;
  if (auto c = storage::pq::connection::open(o)) {
    (void)(*c)->exec("DROP DATABASE IF EXISTS " + name);
  }
}

// std::nullopt without a server to test against.
inline std::optional<pg_audit_database> fresh_pg_audit_database(std::string_view prefix) {
  auto conninfo = fresh_pg_database(prefix);
  if (!conninfo) return std::nullopt;
  const auto at = conninfo->rfind("dbname=");
  if (at == std::string::npos) return std::nullopt;
  std::string name = conninfo->substr(at + 7);
  name = name.substr(0, name.find(' '));
  std::erase(name, '\'');  // quoted by with_pg_database
  storage::pg_options o;
  o.conninfo = *conninfo;
  auto db = storage::pq::connection::open(o);
  if (!db) return std::nullopt;
  const std::string schema =
      "CREATE TABLE collections (key integer PRIMARY KEY, name text NOT NULL UNIQUE,"
      " last_added bigint NOT NULL DEFAULT 0);"
      "CREATE TABLE objects (collection integer NOT NULL, date_added bigint NOT NULL,"
      " id text NOT NULL, version text NOT NULL, time_key text NOT NULL,"
      " spec_version text NOT NULL, publisher text NOT NULL, tlp smallint NOT NULL,"
      " later_copy boolean NOT NULL DEFAULT false, id_copy boolean NOT NULL DEFAULT false,"
      " deleted boolean NOT NULL DEFAULT false, json text NOT NULL,"
      " PRIMARY KEY (collection, date_added));"
      "CREATE INDEX objects_by_id ON objects (collection, id, time_key, date_added);"
      "CREATE TABLE audit_head (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),"
      " seq bigint NOT NULL, hash bytea NOT NULL);"
      "INSERT INTO audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));" +
      std::string(storage::pg::audit_schema_sql);
  if (!(*db)->exec(schema)) return std::nullopt;
  return pg_audit_database{name, *conninfo};
}

}  // namespace cairn::testing
