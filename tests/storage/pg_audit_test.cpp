// The PostgreSQL backend's audit log (storage/pg/audit.hpp) against a real
// server: records and chains equal to memory_store's for the same entries,
// the stored tree against roots and proofs computed in memory, checkpoints,
// every query filter with paging, import, and verification that names the
// first bad record.

#include <catch2/catch.hpp>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/base64.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "pg_audit_db.hpp"
#include "storage/memory_store.hpp"
#include "storage/pg/audit.hpp"
#include "storage/postgres_store.hpp"
#include "support/skip.hpp"

namespace cairn::storage {
namespace {

namespace merkle = formats::merkle;
using pg::audit;
using pg::audit_append;

micros at_time(std::string_view text) {
  return formats::parse_rfc3339(text).value();
}
const micros t0 = at_time("2026-11-27T10:00:00Z");

std::string object_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08x-0000-4000-8000-000000000000", n);
  return buf;
}
const std::string v1 = "2026-01-01T00:00:00.000Z";
const std::string v2 = "2026-02-01T00:00:00.000Z";

formats::ed25519_key new_key() {
  return formats::ed25519_key::generate().value();
}

// A fresh database with schema v1's tables and the audit tables, and a
// connection to it; skips without a server.
struct db {
  std::string name;
  std::string conninfo;
  std::unique_ptr<pq::connection> c;

  db() = default;
  db(db&& o) noexcept
      : name(std::exchange(o.name, {})), conninfo(std::move(o.conninfo)), c(std::move(o.c)) {}
  ~db() {
    if (name.empty()) return;
    c.reset();
    testing::drop_pg_audit_database(name);
  }

  // std::nullopt without a server to test against (then the test skips);
  // with one, a database that cannot be made fails the test.
  static std::optional<db> open() {
    if (!testing::test_pg_conninfo()) return std::nullopt;
    auto made = testing::fresh_pg_audit_database("pgaudit");
    INFO((made ? std::string() : made.error().message));
    REQUIRE(made);
    std::optional<db> out(std::in_place);
    out->conninfo = made->conninfo;
    pg_options o;
    o.conninfo = made->conninfo;
    out->c = pq::connection::open(o).value();
    out->name = made->name;
    return out;
  }
  pg_options options() const {
    pg_options o;
    o.conninfo = conninfo;
    return o;
  }
  // One write transaction, as the writer runs it.
  template <class F>
  auto write(F&& f) {
    REQUIRE(c->begin());
    auto out = f(*c);
    if (out) {
      REQUIRE(c->commit());
    } else {
      c->rollback();
    }
    return out;
  }
  void sql(std::string_view text) {
    auto done = c->exec(text);
    INFO((done ? std::string() : done.error().message));
    REQUIRE(done);
  }
};

#define OPEN_DB(name)                                                  \
  auto name##_opened = db::open();                                     \
  if (!name##_opened) CAIRN_SKIP("no PostgreSQL (set CAIRN_TEST_PG)"); \
  db& name = *name##_opened

// Versions object_id(n) (version v1) at positions t0 + n, n in [from, to],
// in collection 1: what pulls in these tests deliver. A pull record keeps
// only their positions and reads them back from here.
void add_versions(db& d, int from, int to) {
  d.sql(
      "INSERT INTO collections (key, name) VALUES (1, 'root/one') ON CONFLICT DO NOTHING;"
      "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version, "
      "publisher, tlp, json) SELECT 1, " +
      std::to_string(t0) +
      " + n, format('indicator--%s-0000-4000-8000-000000000000', lpad(to_hex(n), 8, '0')), '" + v1 +
      "', 'k', '2.1', 'alice', 1, '{}' FROM generate_series(" + std::to_string(from) + ", " +
      std::to_string(to) + ") n");
}

audit_entry pull_entry(std::string account, std::string collection, collection_key key,
                       std::vector<std::pair<micros, int>> delivered) {
  audit_entry e;
  e.action = "pull";
  e.account = std::move(account);
  e.remote = "192.0.2.7";
  e.api_root = "root";
  e.collection = std::move(collection);
  e.status = 200;
  e.key = key;
  for (const auto& [at, n] : delivered) e.delivered.add(at, object_id(n), v1);
  return e;
}

// Entries of every kind.
std::vector<audit_entry> sample_entries() {
  std::vector<audit_entry> out;
  out.push_back(pull_entry("carol", "one", 1, {{t0 + 2, 2}, {t0, 0}, {t0 + 2, 2}, {t0 + 1, 1}}));
  audit_entry config;
  config.action = "config";
  config.sha256 = std::string(64, 'a');
  out.push_back(config);
  audit_entry counter;
  counter.action = "auth-failure";
  counter.remote = "10.0.0.1";
  counter.status = 401;
  counter.suppressed = 4;
  counter.accounts = {{"bob", 3}, {"*", 1}};
  out.push_back(counter);
  audit_entry denied;
  denied.action = "denied";
  denied.account = "mallory";
  denied.remote = "10.0.0.2";
  denied.api_root = "root";
  denied.collection = "two";
  denied.status = 403;
  out.push_back(denied);
  audit_entry unicode;
  unicode.action = "denied";
  unicode.account = "zo\xc3\xab \"q\"\\";
  unicode.remote = "::1";
  unicode.status = 403;
  out.push_back(unicode);
  audit_entry alert;  // evidence sorted, each seq once, by the store
  alert.action = "alert";
  alert.kind = "denied-burst";
  alert.account = "mallory";
  alert.remote = "10.0.0.2";
  alert.detail = "2 refused requests within 60 s";
  alert.evidence = {5, 4, 5};
  out.push_back(alert);
  return out;
}

std::vector<std::string> memory_records(const std::vector<audit_entry>& entries,
                                        const std::vector<micros>& times) {
  std::size_t i = 0;
  memory_store_options o;
  o.clock = [&] { return times[i]; };
  auto s = memory_store::open(std::move(o)).value();
  for (; i < entries.size(); ++i) {
    std::promise<result<std::uint64_t>> p;
    s->record(entries[i], [&](result<std::uint64_t> r) { p.set_value(r); });
    REQUIRE(p.get_future().get().value() == i + 1);
  }
  i = entries.size() - 1;
  std::vector<std::string> out;
  for (std::uint64_t seq = 1; seq <= entries.size(); ++seq) {
    out.push_back(s->audit_record_json(seq).value().value());
  }
  s->close();
  return out;
}

std::vector<merkle::digest> leaves_of(audit& log, pq::connection& c, std::uint64_t n) {
  std::vector<merkle::digest> out;
  for (std::uint64_t seq = 1; seq <= n; ++seq) {
    auto json = log.record_json(c, seq).value().value();
    auto doc = formats::parse_json(json);
    REQUIRE(doc);
    out.push_back(merkle::leaf_hash(formats::audit_body_of(doc->root()).value()));
  }
  return out;
}

// n small records (config), in batches of `batch`.
void append_configs(db& d, audit& log, std::uint64_t n, std::uint64_t batch, micros now) {
  for (std::uint64_t done = 0; done < n;) {
    std::vector<formats::audit_record> records;
    for (; records.size() < batch && done < n; ++done) {
      formats::audit_record r;
      r.action = "config";
      r.sha256 = std::string(64, "0123456789abcdef"[done % 16]);
      records.push_back(std::move(r));
    }
    REQUIRE(d.write([&](pq::connection& c) { return log.append(c, std::move(records), now); }));
  }
}

TEST_CASE("pg audit: records are byte for byte memory_store's, chained from seq 1", "[pg][audit]") {
  OPEN_DB(d);
  add_versions(d, 0, 2);
  const auto entries = sample_entries();
  std::vector<micros> times = {t0 + 5, t0 + 3, t0 + 9, t0 + 9, t0 + 20, t0 + 21};
  const auto expected = memory_records(entries, times);

  audit log(new_key(), {});
  // Two transactions: times never go backwards across them either.
  std::vector<audit_append> first;
  first.push_back(pg::audit_append_of(entries[0]).value());
  first.push_back(pg::audit_append_of(entries[1]).value());
  auto seqs = d.write([&](pq::connection& c) { return log.append(c, std::move(first), t0 + 5); });
  REQUIRE(seqs);
  CHECK(*seqs == std::vector<std::uint64_t>{1, 2});
  for (std::size_t i = 2; i < entries.size(); ++i) {
    std::vector<audit_append> one;
    one.push_back(pg::audit_append_of(entries[i]).value());
    REQUIRE(d.write([&](pq::connection& c) {
               return log.append(c, std::move(one), times[i]);
             }).value() == std::vector<std::uint64_t>{i + 1});
  }
  CHECK(log.size(*d.c).value() == entries.size());
  for (std::uint64_t seq = 1; seq <= entries.size(); ++seq) {
    CHECK(log.record_json(*d.c, seq).value().value() == expected[seq - 1]);
  }
  CHECK_FALSE(log.record_json(*d.c, 0).value());
  CHECK_FALSE(log.record_json(*d.c, entries.size() + 1).value());

  // What store::record() refuses, audit_append_of refuses.
  audit_entry unknown;
  unknown.action = "steal";
  CHECK_FALSE(pg::audit_append_of(unknown));
  audit_entry keyless = entries[0];
  keyless.key = 0;
  CHECK_FALSE(pg::audit_append_of(keyless));
  audit_entry nameless = entries[0];
  nameless.collection.clear();
  CHECK_FALSE(pg::audit_append_of(nameless));

  // A failed transaction leaves no trace: the next record takes the next seq.
  REQUIRE(d.c->begin());
  std::vector<audit_append> lost;
  lost.push_back(pg::audit_append_of(entries[1]).value());
  REQUIRE(log.append(*d.c, std::move(lost), t0 + 30));
  d.c->rollback();
  CHECK(log.size(*d.c).value() == entries.size());
}

TEST_CASE("pg audit: two writers append to one chain, times never going back", "[pg][audit]") {
  OPEN_DB(d);
  pg_options o = d.options();
  auto other = pq::connection::open(o).value();
  audit a(new_key(), {});
  audit b(new_key(), {});
  // a holds the head; b, whose clock is behind, waits for it.
  REQUIRE(d.c->begin());
  std::vector<audit_append> first;
  first.push_back(pg::audit_append_of(sample_entries()[1]).value());
  REQUIRE(a.append(*d.c, std::move(first), t0 + 100).value() == std::vector<std::uint64_t>{1});
  auto waiting = std::async(std::launch::async, [&]() -> result<std::vector<std::uint64_t>> {
    if (auto begun = other->begin(); !begun) return std::unexpected(begun.error());
    std::vector<audit_append> second;
    second.push_back(pg::audit_append_of(sample_entries()[3]).value());
    auto seqs = b.append(*other, std::move(second), t0);
    if (!seqs) return seqs;
    if (auto done = other->commit(); !done) return std::unexpected(done.error());
    return seqs;
  });
  CHECK(waiting.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  REQUIRE(d.c->commit());
  CHECK(waiting.get().value() == std::vector<std::uint64_t>{2});

  CHECK(a.size(*d.c).value() == 2);
  auto second = formats::parse_json(a.record_json(*d.c, 2).value().value());
  REQUIRE(second);
  auto r2 = formats::parse_audit_record(second->root()).value();
  auto r1 = formats::parse_audit_record(
                formats::parse_json(a.record_json(*d.c, 1).value().value())->root())
                .value();
  CHECK(r2.prev == r1.hash);
  CHECK(r2.time == formats::format_taxii_time(t0 + 100));
  CHECK(verify_pg_audit_log(o, a.public_key_pem()).value().intact);
}

TEST_CASE("pg audit: roots and proofs from the stored tree match the tree in memory",
          "[pg][audit]") {
  OPEN_DB(d);
  audit log(new_key(), {});
  CHECK(log.root(*d.c, 0).value() == merkle::empty_root());
  // Batches that straddle the 256-leaf nodes.
  append_configs(d, log, 300, 7, t0);
  append_configs(d, log, 300, 250, t0);
  const std::uint64_t n = 600;
  const auto leaves = leaves_of(log, *d.c, n);
  auto nodes = d.c->exec("SELECT count(*) FROM audit_nodes WHERE height = 8");
  REQUIRE(nodes);
  CHECK(nodes->integer(0, 0) == 2);

  for (const std::uint64_t size :
       {1ull, 2ull, 255ull, 256ull, 257ull, 511ull, 512ull, 513ull, 599ull, 600ull}) {
    const auto root = log.root(*d.c, size).value();
    CHECK(root == merkle::root_of(std::span(leaves).first(size)));
    for (const std::uint64_t seq : {std::uint64_t{1}, size / 2 + 1, size}) {
      auto proof = log.inclusion_proof(*d.c, seq, size);
      REQUIRE(proof);
      CHECK(merkle::verify_inclusion(seq - 1, size, leaves[seq - 1], *proof, root));
    }
    auto consistency = log.consistency_proof(*d.c, size, n);
    REQUIRE(consistency);
    CHECK(merkle::verify_consistency(size, n, root, log.root(*d.c, n).value(), *consistency));
  }
  CHECK_FALSE(log.root(*d.c, n + 1));
  CHECK_FALSE(log.inclusion_proof(*d.c, 0, 5));
  CHECK_FALSE(log.inclusion_proof(*d.c, 6, 5));
  CHECK_FALSE(log.inclusion_proof(*d.c, 1, n + 1));
  CHECK_FALSE(log.consistency_proof(*d.c, 0, 5));
  CHECK_FALSE(log.consistency_proof(*d.c, 5, 4));
  CHECK_FALSE(log.consistency_proof(*d.c, 5, n + 1));
}

TEST_CASE("pg audit: checkpoints are signed every checkpoint_records and on demand",
          "[pg][audit]") {
  OPEN_DB(d);
  audit log(new_key(), {.checkpoint_records = 100});
  auto none = d.write([&](pq::connection& c) { return log.checkpoint_now(c, t0); });
  REQUIRE_FALSE(none);
  CHECK(none.error().code == errc::not_found);
  CHECK_FALSE(log.checkpoint(*d.c).value());

  append_configs(d, log, 90, 30, t0);
  CHECK_FALSE(log.checkpoint(*d.c).value());
  append_configs(d, log, 30, 30, t0);  // 120: due
  auto c = log.checkpoint(*d.c).value();
  REQUIRE(c);
  CHECK(c->tree_size == 120);
  CHECK(c->root_hash == log.root(*d.c, 120).value());
  auto last = formats::parse_json(log.record_json(*d.c, 120).value().value());
  REQUIRE(last);
  CHECK(c->chain_hash == formats::parse_audit_record(last->root()).value().hash);
  CHECK(formats::checkpoint_signature_ok(*c, log.public_key_pem()));
  append_configs(d, log, 10, 10, t0);
  auto on_demand = d.write([&](pq::connection& c) { return log.checkpoint_now(c, t0 + 1); });
  REQUIRE(on_demand);
  CHECK(on_demand->tree_size == 130);
  CHECK(on_demand->root_hash == log.root(*d.c, 130).value());
  CHECK(formats::checkpoint_signature_ok(*on_demand, log.public_key_pem()));
  CHECK(on_demand->time == formats::format_taxii_time(t0 + 1));
  // Covered already: the same one.
  auto again = d.write([&](pq::connection& c) { return log.checkpoint_now(c, t0 + 2); });
  CHECK(again.value().signature == on_demand->signature);
  CHECK(log.checkpoint(*d.c).value()->tree_size == 130);
}

// The contract test's log: 1 publish, 2 pull, 3 counter, 4 pull of another
// collection, 5 delete; object 1 is at position t0 of collection 1.
struct query_fixture {
  explicit query_fixture(db& d, pg::audit_settings s = {}) : d(d), log(new_key(), s) {
    d.sql(
        "INSERT INTO collections (key, name) VALUES (1, 'root/one'), (2, 'root/two');"
        "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version, "
        "publisher, tlp, json) VALUES (1, " +
        std::to_string(t0) + ", '" + object_id(1) + "', '" + v1 +
        "', 'k', '2.1', 'alice', 1, '{}'), (1, " + std::to_string(t0 + 1) + ", '" + object_id(2) +
        "', '" + v1 + "', 'k', '2.1', 'alice', 1, '{}')");
    audit_entry publish;
    publish.account = "alice";
    publish.remote = "127.0.0.1";
    publish.api_root = "root";
    publish.collection = "one";
    publish.status = 202;
    append(pg::audit_append_of(publish, "publish", {{object_id(1), v1}}, 1, {t0}), t0);
    append(pg::audit_append_of(pull_entry("bob", "one", 1, {{t0, 1}})).value(), t0 + 10);
    audit_entry counter;
    counter.action = "auth-failure";
    counter.remote = "10.0.0.1";
    counter.suppressed = 4;
    counter.accounts = {{"bob", 3}};
    append(pg::audit_append_of(counter).value(), t0 + 20);
    append(pg::audit_append_of(pull_entry("bob", "two", 2, {})).value(), t0 + 30);
    audit_entry remove;
    remove.account = "admin";
    remove.api_root = "root";
    remove.collection = "one";
    remove.status = 200;
    append(pg::audit_append_of(remove, "delete", {{object_id(1), v1}}), t0 + 30);
  }
  void append(audit_append a, micros now) {
    std::vector<audit_append> v;
    v.push_back(std::move(a));
    REQUIRE(d.write([&](pq::connection& c) { return log.append(c, std::move(v), now); }));
  }
  std::vector<std::uint64_t> query(const audit_query& q) {
    auto page = log.query(*d.c, q);
    REQUIRE(page);
    return seqs_of(*page);
  }
  static std::vector<std::uint64_t> seqs_of(const audit_page& page) {
    std::vector<std::uint64_t> out;
    for (const auto& json : page.records) {
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      out.push_back(static_cast<std::uint64_t>(doc->root().get("seq")->as_int()));
    }
    return out;
  }
  db& d;
  audit log;
};

TEST_CASE("pg audit: queries filter by every field and page", "[pg][audit]") {
  OPEN_DB(d);
  query_fixture f(d);
  using seqs = std::vector<std::uint64_t>;
  CHECK(f.query({}) == seqs{1, 2, 3, 4, 5});
  audit_query q;
  q.object = object_id(1);
  CHECK(f.query(q) == seqs{1, 2, 5});
  q.object = object_id(2);  // stored, never delivered
  CHECK(f.query(q).empty());
  q.object = object_id(3);  // unknown
  CHECK(f.query(q).empty());
  q = {};
  q.account = "bob";
  CHECK(f.query(q) == seqs{2, 3, 4});
  q.action = "pull";
  CHECK(f.query(q) == seqs{2, 4});
  q = {};
  q.collection = "two";
  CHECK(f.query(q) == seqs{4});
  q = {};
  q.action = "pull";
  CHECK(f.query(q) == seqs{2, 4});
  q = {};
  q.since = t0 + 10;
  q.until = t0 + 20;
  CHECK(f.query(q) == seqs{2, 3});
  q.until = t0 + 19;
  CHECK(f.query(q) == seqs{2});
  q = {};
  q.since = t0 + 31;
  CHECK(f.query(q).empty());
  q = {};
  q.scope = audit_scope{{{"root", "one"}}, {1}};
  CHECK(f.query(q) == seqs{1, 2, 3, 5});
  q.action = "auth-failure";
  CHECK(f.query(q) == seqs{3});
  q.action = "pull";
  CHECK(f.query(q) == seqs{2});
  q = {};
  q.scope = audit_scope{{{"other", "one"}}, {}};  // same id, another API root
  CHECK(f.query(q) == seqs{3});
  q.object = object_id(1);
  q.scope = audit_scope{{{"root", "two"}}, {2}};
  CHECK(f.query(q).empty());
  q.scope = audit_scope{{{"root", "one"}}, {1}};
  CHECK(f.query(q) == seqs{1, 2, 5});
  q = {};
  q.object = object_id(1);
  q.after = 1;
  q.until = t0 + 10;
  CHECK(f.query(q) == seqs{2});
  q = {};
  q.action = "steal";
  CHECK_FALSE(f.log.query(*d.c, q));

  // Paging: limit, more and resume.
  q = {};
  q.limit = 2;
  auto page = f.log.query(*d.c, q).value();
  CHECK(query_fixture::seqs_of(page) == seqs{1, 2});
  CHECK(page.more);
  CHECK(page.resume == 2);
  q.after = page.resume;
  page = f.log.query(*d.c, q).value();
  CHECK(query_fixture::seqs_of(page) == seqs{3, 4});
  q.after = page.resume;
  page = f.log.query(*d.c, q).value();
  CHECK(query_fixture::seqs_of(page) == seqs{5});
  CHECK_FALSE(page.more);
  q = {};
  q.limit = 0;  // at least one
  CHECK(f.query(q) == seqs{1});
  q = {};
  q.account = "bob";
  q.limit = 2;
  page = f.log.query(*d.c, q).value();
  CHECK(query_fixture::seqs_of(page) == seqs{2, 3});
  CHECK(page.more);
  CHECK(page.resume == 3);
  // The page holds the records JSON as record_json gives them.
  CHECK(page.records[0] == f.log.record_json(*d.c, 2).value().value());
}

TEST_CASE("pg audit: a publish's record lists its added versions by position, then its duplicates",
          "[pg][audit]") {
  OPEN_DB(d);
  add_versions(d, 0, 9);
  audit log(new_key(), {});
  audit_entry e;
  e.account = "alice";
  e.remote = "127.0.0.1";
  e.api_root = "root";
  e.collection = "one";
  e.status = 202;
  const std::vector<formats::audit_object> objects = {
      {object_id(3), v1},
      {object_id(4), v1},
      {object_id(5), v1},
      {object_id(9), v1},
      {object_id(42), v2}};  // the last two: duplicates, named by id
  std::vector<audit_append> v;
  v.push_back(pg::audit_append_of(e, "publish", objects, 1, {t0 + 3, t0 + 4, t0 + 5}));
  REQUIRE(d.write([&](pq::connection& c) { return log.append(c, std::move(v), t0 + 50); }));

  formats::audit_record r;
  r.seq = 1;
  r.time = formats::format_taxii_time(t0 + 50);
  r.account = "alice";
  r.action = "publish";
  r.remote = "127.0.0.1";
  r.api_root = "root";
  r.collection = "one";
  r.status = 202;
  r.objects = objects;
  r.hash = formats::audit_chain_hash({}, formats::audit_body(r));
  CHECK(log.record_json(*d.c, 1).value().value() ==
        formats::audit_record_json(r, formats::audit_objects_json(r.objects)));
  auto page = log.query(*d.c, {}).value();
  REQUIRE(page.records.size() == 1);
  CHECK(page.records[0] == log.record_json(*d.c, 1).value().value());
  // Found by position and by id; not for a version it does not list.
  for (const int n : {3, 5, 9, 42}) {
    audit_query q;
    q.object = object_id(n);
    CHECK(query_fixture::seqs_of(log.query(*d.c, q).value()) == std::vector<std::uint64_t>{1});
  }
  audit_query q;
  q.object = object_id(6);
  CHECK(log.query(*d.c, q).value().records.empty());
  // Stored compactly: the positioned versions are not in the row's JSON.
  auto row = d.c->exec("SELECT json FROM audit WHERE seq = 1");
  REQUIRE(row);
  CHECK(std::string(row->text(0, 0)).find(object_id(3)) == std::string::npos);
  CHECK(verify_pg_audit_log(d.options(), log.public_key_pem()).value().intact);
}

TEST_CASE("pg audit: a page stops at max_audit_page_objects", "[pg][audit]") {
  OPEN_DB(d);
  add_versions(d, 0, 39'999);
  audit log(new_key(), {});
  // Three pulls of 40,000 versions each: two fill a page.
  for (int r = 0; r < 3; ++r) {
    audit_entry e;
    e.action = "pull";
    e.account = "bob";
    e.api_root = "root";
    e.collection = "one";
    e.key = 1;
    for (int i = 0; i < 40'000; ++i) e.delivered.add(t0 + i, object_id(i), v1);
    std::vector<audit_append> v;
    v.push_back(pg::audit_append_of(e).value());
    REQUIRE(d.write([&](pq::connection& c) { return log.append(c, std::move(v), t0); }));
  }
  auto page = log.query(*d.c, {}).value();
  CHECK(page.records.size() == 3);  // 80,000 < 100,000 before the third
  CHECK_FALSE(page.more);
  std::vector<audit_append> v;
  audit_entry e;
  e.action = "config";
  v.push_back(pg::audit_append_of(e).value());
  REQUIRE(d.write([&](pq::connection& c) { return log.append(c, std::move(v), t0); }));
  page = log.query(*d.c, {}).value();
  CHECK(page.records.size() == 3);  // 120,000 >= 100,000: the fourth waits
  CHECK(page.more);
  CHECK(page.resume == 3);
}

TEST_CASE("pg audit: a query examines at most max_audit_examined records, then resumes",
          "[pg][audit]") {
  OPEN_DB(d);
  audit log(new_key(), {});
  // Written directly (only the query's columns are real): bob's config
  // records, then one pull of his past the examined limit.
  const auto n = static_cast<std::int64_t>(max_audit_examined) + 5;
  d.sql(
      "INSERT INTO audit (seq, time, action, account, api_root, collection, objects, hash, "
      "leaf, json) SELECT s, s, CASE WHEN s = " +
      std::to_string(n) +
      " THEN 2 ELSE 6 END, 'bob', '', '', 0, '\\x00'::bytea, '\\x00'::bytea, "
      "'{\"seq\":' || s || '}' FROM generate_series(1, " +
      std::to_string(n) +
      ") s;"
      "INSERT INTO audit_accounts SELECT 'bob', s FROM generate_series(1, " +
      std::to_string(n) + ") s; UPDATE audit_head SET seq = " + std::to_string(n));
  audit_query q;
  q.account = "bob";
  q.action = "pull";
  auto page = log.query(*d.c, q).value();
  CHECK(page.records.empty());
  CHECK(page.more);
  CHECK(page.resume == max_audit_examined);
  q.after = page.resume;
  page = log.query(*d.c, q).value();
  CHECK(query_fixture::seqs_of(page) == std::vector<std::uint64_t>{static_cast<std::uint64_t>(n)});
  CHECK_FALSE(page.more);
  // Without a filter beyond the driver's, every candidate matches.
  q = {};
  q.account = "bob";
  q.limit = 3;
  page = log.query(*d.c, q).value();
  CHECK(query_fixture::seqs_of(page) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(page.more);
  CHECK(page.resume == 3);
}

TEST_CASE("pg audit: an imported log reads back byte for byte and verifies", "[pg][audit]") {
  OPEN_DB(d);
  // The source: a log with records of every kind and a checkpoint.
  OPEN_DB(src);
  add_versions(src, 0, 2);
  audit source(new_key(), {.checkpoint_records = 3});
  std::vector<audit_append> all;
  for (const auto& e : sample_entries()) all.push_back(pg::audit_append_of(e).value());
  REQUIRE(src.write([&](pq::connection& c) { return source.append(c, std::move(all), t0); }));
  append_configs(src, source, 400, 100, t0 + 1);
  const std::uint64_t n = source.size(*src.c).value();
  const auto cp = source.checkpoint(*src.c).value().value();

  auto import_all = [&](db& into, std::function<std::string(std::uint64_t, std::string)> edit,
                        std::vector<formats::audit_checkpoint> cps) -> result<void> {
    REQUIRE(into.c->begin());
    pg::audit_importer imp(*into.c);
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
      auto r = imp.record(edit(seq, source.record_json(*src.c, seq).value().value()));
      if (!r) {
        into.c->rollback();
        return r;
      }
    }
    for (const auto& c : cps) REQUIRE(imp.checkpoint(c));
    auto done = imp.finish();
    if (!done) {
      into.c->rollback();
      return done;
    }
    REQUIRE(into.c->commit());
    return {};
  };
  auto same = [](std::uint64_t, std::string json) { return json; };
  REQUIRE(import_all(d, same, {cp}));
  audit log(new_key(), {});
  CHECK(log.size(*d.c).value() == n);
  for (std::uint64_t seq = 1; seq <= n; seq += 37) {
    CHECK(log.record_json(*d.c, seq).value().value() ==
          source.record_json(*src.c, seq).value().value());
  }
  CHECK(log.root(*d.c, n).value() == source.root(*src.c, n).value());
  CHECK(log.checkpoint(*d.c).value().value().signature == cp.signature);
  auto verdict = verify_pg_audit_log(d.options(), source.public_key_pem()).value();
  CHECK(verdict.problem == "");
  CHECK(verdict.intact);
  CHECK(verdict.records == n);
  CHECK(verdict.checkpoints == 1);
  // The delivery statistics came with the records (counted by the importer).
  const auto imported_stats = log.stats(*d.c, {}).value();
  const auto source_stats = source.stats(*src.c, {}).value();
  REQUIRE_FALSE(source_stats.empty());
  REQUIRE(imported_stats.size() == source_stats.size());
  for (std::size_t i = 0; i < source_stats.size(); ++i) {
    CHECK(imported_stats[i].account == source_stats[i].account);
    CHECK(imported_stats[i].bucket == source_stats[i].bucket);
    CHECK(imported_stats[i].records == source_stats[i].records);
    CHECK(imported_stats[i].objects == source_stats[i].objects);
  }
  // The alert record (seq 6) came through with its members; its kind column,
  // and the members in its text, are checked.
  CHECK(log.record_json(*d.c, 6).value().value().find(
            R"("detail":"2 refused requests within 60 s","evidence":[4,5],)"
            R"("hash":")") != std::string::npos);
  audit_query by_kind;
  by_kind.kind = "denied-burst";
  CHECK(log.query(*d.c, by_kind).value().records.size() == 1);
  for (const char* tamper : {
           "UPDATE audit SET kind = 'volume' WHERE seq = 6",
           "UPDATE audit SET kind = '' WHERE seq = 6",
           "UPDATE audit SET json = replace(json, '\"evidence\":[4,5]', '\"evidence\":[4]') "
           "WHERE seq = 6",
           "UPDATE audit SET json = replace(json, '\"kind\":\"denied-burst\"', "
           "'\"kind\":\"volume\"'), kind = 'volume' WHERE seq = 6",
       }) {
    INFO(tamper);
    d.sql("CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE seq = 6");
    d.sql(tamper);
    auto damaged = verify_pg_audit_log(d.options(), source.public_key_pem()).value();
    CHECK_FALSE(damaged.intact);
    CHECK(damaged.first_bad == 6);
    d.sql(
        "DELETE FROM audit WHERE seq = 6; INSERT INTO audit SELECT * FROM saved; "
        "DROP TABLE saved");
  }
  CHECK(verify_pg_audit_log(d.options(), source.public_key_pem()).value().intact);
  // Appending goes on from the imported head.
  append_configs(d, log, 1, 1, t0 + 2);
  CHECK(log.size(*d.c).value() == n + 1);

  // A record changed in transit, a record out of order, a checkpoint of
  // another log: refused, nothing stored.
  OPEN_DB(other);
  auto changed = [](std::uint64_t seq, std::string json) {
    if (seq == 7) json.replace(json.find("\"status\":0"), 10, "\"status\":1");
    return json;
  };
  auto refused = import_all(other, changed, {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("record 7") != std::string::npos);
  auto skipped = [&](std::uint64_t seq, std::string json) {
    return seq == 5 ? source.record_json(*src.c, 6).value().value() : json;
  };
  CHECK_FALSE(import_all(other, skipped, {}));
  auto forged = cp;
  forged.root_hash[0] ^= 1;
  auto bad_cp = import_all(other, same, {forged});
  REQUIRE_FALSE(bad_cp);
  CHECK(bad_cp.error().message.find("does not match") != std::string::npos);
  CHECK(audit(new_key(), {}).size(*other.c).value() == 0);
}

TEST_CASE("pg audit: verification walks the log and names the first bad record", "[pg][audit]") {
  OPEN_DB(d);
  audit log(new_key(), {});
  query_fixture f(d, {.checkpoint_records = 200});  // 1..5: positions, objects by id
  append_configs(d, f.log, 595, 60, t0 + 40);
  auto intact = verify_pg_audit_log(d.options(), f.log.public_key_pem()).value();
  CHECK(intact.problem == "");
  CHECK(intact.intact);
  CHECK(intact.records == 600);
  CHECK(intact.checkpoints == 2);  // at 245 and 485 (the ends of the batches due)

  // Another key: the checkpoints do not verify.
  auto stranger = verify_pg_audit_log(d.options(), log.public_key_pem()).value();
  CHECK_FALSE(stranger.intact);
  CHECK(stranger.problem.find("another public key") != std::string::npos);

  // Each damage on a copy of what it changes, put back after.
  auto verdict_after = [&](const std::string& table, const std::string& where,
                           const std::string& tamper) {
    d.sql("CREATE TEMP TABLE saved AS SELECT * FROM " + table + " WHERE " + where);
    d.sql(tamper);
    auto v = verify_pg_audit_log(d.options(), f.log.public_key_pem()).value();
    d.sql("DELETE FROM " + table + " WHERE " + where + "; INSERT INTO " + table +
          " SELECT * FROM saved; DROP TABLE saved");
    CHECK(verify_pg_audit_log(d.options(), f.log.public_key_pem()).value().intact);
    return v;
  };
  // A record's text changed.
  auto v = verdict_after("audit", "seq = 77",
                         "UPDATE audit SET json = replace(json, '\"status\":0', '\"status\":1') "
                         "WHERE seq = 77");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 77);
  // ... with its hash recomputed: the next record's prev no longer names it.
  // (Changing the whole tail would need the key: the checkpoint catches it.)
  v = verdict_after("audit", "seq = 2",
                    "UPDATE audit SET account = 'eve', json = replace(json, '\"bob\"', '\"eve\"') "
                    "WHERE seq = 2");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 2);
  // A stored leaf.
  v = verdict_after("audit", "seq = 300", "UPDATE audit SET leaf = hash WHERE seq = 300");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 300);
  CHECK(v.problem.find("leaf") != std::string::npos);
  // A tree node.
  v = verdict_after("audit_nodes", "height = 8 AND idx = 1",
                    "UPDATE audit_nodes SET hash = decode(repeat('00', 32), 'hex') "
                    "WHERE height = 8 AND idx = 1");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 257);
  // A position index that names other versions than the record lists.
  v = verdict_after("audit", "seq = 2",
                    "UPDATE audit SET runs = ARRAY[first_position + 1, 1] WHERE seq = 2");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 2);
  // A version a record lists by position, changed in the objects table.
  v = verdict_after("objects", "collection = 1 AND date_added = " + std::to_string(t0),
                    "UPDATE objects SET version = '2026-09-09T00:00:00.000Z' WHERE collection = 1 "
                    "AND date_added = " +
                        std::to_string(t0));
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 1);
  // A checkpoint's signature.
  v = verdict_after("audit_checkpoints", "tree_size = 245",
                    "UPDATE audit_checkpoints SET json = replace(json, '\"time\":\"2026', "
                    "'\"time\":\"2027') WHERE tree_size = 245");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 245);
  CHECK(v.problem.find("signature") != std::string::npos);
  // A record missing from the middle.
  v = verdict_after("audit", "seq = 450", "DELETE FROM audit WHERE seq = 450");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 450);
  CHECK(v.problem.find("missing") != std::string::npos);
  // An index entry too many.
  v = verdict_after("audit_accounts", "account = 'zed'",
                    "INSERT INTO audit_accounts VALUES ('zed', 3)");
  CHECK_FALSE(v.intact);
  CHECK(v.first_bad == 0);
}

}  // namespace
}  // namespace cairn::storage
