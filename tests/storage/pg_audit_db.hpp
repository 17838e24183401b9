#pragma once
// A fresh database for the PostgreSQL audit log's tests (support/pg.hpp) at
// schema v1 (pg_init_schema: the log's tables among them), dropped again
// when the test is done.

#include <string>

#include "formats/ed25519.hpp"
#include "storage/pg/pq.hpp"
#include "storage/postgres_store.hpp"
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

// Fails (errc::unavailable) without a server to test against.
inline result<pg_audit_database> fresh_pg_audit_database(std::string_view prefix) {
  auto conninfo = fresh_pg_database(prefix);
  if (!conninfo) return std::unexpected(conninfo.error());
  const auto at = conninfo->rfind("dbname=");
  if (at == std::string::npos) return fail(errc::internal, "no dbname in " + *conninfo);
  std::string name = conninfo->substr(at + 7);
  name = name.substr(0, name.find(' '));
  std::erase(name, '\'');  // quoted by with_pg_database
  storage::pg_options o;
  o.conninfo = *conninfo;
  auto key = formats::ed25519_key::generate();
  if (!key) return std::unexpected(key.error());
  if (auto made = storage::pg_init_schema(o, key->public_pem()); !made) {
    return std::unexpected(made.error());
  }
  return pg_audit_database{name, *conninfo};
}

}  // namespace cairn::testing
