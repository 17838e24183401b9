// The control store (storage/control.hpp), both backends: suspensions and
// state blobs survive reopening, a second instance (a second process, as
// `cairnd account resume` is) sees and changes the same state, and the
// folder backend writes whole files only. PostgreSQL against a real server;
// skipped, visibly, without one.

#include "storage/control.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "formats/ed25519.hpp"
#include "storage/postgres_store.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"
#include "support/temp_dir.hpp"

namespace cairn::storage {
namespace {

using opener = std::function<std::unique_ptr<control_store>()>;

// What every backend must do, given a way to open a fresh instance on one
// shared state.
void check_contract(const opener& open) {
  auto a = open();
  auto b = open();  // another process's view of the same state
  REQUIRE(a->suspensions().value().empty());
  CHECK_FALSE(a->load("monitor").value().has_value());

  const suspension s{"acme", "auth-failure-burst", 42, 1'700'000'000'000'000};
  CHECK(a->suspend(s).value());
  // The first suspension stays.
  CHECK_FALSE(b->suspend({"acme", "volume", 99, 5}).value());
  auto seen = b->suspensions().value();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == s);
  CHECK(b->suspend({"beta", "", 0, 7}).value());
  CHECK(a->suspensions().value().size() == 2);

  CHECK(b->resume("acme").value());
  CHECK_FALSE(a->resume("acme").value());
  auto left = a->suspensions().value();
  REQUIRE(left.size() == 1);
  CHECK(left[0].account == "beta");

  // Blobs: binary-safe, replaced whole.
  const std::string blob("{\"x\":1}\n\0\xff tail", 15);
  REQUIRE(a->save("monitor", blob));
  CHECK(b->load("monitor").value() == blob);
  REQUIRE(b->save("monitor", "short"));
  CHECK(a->load("monitor").value() == "short");
  CHECK_FALSE(a->load("other").value().has_value());

  // A reopened instance reads what was stored.
  a.reset();
  b.reset();
  auto c = open();
  CHECK(c->suspensions().value().size() == 1);
  CHECK(c->load("monitor").value() == "short");
}

TEST_CASE("control store (folder): the contract, across instances and reopening") {
  testing::temp_dir dir("cairn-control");
  check_contract([&] { return open_folder_control(dir.path()).value(); });
}

TEST_CASE("control store (folder): its files, their mode, and a damaged file") {
  testing::temp_dir dir("cairn-control");
  auto c = open_folder_control(dir.path()).value();
  REQUIRE(c->suspend({"acme", "auth-failure-burst", 3, 10}));
  REQUIRE(c->save("monitor", "state"));
  const auto folder = dir.path() / "control";
  struct stat st {};
  REQUIRE(::stat(folder.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(std::filesystem::exists(folder / "suspensions"));
  CHECK(std::filesystem::exists(folder / "state-monitor"));
  CHECK(std::filesystem::exists(folder / "lock"));
  // No temporary file is left behind.
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    CHECK(e.path().extension() != ".tmp");
  }
  // A key that could leave the folder is refused.
  CHECK_FALSE(c->save("../escape", "x"));
  CHECK_FALSE(c->load("a/b"));
  CHECK_FALSE(c->suspend({"bad\tname", "", 0, 0}));

  {
    std::ofstream out(folder / "suspensions", std::ios::trunc);
    out << "acme\tauth-failure-burst\tnot-a-number\t10\n";
  }
  auto damaged = c->suspensions();
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().code == errc::io);
  CHECK(damaged.error().message.find("line 1") != std::string::npos);
}

TEST_CASE("control store (PostgreSQL): the contract, across connections", "[pg]") {
  if (!cairn::testing::test_pg_conninfo()) {
    CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  }
  pg_options o;
  o.conninfo = cairn::testing::fresh_pg_database("pg_control").value();
  // No schema yet: refused at open.
  CHECK_FALSE(open_pg_control(o));
  auto key = formats::ed25519_key::generate();
  REQUIRE(key);
  REQUIRE(pg_init_schema(o, key->public_pem()));
  check_contract([&] { return open_pg_control(o).value(); });
}

}  // namespace
}  // namespace cairn::storage
