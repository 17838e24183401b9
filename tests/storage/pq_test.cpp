// The libpq wrapper (storage/pg/pq.hpp) against a real PostgreSQL server:
// values both ways, the error kinds, transactions, and the pool's limits.

#include "storage/pg/pq.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "support/pg.hpp"
#include "support/skip.hpp"

namespace cairn::storage {
namespace {

// A fresh database's options, or nullopt when there is no server.
std::optional<pg_options> fresh_options() {
  if (!testing::test_pg_conninfo()) return std::nullopt;
  auto conninfo = testing::fresh_pg_database("pq_test");
  REQUIRE(conninfo);
  pg_options o;
  o.conninfo = *conninfo;
  o.acquire_timeout = std::chrono::milliseconds(300);
  return o;
}

// A conninfo for a port on which nothing listens.
pg_options nowhere() {
  pg_options o;
  o.conninfo = "host=127.0.0.1 port=1 dbname=none user=none";
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.acquire_timeout = std::chrono::milliseconds(300);
  return o;
}

const pq::statement k_echo{"test_echo",
                           "SELECT $1::text, $2::bigint, $3::boolean, $4::bytea, $5::text"};

TEST_CASE("pq: parameters and columns round-trip text, integers, booleans, bytes and NULL") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  auto c = pq::connection::open(*o);
  REQUIRE(c);
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  const std::string tricky = "it's \"quoted\"; DROP TABLE x; -- \\ é 漢";
  auto r = (*c)->run(k_echo, pq::params()
                                 .text(tricky)
                                 .integer(-9'007'199'254'740'993)
                                 .boolean(true)
                                 .bytes(all_bytes)
                                 .null());
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  CHECK(r->columns() == 5);
  CHECK(r->text(0, 0) == tricky);
  CHECK(r->integer(0, 1) == -9'007'199'254'740'993);
  CHECK(r->boolean(0, 2));
  CHECK(r->bytes(0, 3) == all_bytes);
  CHECK(r->is_null(0, 4));
  CHECK_FALSE(r->is_null(0, 0));

  // The same statement again: prepared once, run twice.
  auto again =
      (*c)->run(k_echo, pq::params().text("").integer(0).boolean(false).bytes("").text("x"));
  REQUIRE(again);
  CHECK(again->text(0, 0).empty());
  CHECK_FALSE(again->boolean(0, 2));
  CHECK(again->bytes(0, 3).empty());
  CHECK(again->text(0, 4) == "x");
}

TEST_CASE("pq: arrays and digests as parameters") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  auto c = pq::connection::open(*o);
  REQUIRE(c);
  const pq::statement arrays{"test_arrays",
                             "SELECT x, ordinality FROM unnest($1::text[]) WITH ORDINALITY AS "
                             "u(x, ordinality) ORDER BY ordinality"};
  const std::vector<std::string_view> values = {"a", "b,c", "\"q\"", "back\\slash", "", "{}"};
  auto r = (*c)->run(arrays, pq::params().text_array(values));
  REQUIRE(r);
  REQUIRE(r->size() == static_cast<int>(values.size()));
  for (int i = 0; i < r->size(); ++i) CHECK(r->text(i, 0) == values[i]);

  const pq::statement sum{"test_sum",
                          "SELECT coalesce(sum(x), 0), count(*) FROM unnest($1::bigint[]) x"};
  auto s = (*c)->run(sum, pq::params().integer_array({1, -2, 40'000'000'000}));
  REQUIRE(s);
  CHECK(s->integer(0, 0) == 39'999'999'999);
  auto empty = (*c)->run(sum, pq::params().integer_array({}));
  REQUIRE(empty);
  CHECK(empty->integer(0, 1) == 0);

  formats::merkle::digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 7);
  const pq::statement echo{"test_digest", "SELECT $1::bytea, NULL::bytea, '\\x01'::bytea"};
  auto e = (*c)->run(echo, pq::params().digest(d));
  REQUIRE(e);
  CHECK(e->digest(0, 0) == d);
  CHECK_FALSE(e->digest(0, 1));
  CHECK_FALSE(e->digest(0, 2));  // not 32 bytes
}

TEST_CASE("pq: an SQL error is io with PostgreSQL's message and leaves the connection usable") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  auto c = pq::connection::open(*o);
  REQUIRE(c);
  REQUIRE((*c)->exec("CREATE TABLE t (k integer PRIMARY KEY, v text)"));
  const pq::statement insert{"test_insert", "INSERT INTO t VALUES ($1, $2)"};
  auto one = (*c)->run(insert, pq::params().integer(1).text("one"));
  REQUIRE(one);
  CHECK(one->affected() == 1);
  auto dup = (*c)->run(insert, pq::params().integer(1).text("again"));
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == errc::io);
  CHECK(dup.error().message.find("23505") != std::string::npos);
  CHECK_FALSE((*c)->broken());

  auto bad = (*c)->exec("SELEC 1");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::io);
  CHECK((*c)->exec("SELECT 1"));
}

TEST_CASE("pq: a transaction commits, rolls back, and a failed one does not commit") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  auto c = pq::connection::open(*o);
  REQUIRE(c);
  auto& db = **c;
  REQUIRE(db.exec("CREATE TABLE t (k integer PRIMARY KEY)"));
  const pq::statement insert{"test_insert_k", "INSERT INTO t VALUES ($1)"};
  const pq::statement count{"test_count", "SELECT count(*) FROM t"};

  REQUIRE(db.begin());
  CHECK(db.in_transaction());
  REQUIRE(db.run(insert, pq::params().integer(1)));
  REQUIRE(db.commit());
  CHECK_FALSE(db.in_transaction());

  REQUIRE(db.begin());
  REQUIRE(db.run(insert, pq::params().integer(2)));
  db.rollback();
  CHECK_FALSE(db.in_transaction());

  // An error inside: COMMIT answers ROLLBACK, which commit() reports.
  REQUIRE(db.begin("BEGIN ISOLATION LEVEL READ COMMITTED"));
  REQUIRE(db.run(insert, pq::params().integer(3)));
  REQUIRE_FALSE(db.run(insert, pq::params().integer(1)));
  auto committed = db.commit();
  REQUIRE_FALSE(committed);
  CHECK(committed.error().code == errc::io);

  auto n = db.run(count);
  REQUIRE(n);
  CHECK(n->integer(0, 0) == 1);
}

TEST_CASE("pq: no server, or a terminated backend, is unavailable and breaks the connection") {
  auto refused = pq::connection::open(nowhere());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::unavailable);

  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  auto victim = pq::connection::open(*o);
  auto admin = pq::connection::open(*o);
  REQUIRE(victim);
  REQUIRE(admin);
  auto pid = (*victim)->exec("SELECT pg_backend_pid()");
  REQUIRE(pid);
  const pq::statement kill{"test_kill", "SELECT pg_terminate_backend($1::integer)"};
  REQUIRE((*admin)->run(kill, pq::params().integer(pid->integer(0, 0))));
  // The backend may take a moment to go.
  result<pq::rows> after = (*victim)->exec("SELECT 1");
  for (int i = 0; i < 50 && after; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = (*victim)->exec("SELECT 1");
  }
  REQUIRE_FALSE(after);
  CHECK(after.error().code == errc::unavailable);
  CHECK((*victim)->broken());
  (*victim)->rollback();  // never fails
  CHECK_FALSE((*admin)->broken());
}

TEST_CASE("pq: the pool opens at most pool_size connections and reuses them") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  {
    auto tight_options = *o;
    tight_options.pool_size = 1;
    pq::pool tight(tight_options);
    auto only = tight.acquire();
    REQUIRE(only);
    auto none = tight.acquire();  // none free within acquire_timeout
    REQUIRE_FALSE(none);
    CHECK(none.error().code == errc::unavailable);
  }

  o->pool_size = 2;
  o->acquire_timeout = std::chrono::seconds(30);
  pq::pool pool(*o);
  auto a = pool.acquire();
  auto b = pool.acquire();
  REQUIRE(a);
  REQUIRE(b);
  auto pid_a = (*a)->exec("SELECT pg_backend_pid()");
  REQUIRE(pid_a);
  const auto backend_a = pid_a->integer(0, 0);

  // A lease given back inside a transaction is rolled back, then reused.
  REQUIRE((*a)->begin());
  { auto gone = std::move(*a); }
  auto d = pool.acquire();
  REQUIRE(d);
  CHECK_FALSE((*d)->in_transaction());
  auto pid_d = (*d)->exec("SELECT pg_backend_pid()");
  REQUIRE(pid_d);
  CHECK(pid_d->integer(0, 0) == backend_a);
  CHECK_FALSE(pool.unreachable());

  // Both leased: a waiter gets the connection another thread gives back.
  std::thread giver([lease = std::move(*b)]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    lease = {};
  });
  auto waited = pool.acquire();
  giver.join();
  CHECK(waited);
}

TEST_CASE("pq: a pool without a server fails fast and says it is unreachable") {
  pq::pool pool(nowhere());
  CHECK_FALSE(pool.unreachable());
  auto l = pool.acquire();
  REQUIRE_FALSE(l);
  CHECK(l.error().code == errc::unavailable);
  CHECK(pool.unreachable());
}

TEST_CASE("pq: the pool drops a broken connection and recovers with a new one") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  o->pool_size = 1;
  pq::pool pool(*o);
  auto admin = pq::connection::open(*o);
  REQUIRE(admin);
  std::int64_t first = 0;
  {
    auto l = pool.acquire();
    REQUIRE(l);
    auto pid = (*l)->exec("SELECT pg_backend_pid()");
    REQUIRE(pid);
    first = pid->integer(0, 0);
    const pq::statement kill{"test_kill", "SELECT pg_terminate_backend($1::integer)"};
    REQUIRE((*admin)->run(kill, pq::params().integer(first)));
    result<pq::rows> after = (*l)->exec("SELECT 1");
    for (int i = 0; i < 50 && after; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      after = (*l)->exec("SELECT 1");
    }
    REQUIRE_FALSE(after);
  }
  CHECK(pool.unreachable());  // the last use failed
  auto l = pool.acquire();    // the one slot is free again
  REQUIRE(l);
  auto pid = (*l)->exec("SELECT pg_backend_pid()");
  REQUIRE(pid);
  CHECK(pid->integer(0, 0) != first);
  l = {};
  CHECK_FALSE(pool.unreachable());
}

TEST_CASE("pq: the conninfo overrides the connection defaults, the client encoding stays UTF8") {
  auto o = fresh_options();
  if (!o) CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)");
  const pq::statement settings{"test_settings",
                               "SELECT current_setting('application_name'), "
                               "current_setting('client_encoding'), "
                               "current_setting('statement_timeout')"};
  o->statement_timeout = std::chrono::milliseconds(1500);
  auto plain = pq::connection::open(*o);
  REQUIRE(plain);
  auto r = (*plain)->run(settings);
  REQUIRE(r);
  CHECK(r->text(0, 0) == "cairnd");
  CHECK(r->text(0, 1) == "UTF8");
  CHECK(r->text(0, 2) == "1500ms");

  o->conninfo += " application_name=node7 client_encoding=LATIN1";
  auto named = pq::connection::open(*o);
  REQUIRE(named);
  r = (*named)->run(settings);
  REQUIRE(r);
  CHECK(r->text(0, 0) == "node7");
  CHECK(r->text(0, 1) == "UTF8");
}

}  // namespace
}  // namespace cairn::storage
