#pragma once
// storage/ only: the PostgreSQL schema, version pg_schema_version
// (postgres_store.hpp), and its checks. Tables: cairn_meta (schema_version,
// public_key), collections, objects, statuses, audit_head, and the audit
// log's own tables (storage/pg/audit.hpp's audit_schema_sql), all created in
// one transaction by pg_init_schema().

#include <string>
#include <string_view>

#include "formats/error.hpp"
#include "storage/pg/pq.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::storage::pg {

// The DDL of every table but the audit log's (see audit_schema_sql).
extern const char* const core_schema_sql;

// What cairn_meta records about a database.
struct schema_info {
  int version = 0;
  std::string public_key;  // the deployment's audit public key (PEM)
};

// Reads cairn_meta. Errors: no schema (errc::invalid_input, "run cairnd db
// init"), a version other than pg_schema_version (errc::invalid_input,
// "database schema version 7, this cairnd knows 1"), and the connection's.
result<schema_info> check_schema(pq::connection& c);

// Inside a transaction the caller began: waits for any concurrent
// initialisation (a transaction-level advisory lock), then creates the
// schema or finds it current.
result<pg_init_outcome> init_schema(pq::connection& c, std::string_view public_key_pem);

}  // namespace cairn::storage::pg
