#pragma once
// A fresh database for the PostgreSQL audit log's tests: schema v1's tables
// the log reads (collections, objects, audit_head) and the log's own.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "storage/pg/audit.hpp"
#include "storage/pg/pq.hpp"

namespace cairn::testing {

inline std::optional<std::string> pg_audit_test_conninfo() {
  const char* env = std::getenv("CAIRN_TEST_PG");
  if (!env || !*env) return std::nullopt;
  return std::string(env);
}

struct pg_audit_database {
  std::string name;
  std::string conninfo;
};

// Drops a database made by fresh_pg_audit_database (no connection to it may
// remain).
inline void drop_pg_audit_database(const std::string& name) {
  auto base = pg_audit_test_conninfo();
  if (!base) return;
  storage::pg_options admin;
  admin.conninfo = *base;
  if (auto c = storage::pq::connection::open(admin)) {
    (void)(*c)->exec("DROP DATABASE IF EXISTS " + name);
  }
}

// A new database (named after prefix, the process and a counter) with the
// tables; std::nullopt without a server to test against.
inline std::optional<pg_audit_database> fresh_pg_audit_database(const std::string& prefix) {
  auto base = pg_audit_test_conninfo();
  if (!base) return std::nullopt;
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter++) + "_" + std::to_string(rd() % 100000);
  storage::pg_options admin;
  admin.conninfo = *base;
  auto c = storage::pq::connection::open(admin);
  if (!c) return std::nullopt;
  if (!(*c)->exec("CREATE DATABASE " + name)) return std::nullopt;
  storage::pg_options o;
  o.conninfo = *base + " dbname=" + name;
  auto db = storage::pq::connection::open(o);
  if (!db) return std::nullopt;
  const std::string schema =
      "CREATE TABLE cairn_meta (key text PRIMARY KEY, value text NOT NULL);"
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
  return pg_audit_database{name, o.conninfo};
}

}  // namespace cairn::testing
