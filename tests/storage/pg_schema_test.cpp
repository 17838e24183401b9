// The PostgreSQL schema (storage/pg/schema.hpp): cairnd db init creates it
// once, finds it current after, and refuses a version or a key it does not
// know. Against a real server; skipped, visibly, without one.

#include <catch2/catch.hpp>
#include <future>
#include <set>
#include <string>

#include "formats/ed25519.hpp"
#include "formats/observables.hpp"
#include "formats/time.hpp"
#include "storage/pg/schema.hpp"
#include "storage/postgres_store.hpp"
#include "support/files.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"
#include "support/temp_dir.hpp"

namespace cairn::storage {
namespace {

std::string public_pem() {
  auto key = formats::ed25519_key::generate();
  REQUIRE(key);
  return key->public_pem();
}

TEST_CASE("pg schema: db init adds the statuses_by_owner index to a current database", "[pg]") {
  if (!testing::test_pg_conninfo()) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  pg_options o;
  o.conninfo = testing::fresh_pg_database("pg_schema_owner").value();
  auto c = pq::connection::open(o);
  REQUIRE(c);
  const pq::statement indexed{"test_statuses_by_owner",
                              "SELECT to_regclass('statuses_by_owner') IS NOT NULL"};
  const std::string pem = public_pem();
  REQUIRE(pg_init_schema(o, pem).value() == pg_init_outcome::created);
  CHECK((*c)->run(indexed).value().boolean(0, 0));
  // A version 2 database made before the index: the same version, without it.
  REQUIRE((*c)->exec("DROP INDEX statuses_by_owner"));
  CHECK_FALSE((*c)->run(indexed).value().boolean(0, 0));
  CHECK(pg_init_schema(o, pem).value() == pg_init_outcome::already_current);
  CHECK((*c)->run(indexed).value().boolean(0, 0));
  CHECK(pg::check_schema(**c).value().version == pg_schema_version);
  // And again: nothing to do.
  CHECK(pg_init_schema(o, pem).value() == pg_init_outcome::already_current);
}

TEST_CASE("pg schema: db init creates version 1 with the key, then finds it current", "[pg]") {
  if (!testing::test_pg_conninfo()) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  pg_options o;
  o.conninfo = testing::fresh_pg_database("pg_schema").value();
  auto c = pq::connection::open(o);
  REQUIRE(c);
  auto none = pg::check_schema(**c);
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("db init") != std::string::npos);

  const std::string pem = public_pem();
  CHECK(pg_init_schema(o, pem).value() == pg_init_outcome::created);
  auto info = pg::check_schema(**c);
  REQUIRE(info);
  CHECK(info->version == pg_schema_version);
  CHECK(info->public_key == pem);
  for (const char* table : {"cairn_meta", "collections", "objects", "statuses", "audit_head"}) {
    const pq::statement exists{"test_exists", "SELECT to_regclass($1) IS NOT NULL"};
    auto r = (*c)->run(exists, pq::params().text(table));
    REQUIRE(r);
    CHECK(r->boolean(0, 0));
  }
  auto head = (*c)->exec("SELECT seq, hash FROM audit_head");
  REQUIRE(head);
  REQUIRE(head->size() == 1);
  CHECK(head->integer(0, 0) == 0);
  CHECK(head->digest(0, 1) == formats::merkle::digest{});

  CHECK(pg_init_schema(o, pem).value() == pg_init_outcome::already_current);
  auto other = pg_init_schema(o, public_pem());
  REQUIRE_FALSE(other);
  CHECK(other.error().code == errc::invalid_input);
  CHECK(pg::check_schema(**c)->public_key == pem);  // unchanged
}

TEST_CASE("pg schema: another version is refused with both versions in the message", "[pg]") {
  if (!testing::test_pg_conninfo()) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  pg_options o;
  o.conninfo = testing::fresh_pg_database("pg_schema").value();
  const std::string pem = public_pem();
  REQUIRE(pg_init_schema(o, pem));
  auto c = pq::connection::open(o);
  REQUIRE(c);
  REQUIRE((*c)->exec("UPDATE cairn_meta SET value = '7' WHERE key = 'schema_version'"));
  auto checked = pg::check_schema(**c);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == errc::invalid_input);
  CHECK(checked.error().message == "database schema version 7, this cairnd knows 2");
  auto init = pg_init_schema(o, pem);
  REQUIRE_FALSE(init);
  CHECK(init.error().code == errc::invalid_input);
  CHECK(init.error().message == "database schema version 7, this cairnd knows 2");
}

TEST_CASE("pg schema: two concurrent db init create the schema once", "[pg]") {
  if (!testing::test_pg_conninfo()) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  pg_options o;
  o.conninfo = testing::fresh_pg_database("pg_schema").value();
  const std::string pem = public_pem();
  auto first = std::async(std::launch::async, [&] { return pg_init_schema(o, pem); });
  auto second = std::async(std::launch::async, [&] { return pg_init_schema(o, pem); });
  auto x = first.get();
  auto y = second.get();
  REQUIRE(x);
  REQUIRE(y);
  CHECK(std::set{*x, *y} == std::set{pg_init_outcome::created, pg_init_outcome::already_current});
}

TEST_CASE("pg schema: no server is unavailable", "[pg]") {
  pg_options o;
  o.conninfo = "host=127.0.0.1 port=1 dbname=none user=none";
  auto init = pg_init_schema(o, public_pem());
  REQUIRE_FALSE(init);
  CHECK(init.error().code == errc::unavailable);
}

TEST_CASE("pg schema: db init upgrades a version 1 database, and a node refuses it until then",
          "[pg]") {
  if (!testing::test_pg_conninfo()) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  pg_options o;
  o.conninfo = testing::fresh_pg_database("pg_schema").value();
  const std::string pem = public_pem();
  REQUIRE(pg_init_schema(o, pem));
  auto c = pq::connection::open(o);
  REQUIRE(c);
  // What version 1 had: version 2's tables absent.
  REQUIRE((*c)->exec("DROP TABLE suspensions, control_state"));
  REQUIRE((*c)->exec("DROP TABLE observables"));
  REQUIRE((*c)->exec("ALTER TABLE collections DROP COLUMN deleted_count"));
  // With versions stored under version 1: one to index, one deleted.
  REQUIRE(
      (*c)->exec("INSERT INTO collections (key, name, last_added) VALUES (1, 'root/one', 2);"
                 "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version,"
                 " publisher, tlp, deleted, json) VALUES"
                 " (1, 1, 'indicator--1', 'v', 'k', '2.1', 'alice', 1, false,"
                 " '{\"type\":\"indicator\",\"pattern_type\":\"stix\","
                 "\"pattern\":\"[ipv4-addr:value = \\u002710.0.0.1\\u0027]\"}'),"
                 " (1, 2, 'indicator--2', 'v', 'k', '2.1', 'alice', 1, true,"
                 " '{\"type\":\"indicator\",\"pattern_type\":\"stix\","
                 "\"pattern\":\"[ipv4-addr:value = \\u002710.0.0.2\\u0027]\"}')"));
  REQUIRE((*c)->exec("DROP TABLE audit_stats"));
  REQUIRE((*c)->exec("DROP INDEX audit_by_kind; ALTER TABLE audit DROP COLUMN kind"));
  REQUIRE((*c)->exec("UPDATE cairn_meta SET value = '1' WHERE key = 'schema_version'"));
  auto checked = pg::check_schema(**c);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message ==
        "database schema version 1, this cairnd knows 2: run cairnd db init to upgrade it");
  CHECK(pg_init_schema(o, pem).value() == pg_init_outcome::upgraded);
  CHECK(pg::check_schema(**c).value().version == 2);
  CHECK((*c)->exec("SELECT account, kind, alert_seq, since FROM suspensions"));
  CHECK((*c)->exec("SELECT key, value FROM control_state"));
  // The stored live version is indexed, as a new publish would be.
  auto rows = (*c)->exec(
      "SELECT collection, date_added, kind, value, tlp, cidr, exportable FROM observables");
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK(rows->integer(0, 1) == 1);
  CHECK(rows->integer(0, 2) == static_cast<std::int64_t>(formats::observable_kind::ipv4));
  CHECK(rows->text(0, 3) == "10.0.0.1");
  CHECK(rows->integer(0, 4) == 1);
  CHECK_FALSE(rows->boolean(0, 5));
  CHECK(rows->boolean(0, 6));
  CHECK((*c)->exec("SELECT deleted_count FROM collections"));
  CHECK(
      (*c)->exec("SELECT hour, account, api_root, collection, records, objects FROM audit_stats"));
  CHECK((*c)->exec("SELECT kind FROM audit WHERE kind = 'volume' ORDER BY seq"));
  CHECK(pg_init_schema(o, pem).value() == pg_init_outcome::already_current);
}

TEST_CASE("pg schema: the upgrade counts the deliveries a version 1 database recorded", "[pg]") {
  if (!testing::test_pg_conninfo()) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  testing::temp_dir dir;
  auto key = formats::ed25519_key::generate();
  REQUIRE(key);
  pg_store_options o;
  o.conninfo = testing::fresh_pg_database("pg_schema").value();
  o.key_path = (dir / "audit.key").string();
  testing::write_file(o.key_path, key->private_pem());
  REQUIRE(pg_init_schema(o, key->public_pem()));
  const micros t0 = formats::parse_rfc3339("2026-11-27T10:00:00Z").value();
  micros now = t0;
  o.clock = [&now] { return now; };
  {
    auto s = open_pg_store(o);
    REQUIRE(s);
    auto k = (*s)->collection("root/one");
    REQUIRE(k);
    auto record = [&](std::string account, int objects) {
      audit_entry e;
      e.action = "pull";
      e.account = std::move(account);
      e.api_root = "root";
      e.collection = "one";
      e.status = 200;
      e.key = *k;
      for (int i = 0; i < objects; ++i)
        e.delivered.add(t0 + i, "indicator--" + std::to_string(i), "v");
      std::promise<result<std::uint64_t>> p;
      (*s)->record(std::move(e), [&p](result<std::uint64_t> seq) { p.set_value(seq); });
      REQUIRE(p.get_future().get());
    };
    record("bob", 2);
    record("bob", 1);
    now = t0 + micros{3600} * 1'000'000;
    record("carol", 3);
    (*s)->close();
  }
  auto c = pq::connection::open(o);
  REQUIRE(c);
  // What version 1 had: none of version 2's additions.
  REQUIRE((*c)->exec("DROP TABLE suspensions, control_state"));
  REQUIRE((*c)->exec("DROP TABLE observables"));
  REQUIRE((*c)->exec("ALTER TABLE collections DROP COLUMN deleted_count"));
  REQUIRE((*c)->exec("DROP TABLE audit_stats"));
  REQUIRE((*c)->exec("DROP INDEX audit_by_kind; ALTER TABLE audit DROP COLUMN kind"));
  REQUIRE((*c)->exec("UPDATE cairn_meta SET value = '1' WHERE key = 'schema_version'"));
  CHECK(pg_init_schema(o, key->public_pem()).value() == pg_init_outcome::upgraded);

  auto s = open_pg_store(o);
  REQUIRE(s);
  audit_stats_query q;
  auto points = (*s)->audit_stats(q);
  REQUIRE(points);
  REQUIRE(points->size() == 2);
  CHECK((*points)[0].account == "bob");
  CHECK((*points)[0].bucket == t0);
  CHECK((*points)[0].records == 2);
  CHECK((*points)[0].objects == 3);
  CHECK((*points)[1].account == "carol");
  CHECK((*points)[1].bucket == t0 + micros{3600} * 1'000'000);
  CHECK((*points)[1].records == 1);
  CHECK((*points)[1].objects == 3);
  (*s)->close();
}

}  // namespace
}  // namespace cairn::storage
