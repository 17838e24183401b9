// What the PostgreSQL store (storage/postgres_store.hpp) promises beyond the
// seam's contract (store_contract_test.cpp runs that on it too): several
// nodes on one database, the schema and key checks at open, the database
// going away and coming back, and the importer of cairnd migrate. Against a
// real server; skipped, visibly, without one.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "storage/memory_store.hpp"
#include "storage/pg/pq.hpp"
#include "storage/postgres_store.hpp"
#include "support/files.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"
#include "support/temp_dir.hpp"

namespace cairn::storage {
namespace {

using formats::tlp_level;
using namespace std::chrono_literals;

#define REQUIRE_PG_SERVER()                                         \
  do {                                                              \
    if (!testing::test_pg_conninfo()) {                             \
      CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)"); \
    }                                                               \
  } while (false)

// One initialised database and the key file its nodes share.
struct deployment {
  testing::temp_dir dir{"cairn-pg"};
  pg_store_options options;
  std::string public_pem;

  deployment() {
    auto conninfo = testing::fresh_pg_database("pg_store");
    REQUIRE(conninfo);
    auto key = formats::ed25519_key::generate();
    REQUIRE(key);
    public_pem = key->public_pem();
    options.conninfo = *conninfo;
    options.pool_size = 4;
    options.key_path = (dir / "audit-signing.key").string();
    options.connect_timeout = 2s;
    options.acquire_timeout = 2s;
    testing::write_file(options.key_path, key->private_pem());
    REQUIRE(pg_init_schema(options, public_pem).value() == pg_init_outcome::created);
  }

  std::unique_ptr<store> node() const {
    auto s = open_pg_store(options);
    REQUIRE(s);
    return std::move(*s);
  }

  // A superuser's connection to the server's maintenance database.
  std::unique_ptr<pq::connection> admin() const {
    pg_options a;
    a.conninfo = testing::with_pg_database(*testing::test_pg_conninfo(), "postgres").value();
    auto c = pq::connection::open(a);
    REQUIRE(c);
    return std::move(*c);
  }

  std::string database() const {
    auto c = pq::connection::open(options);
    REQUIRE(c);
    auto name = (*c)->exec("SELECT current_database()");
    REQUIRE(name);
    return std::string(name->text(0, 0));
  }
};

std::string object_id(int node, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08x-%04x-4000-8000-000000000000", n, node);
  return buf;
}

new_object object(const std::string& id, tlp_level tlp = tlp_level::green) {
  new_object o;
  o.id = id;
  o.type = "indicator";
  o.version = "2026-01-01T00:00:00.000Z";
  o.spec_version = "2.1";
  o.tlp = tlp;
  o.json = R"({"id":")" + id + R"("})";
  return o;
}

result<publish_outcome> publish(store& s, collection_key key, std::vector<new_object> objects,
                                std::string publisher = "alice") {
  publish_request r;
  r.collection = key;
  r.publisher = std::move(publisher);
  r.objects = std::move(objects);
  audit_entry e;
  e.account = r.publisher;
  e.api_root = "root";
  e.collection = "one";
  e.status = 202;
  std::promise<result<publish_outcome>> p;
  s.publish(std::move(r), std::move(e),
            [&](result<publish_outcome> out) { p.set_value(std::move(out)); });
  return p.get_future().get();
}

// Waits (up to a generous bound, not a timing assertion) for pred.
template <class F>
bool eventually(F pred) {
  for (int i = 0; i < 600; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

TEST_CASE("pg store: two nodes publish concurrently into one collection and one audit log",
          "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  auto a = d.node();
  auto b = d.node();
  const collection_key key = a->collection("root/one").value();
  CHECK(b->collection("root/one").value() == key);
  CHECK(b->collection("root/two").value() == key + 1);
  CHECK(a->collection("root/two").value() == key + 1);

  constexpr int k_publishers_per_node = 3;
  constexpr int k_requests = 40;
  constexpr int k_objects = 5;
  std::atomic<int> publishing{2 * k_publishers_per_node};
  std::mutex positions_mutex;
  std::vector<micros> positions;
  std::atomic<int> failures{0};

  auto publisher = [&](store& s, int node) {
    for (int r = 0; r < k_requests; ++r) {
      std::vector<new_object> objects;
      for (int i = 0; i < k_objects; ++i) {
        objects.push_back(object(object_id(node, r * k_objects + i),
                                 i % 2 ? tlp_level::green : tlp_level::amber));
      }
      auto out = publish(s, key, std::move(objects), "node" + std::to_string(node));
      if (!out || out->added != k_objects) {
        ++failures;
        continue;
      }
      std::lock_guard lock(positions_mutex);
      positions.insert(positions.end(), out->added_positions.begin(), out->added_positions.end());
    }
    --publishing;
  };

  // A reader on each node, paging by position while the publishers run:
  // what it sees must come in strictly increasing position order and, once
  // all is committed, include everything (nothing skipped).
  struct seen_t {
    std::vector<micros> positions;
    std::set<std::string> ids;
    bool ordered = true;
    bool read_errors = false;
  };
  auto pager = [&](store& s) {
    seen_t seen;
    micros after = 0;
    for (;;) {
      const bool last_round = publishing.load() == 0;
      std::size_t page = 0;
      auto r = s.begin_read();
      r->scan(key, after, {}, [&](const object_record& rec) {
        if (rec.date_added <= after) seen.ordered = false;
        after = rec.date_added;
        seen.positions.push_back(rec.date_added);
        if (!seen.ids.emplace(rec.id).second) seen.ordered = false;  // a repeat
        return ++page < 17;
      });
      if (r->last_error()) seen.read_errors = true;  // checked after: Catch is not thread-safe
      if (page == 0 && last_round) break;
      if (page == 0) std::this_thread::sleep_for(1ms);
    }
    return seen;
  };

  std::vector<std::thread> threads;
  for (int p = 0; p < k_publishers_per_node; ++p) {
    threads.emplace_back(publisher, std::ref(*a), 2 * p);
    threads.emplace_back(publisher, std::ref(*b), 2 * p + 1);
  }
  auto seen_a = std::async(std::launch::async, pager, std::ref(*a));
  auto seen_b = std::async(std::launch::async, pager, std::ref(*b));
  for (auto& t : threads) t.join();
  const seen_t on_a = seen_a.get();
  const seen_t on_b = seen_b.get();

  const std::size_t total = 2 * k_publishers_per_node * k_requests * k_objects;
  CHECK(failures == 0);
  REQUIRE(positions.size() == total);
  std::sort(positions.begin(), positions.end());
  CHECK(std::adjacent_find(positions.begin(), positions.end()) == positions.end());  // unique
  for (const seen_t* seen : {&on_a, &on_b}) {
    CHECK(seen->ordered);
    CHECK_FALSE(seen->read_errors);
    CHECK(seen->positions == positions);  // every one, in order, none repeated
    CHECK(seen->ids.size() == total);
  }

  // One audit log: a record per publish, seq 1..N, one hash chain.
  const std::uint64_t records = 2 * k_publishers_per_node * k_requests;
  CHECK(a->audit_size().value() == records);
  CHECK(b->audit_size().value() == records);
  formats::merkle::digest prev{};
  std::uint64_t expected_seq = 1;
  audit_query q;
  q.limit = max_audit_limit;
  for (;;) {
    auto page = b->audit_records(q);
    REQUIRE(page);
    for (const auto& json : page->records) {
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      auto rec = formats::parse_audit_record(doc->root());
      REQUIRE(rec);
      CHECK(rec->seq == expected_seq++);
      CHECK(rec->prev == prev);
      auto body = formats::audit_body_of(doc->root());
      REQUIRE(body);
      CHECK(rec->hash == formats::audit_chain_hash(prev, *body));
      prev = rec->hash;
    }
    if (!page->more) break;
    q.after = page->resume;
  }
  CHECK(expected_seq == records + 1);

  // Group commit: concurrent jobs shared transactions.
  const auto stats_a = a->stats();
  CHECK(stats_a.jobs >= records / 2);
  CHECK(stats_a.failed_commits == 0);

  // Checkpoints from either node cover the one log.
  std::promise<result<formats::audit_checkpoint>> signed_one;
  a->checkpoint_now([&](result<formats::audit_checkpoint> c) { signed_one.set_value(c); });
  auto c = signed_one.get_future().get();
  REQUIRE(c);
  CHECK(c->tree_size == records);
  CHECK(formats::checkpoint_signature_ok(*c, b->public_key_pem()));
  CHECK(b->checkpoint().value()->tree_size == records);
}

TEST_CASE("pg store: concurrent writes on one node share commits", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  auto s = d.node();
  const collection_key key = s->collection("root/one").value();
  constexpr int k_jobs = 300;
  std::vector<std::promise<result<publish_outcome>>> done(k_jobs);
  const auto commits_before = s->stats().commits;
  for (int i = 0; i < k_jobs; ++i) {
    publish_request r;
    r.collection = key;
    r.publisher = "alice";
    r.objects = {object(object_id(0, i))};
    audit_entry e;
    e.collection = "one";
    s->publish(std::move(r), std::move(e),
               [&done, i](result<publish_outcome> out) { done[i].set_value(std::move(out)); });
  }
  micros last = 0;
  for (auto& p : done) {
    auto out = p.get_future().get();
    REQUIRE(out);
    CHECK(out->first_date_added > last);  // in submission order
    last = out->first_date_added;
  }
  const auto stats = s->stats();
  CHECK(stats.jobs >= static_cast<std::uint64_t>(k_jobs));
  // Submitted at once, committed in far fewer transactions than jobs.
  CHECK(stats.commits - commits_before < static_cast<std::uint64_t>(k_jobs));
  CHECK(s->audit_size().value() == static_cast<std::uint64_t>(k_jobs));
}

TEST_CASE("pg store: a bad job in a group commit fails alone", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  auto s = d.node();
  const collection_key key = s->collection("root/one").value();
  // Many jobs at once so that they share a transaction; one of them has a
  // publisher name the store refuses.
  constexpr int k_jobs = 50;
  std::vector<std::promise<result<publish_outcome>>> done(k_jobs);
  for (int i = 0; i < k_jobs; ++i) {
    publish_request r;
    r.collection = key;
    r.publisher = i == 25 ? std::string(5000, 'p') : "alice";
    r.objects = {object(object_id(0, i))};
    audit_entry e;
    e.collection = "one";
    s->publish(std::move(r), std::move(e),
               [&done, i](result<publish_outcome> out) { done[i].set_value(std::move(out)); });
  }
  for (int i = 0; i < k_jobs; ++i) {
    auto out = done[i].get_future().get();
    CHECK(out.has_value() == (i != 25));
  }
  CHECK(s->audit_size().value() == k_jobs - 1);
}

TEST_CASE("pg store: a node refuses a signing key that is not the deployment's", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  auto other = formats::ed25519_key::generate();
  REQUIRE(other);
  pg_store_options o = d.options;
  o.key_path = (d.dir / "other.key").string();
  testing::write_file(o.key_path, other->private_pem());
  auto refused = open_pg_store(o);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("not this deployment's") != std::string::npos);

  o.key_path = (d.dir / "missing.key").string();
  refused = open_pg_store(o);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("missing.key") != std::string::npos);

  // db init again: the same key is current, another is refused.
  CHECK(pg_init_schema(d.options, d.public_pem).value() == pg_init_outcome::already_current);
  auto again = pg_init_schema(d.options, other->public_pem());
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::invalid_input);
}

TEST_CASE("pg store: an unknown schema version is refused with both versions", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  {
    auto c = pq::connection::open(d.options);
    REQUIRE(c);
    REQUIRE((*c)->exec("UPDATE cairn_meta SET value = '7' WHERE key = 'schema_version'"));
  }
  auto refused = open_pg_store(d.options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::invalid_input);
  CHECK(refused.error().message.find("database schema version 7, this cairnd knows 2") !=
        std::string::npos);
  auto init = pg_init_schema(d.options, d.public_pem);
  REQUIRE_FALSE(init);
  CHECK(init.error().code == errc::invalid_input);
  CHECK(init.error().message.find("version 7") != std::string::npos);

  // An empty database has no schema: open says to run db init.
  pg_store_options empty = d.options;
  empty.conninfo = testing::fresh_pg_database("pg_empty").value();
  refused = open_pg_store(empty);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("db init") != std::string::npos);
}

TEST_CASE("pg store: the database going away fails writes, then the store recovers by itself",
          "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  const std::string db = d.database();
  std::vector<std::string> notices;
  std::mutex notices_mutex;
  d.options.notice = [&](std::string_view n) {
    std::lock_guard lock(notices_mutex);
    notices.emplace_back(n);
  };
  auto s = d.node();
  const collection_key key = s->collection("root/one").value();
  REQUIRE(publish(*s, key, {object(object_id(0, 1))}));
  CHECK(s->healthy());

  // The database refuses new connections and its sessions are ended.
  auto admin = d.admin();
  const pq::statement kill{"test_kill_all",
                           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = $1 AND pid <> pg_backend_pid()"};
  auto allow = [&](bool yes) {
    // A database name from current_database(), of a name we made: [a-z0-9_].
    REQUIRE(admin->exec("ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS " +
                        (yes ? "true" : "false")));
  };
  allow(false);
  REQUIRE(admin->run(kill, pq::params().text(db)));

  auto lost = publish(*s, key, {object(object_id(0, 2))});
  REQUIRE_FALSE(lost);
  CHECK(lost.error().code == errc::unavailable);
  CHECK_FALSE(s->healthy());
  // While it is away: at once, unavailable; readers say so.
  auto refused = publish(*s, key, {object(object_id(0, 3))});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::unavailable);
  {
    auto r = s->begin_read();
    CHECK_FALSE(r->at(key, 1));
    REQUIRE(r->last_error());
    CHECK(r->last_error()->code == errc::unavailable);
  }
  CHECK_FALSE(s->audit_size());
  CHECK_FALSE(s->healthy());

  allow(true);
  CHECK(eventually([&] { return s->healthy(); }));
  auto back = publish(*s, key, {object(object_id(0, 4))});
  REQUIRE(back);
  CHECK(back->added == 1);
  // Nothing of the failed writes was stored; everything acknowledged was.
  auto r = s->begin_read();
  std::vector<std::string> ids;
  r->scan(key, 0, {}, [&](const object_record& rec) {
    ids.emplace_back(rec.id);
    return true;
  });
  CHECK(ids == std::vector<std::string>{object_id(0, 1), object_id(0, 4)});
  CHECK(s->audit_size().value() == 2);
  CHECK(s->stats().failed_commits >= 1);
  std::lock_guard lock(notices_mutex);
  CHECK_FALSE(notices.empty());
}

TEST_CASE("pg store: an idle node notices that its database went away, and that it is back",
          "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  const std::string db = d.database();
  auto s = d.node();
  const collection_key key = s->collection("root/one").value();
  REQUIRE(publish(*s, key, {object(object_id(0, 1))}));
  CHECK(s->healthy());

  // No request comes while the database refuses connections and ends its
  // sessions: health must turn without one.
  auto admin = d.admin();
  const pq::statement kill{"test_kill_idle",
                           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = $1 AND pid <> pg_backend_pid()"};
  REQUIRE(admin->exec("ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS false"));
  REQUIRE(admin->run(kill, pq::params().text(db)));
  CHECK(eventually([&] { return !s->healthy(); }));

  REQUIRE(admin->exec("ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS true"));
  CHECK(eventually([&] { return s->healthy(); }));
  REQUIRE(publish(*s, key, {object(object_id(0, 2))}));
}

TEST_CASE("pg store: close commits what is queued and signs a last checkpoint", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  {
    auto s = d.node();
    const collection_key key = s->collection("root/one").value();
    std::atomic<int> acknowledged{0};
    for (int i = 0; i < 20; ++i) {
      publish_request r;
      r.collection = key;
      r.objects = {object(object_id(0, i))};
      audit_entry e;
      e.collection = "one";
      s->publish(std::move(r), std::move(e), [&](result<publish_outcome> out) {
        if (out) ++acknowledged;
      });
    }
    s->close();
    CHECK(acknowledged == 20);
    s->close();  // idempotent
  }
  auto s = d.node();
  CHECK(s->audit_size().value() == 20);
  auto c = s->checkpoint().value();
  REQUIRE(c);
  CHECK(c->tree_size == 20);
}

TEST_CASE("pg store: a checkpoint is signed every checkpoint_interval while records arrive",
          "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  d.options.checkpoint_interval = 100ms;
  auto s = d.node();
  const collection_key key = s->collection("root/one").value();
  CHECK_FALSE(s->checkpoint().value());
  REQUIRE(publish(*s, key, {object(object_id(0, 1))}));
  CHECK(eventually([&] {
    auto c = s->checkpoint();
    return c && *c && (*c)->tree_size == 1;
  }));
  REQUIRE(publish(*s, key, {object(object_id(0, 2))}));
  CHECK(eventually([&] {
    auto c = s->checkpoint();
    return c && *c && (*c)->tree_size == 2;
  }));
  CHECK(formats::checkpoint_signature_ok(*s->checkpoint().value(), d.public_pem));
}

TEST_CASE("pg store: the writer analyses a new database's tables as they grow", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  auto s = d.node();
  const collection_key key = s->collection("root/one").value();
  auto c = pq::connection::open(d.options);
  REQUIRE(c);
  const pq::statement analysed{"test_analysed",
                               "SELECT coalesce(sum(analyze_count), 0) FROM pg_stat_user_tables "
                               "WHERE relname = 'objects'"};
  auto count = [&] {
    (void)(*c)->exec("SELECT pg_stat_clear_snapshot()");
    auto r = (*c)->run(analysed);
    REQUIRE(r);
    return r->integer(0, 0);
  };
  CHECK(count() == 0);
  // 1,000 versions: the first ANALYZE (autovacuum's own are not counted here).
  for (int r = 0; r < 10; ++r) {
    std::vector<new_object> objects;
    for (int i = 0; i < 100; ++i) objects.push_back(object(object_id(0, r * 100 + i)));
    REQUIRE(publish(*s, key, std::move(objects)));
  }
  CHECK(eventually([&] { return count() >= 1; }));
}

TEST_CASE("pg store: collection keys stop at max_collections, on every node", "[pg]") {
  REQUIRE_PG_SERVER();
  deployment d;
  d.options.max_collections = 2;
  auto a = d.node();
  auto b = d.node();
  CHECK(a->collection("root/one").value() == 1);
  CHECK(b->collection("root/two").value() == 2);
  auto full = a->collection("root/three");
  REQUIRE_FALSE(full);
  CHECK(full.error().message.find("max_collections") != std::string::npos);
  CHECK(a->collection("root/two").value() == 2);  // known ones still resolve
}

TEST_CASE("pg store: the importer fills an empty database in one transaction", "[pg]") {
  REQUIRE_PG_SERVER();
  // A source with versions, a status, records and a checkpoint.
  auto source = memory_store::open().value();
  const collection_key key = source->collection("root/one").value();
  {
    publish_request r;
    r.collection = key;
    r.publisher = "alice";
    r.objects = {object(object_id(0, 1)), object(object_id(0, 2), tlp_level::red)};
    r.status.id = "status-1";
    r.status.owner = "alice";
    audit_entry e;
    e.account = "alice";
    e.collection = "one";
    std::promise<result<publish_outcome>> p;
    source->publish(std::move(r), std::move(e),
                    [&](result<publish_outcome> out) { p.set_value(std::move(out)); });
    REQUIRE(p.get_future().get());
  }
  std::promise<result<formats::audit_checkpoint>> signed_one;
  source->checkpoint_now([&](result<formats::audit_checkpoint> c) { signed_one.set_value(c); });
  const auto checkpoint = signed_one.get_future().get().value();

  deployment d;
  auto fill = [&](pg_importer& sink, bool break_chain) -> result<void> {
    if (auto c = sink.collection("root/one", key); !c) return c;
    auto r = source->begin_read();
    result<void> out;
    r->scan(key, 0, {}, [&](const object_record& v) {
      out = sink.version(v);
      return out.has_value();
    });
    if (!out) return out;
    if (auto s = sink.status(*r->status("status-1"), formats::now_micros()); !s) return s;
    std::string json = source->audit_record_json(1).value().value();
    if (break_chain) json.replace(json.find("alice"), 5, "mallo");
    if (auto a = sink.audit_record(json); !a) return a;
    if (auto c = sink.checkpoint(checkpoint); !c) return c;
    return sink.finish();
  };

  {
    // A record that does not match its hash: nothing is stored.
    auto sink = open_pg_importer(d.options);
    REQUIRE(sink);
    CHECK_FALSE(fill(**sink, true));
  }
  {
    auto sink = open_pg_importer(d.options);
    REQUIRE(sink);
    REQUIRE(fill(**sink, false));
  }
  // Not into a database that holds data.
  CHECK_FALSE(open_pg_importer(d.options));

  auto s = d.node();
  CHECK(s->collection("root/one").value() == key);
  CHECK(s->collection("root/two").value() == key + 1);
  CHECK(s->audit_size().value() == 1);
  CHECK(*s->audit_record_json(1).value() == *source->audit_record_json(1).value());
  auto c = s->checkpoint().value();
  REQUIRE(c);
  CHECK(c->signature == checkpoint.signature);
  auto r = s->begin_read();
  std::vector<std::string> ids;
  micros last = 0;
  r->scan(key, 0, {}, [&](const object_record& v) {
    ids.emplace_back(v.id);
    last = v.date_added;
    return true;
  });
  CHECK(ids == std::vector<std::string>{object_id(0, 1), object_id(0, 2)});
  CHECK(r->status("status-1"));
  r.reset();
  // New versions come after the imported ones (last_added was set).
  s->close();
  pg_store_options past = d.options;
  past.clock = [last] { return last - 1'000'000; };
  auto behind = open_pg_store(past);
  REQUIRE(behind);
  auto next = publish(**behind, key, {object(object_id(0, 3))});
  REQUIRE(next);
  CHECK(next->first_date_added == last + 1);
}

}  // namespace
}  // namespace cairn::storage
