#pragma once
// A PostgreSQL server for tests: where it is, and a fresh database on it
// per test. Tests that need one and find none skip visibly:
//   auto conninfo = testing::test_pg_conninfo();
//   if (!conninfo) CAIRN_SKIP("no PostgreSQL server (set CAIRN_TEST_PG)");

#include <optional>
#include <string>
#include <string_view>

#include "formats/error.hpp"

namespace cairn::testing {

// The server's conninfo: env CAIRN_TEST_PG, else the contents of the file
// named by env CAIRN_TEST_PG_FILE (the ctest fixture writes it). nullopt
// when neither is set, or the file is missing or empty.
std::optional<std::string> test_pg_conninfo();

// CREATEs a new, empty database on the test server, named after prefix
// (letters, digits and _ kept), this process and a counter, and returns the
// server's conninfo with its dbname. Fails when there is no server. The
// databases are dropped when the process exits (set CAIRN_TEST_PG_KEEP to
// keep them).
result<std::string> fresh_pg_database(std::string_view prefix);

// The conninfo with dbname set to the given database.
result<std::string> with_pg_database(const std::string& conninfo, std::string_view dbname);

}  // namespace cairn::testing
