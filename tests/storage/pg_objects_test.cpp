// The PostgreSQL backend's objects part (storage/pg/objects.hpp) against a
// real server: each test case gets a fresh database with the schema. Without
// a server (CAIRN_TEST_PG unset) the cases that need one skip.

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/time.hpp"
#include "storage/pg/objects.hpp"
#include "storage/pg/pq.hpp"
#include "storage/pg/schema.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"

namespace cairn::storage::pg {

extern const char* const observables_schema_sql;  // storage/pg/schema_observables.cpp

namespace {

using formats::tlp_level;

const micros t0 = formats::parse_rfc3339("2026-11-27T10:00:00Z").value();
constexpr micros k_hour = micros{3600} * 1'000'000;
const std::string v1 = "2026-01-01T00:00:00.000Z";
const std::string v2 = "2026-02-01T00:00:00.000Z";
const std::string v3 = "2026-03-01T00:00:00.000Z";

pg_options options(const std::string& conninfo) {
  pg_options o;
  o.conninfo = conninfo;
  o.pool_size = 4;
  return o;
}

// A fresh database of its own with schema v1's tables but the audit log's
// (not used here), and version 2's observable index, dropped at the end.
class database {
 public:
  explicit database(const std::string& server) : server_(server) {
    auto made = testing::fresh_pg_database("pgobj");
    REQUIRE(made);
    conninfo_ = *made;
    auto c = pq::connection::open(options(conninfo_));
    REQUIRE(c);
    auto schema = (*c)->exec(core_schema_sql);
    INFO((schema ? std::string() : schema.error().message));
    REQUIRE(schema);
    REQUIRE((*c)->exec(observables_schema_sql));
    REQUIRE(
        (*c)->exec("INSERT INTO collections (key, name) VALUES (1, 'root/one'), (2, 'root/two')"));
    auto name = (*c)->exec("SELECT current_database()");
    REQUIRE(name);
    name_ = name->text(0, 0);
    writer = std::move(*c);
    pool = std::make_unique<pq::pool>(options(conninfo_));
  }
  ~database() {
    pool.reset();
    writer.reset();
    if (auto admin = pq::connection::open(options(server_))) {
      // A name fresh_pg_database() made (letters, digits and _).
      (void)(*admin)->exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    }
  }
  const std::string& conninfo() const { return conninfo_; }

  std::unique_ptr<pq::connection> writer;
  std::unique_ptr<pq::pool> pool;

 private:
  std::string server_, conninfo_, name_;
};

std::string object_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08x-0000-4000-8000-000000000000", n);
  return buf;
}

new_object object(const std::string& id, std::string version, tlp_level tlp = tlp_level::green) {
  new_object o;
  o.id = id;
  o.type = "indicator";
  o.version = std::move(version);
  o.spec_version = "2.1";
  o.tlp = tlp;
  o.json =
      R"({"id":")" + id + R"(","modified":")" + o.version + R"(","note":"a \"quoted\" \\ {x}"})";
  return o;
}

// Publishes in a transaction of its own, as the store's writer would.
class session {
 public:
  explicit session(database& db) : db_(db) {}

  result<publish_result> publish(std::vector<new_object> objects, std::string publisher = "alice",
                                 std::function<bool(const object_record&)> duplicate_if = {},
                                 std::string status_id = {}, collection_key c = 1) {
    publish_request r;
    r.collection = c;
    r.publisher = std::move(publisher);
    r.objects = std::move(objects);
    r.status.id = std::move(status_id);
    r.status.owner = r.publisher;
    r.status.api_root = "root";
    r.status.request_timestamp = now;
    r.duplicate_if = std::move(duplicate_if);
    pq::connection& c0 = *db_.writer;
    REQUIRE(c0.begin());
    auto out = pg::publish(c0, r, now, last[c], 48 * k_hour);
    if (!out) {
      c0.rollback();
      return out;
    }
    REQUIRE(c0.commit());
    return out;
  }

  result<std::vector<formats::audit_object>> remove(std::vector<micros> positions,
                                                    collection_key c = 1) {
    delete_request r;
    r.collection = c;
    r.positions = std::move(positions);
    pq::connection& c0 = *db_.writer;
    REQUIRE(c0.begin());
    auto out = pg::remove(c0, r);
    REQUIRE(c0.commit());
    return out;
  }

  std::unique_ptr<reader> read() {
    return make_reader(
        db_.pool->acquire(), [this] { return now; }, 48 * k_hour);
  }

  micros now = t0;
  std::map<collection_key, micros> last;

 private:
  database& db_;
};

using pairs = std::vector<std::pair<std::string, std::string>>;

pairs scan(reader& r, visibility who = {}, micros after = 0, collection_key c = 1) {
  pairs out;
  r.scan(c, after, who, [&](const object_record& rec) {
    out.emplace_back(rec.id, rec.version);
    return true;
  });
  return out;
}

#define NEED_SERVER(server)                        \
  const auto server = testing::test_pg_conninfo(); \
  if (!server) CAIRN_SKIP("no PostgreSQL server for tests (set CAIRN_TEST_PG)");

TEST_CASE("pg objects: statuses encode to JSON and back", "[store][pg]") {
  status_record s;
  s.id = "4a0f3b2e-0000-4000-8000-000000000001";
  s.owner = "alice";
  s.api_root = "root";
  s.request_timestamp = t0;
  s.successes = {{object_id(1), v1, ""}, {object_id(2), v2, ""}};
  s.failures = {
      {"bad\xff"
       "id",
       "", "not \"valid\"\n"}};
  s.pendings = {{object_id(3), "", "later"}};
  auto back = decode_status(encode_status(s));
  REQUIRE(back);
  CHECK(back->id == s.id);
  CHECK(back->owner == "alice");
  CHECK(back->api_root == "root");
  CHECK(back->request_timestamp == t0);
  REQUIRE(back->successes.size() == 2);
  CHECK(back->successes[1].id == object_id(2));
  CHECK(back->successes[1].version == v2);
  REQUIRE(back->failures.size() == 1);
  // A byte that is not UTF-8 cannot go into a text column: replaced.
  CHECK(back->failures[0].id ==
        "bad\xEF\xBF\xBD"
        "id");
  CHECK(back->failures[0].message == "not \"valid\"\n");
  REQUIRE(back->pendings.size() == 1);
  CHECK(back->pendings[0].message == "later");
  CHECK_FALSE(back->complete());
  CHECK_FALSE(decode_status("{}"));
  CHECK_FALSE(decode_status("not json"));
}

TEST_CASE("pg objects: a publish stores its versions, the status and the next position",
          "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  auto out = w.publish({object(object_id(1), v1, tlp_level::red), object(object_id(2), v2),
                        object("", v1), object(object_id(3), "")},
                       "alice", {}, "s-1");
  REQUIRE(out);
  CHECK(out->outcome.added == 3);
  CHECK(out->outcome.added_positions == std::vector<micros>{t0, t0 + 1, t0 + 2});
  CHECK(w.last[1] == t0 + 2);
  const std::string assigned = formats::format_taxii_time(t0 + 1);
  // Green first, then red; the one without a version gets its position.
  CHECK(out->recorded == std::vector<formats::audit_object>{
                             {object_id(2), v2}, {object_id(3), assigned}, {object_id(1), v1}});
  CHECK(out->outcome.status.failures.size() == 1);

  auto rows = db.writer->exec(
      "SELECT date_added, id, version, time_key, spec_version, publisher, tlp, later_copy,"
      " id_copy, deleted, json FROM objects ORDER BY date_added");
  REQUIRE(rows);
  REQUIRE(rows->size() == 3);
  CHECK(rows->integer(1, 0) == t0 + 1);
  CHECK(rows->text(1, 1) == object_id(3));
  CHECK(rows->text(1, 2) == assigned);
  CHECK(rows->text(1, 3) == formats::stix_time_key(assigned).value());
  CHECK(rows->text(2, 4) == "2.1");
  CHECK(rows->text(2, 5) == "alice");
  CHECK(rows->integer(2, 6) == 4);
  CHECK_FALSE(rows->boolean(2, 7));
  CHECK_FALSE(rows->boolean(2, 9));
  CHECK(rows->text(2, 10) == object(object_id(1), v1).json);

  auto r = w.read();
  auto status = r->status("s-1");
  REQUIRE(status);
  CHECK(status->owner == "alice");
  CHECK(status->successes.size() == 3);
  CHECK(status->failures.size() == 1);
  CHECK(status->successes[1].version == assigned);
  CHECK_FALSE(r->last_error());

  // Again: duplicates, nothing stored, the position unchanged.
  w.now = t0 + k_hour;
  auto again = w.publish({object(object_id(2), "2026-02-01T00:00:00Z"), object(object_id(3), "")});
  REQUIRE(again);
  CHECK(again->outcome.added == 0);
  CHECK(again->outcome.duplicates == 2);
  CHECK(again->outcome.status.successes.at(1).version == assigned);
  CHECK(w.last[1] == t0 + 2);
  // A new one starts at now.
  auto next = w.publish({object(object_id(4), v1)});
  REQUIRE(next);
  CHECK(next->outcome.first_date_added == t0 + k_hour);
}

TEST_CASE("pg objects: text of any bytes is stored as sent", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  // The unit separator cannot go the fast way (values joined by it): this
  // publish takes array literals instead.
  auto odd = object(object_id(1), v1);
  odd.json = "{\"a\":\"x\x1fy\",\"b\":\"\\\\\",\"c\":\"{,}\"}";
  auto plain = object(object_id(2), v1);
  REQUIRE(w.publish({odd, plain}));
  auto r = w.read();
  auto first = r->at(1, t0);
  REQUIRE(first);
  CHECK(first->json == odd.json);
  auto second = r->at(1, t0 + 1);
  REQUIRE(second);
  CHECK(second->json == plain.json);
  CHECK(second->version == v1);
}

TEST_CASE("pg objects: later copies and id copies follow duplicate_if", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  REQUIRE(w.publish({object(object_id(1), "2026-01-01T00:00:01Z", tlp_level::red)}, "bob"));
  auto may_receive = [](const object_record& r) { return r.tlp <= tlp_level::green; };
  auto copy = w.publish({object(object_id(1), "2026-01-01T00:00:01.000Z")}, "alice", may_receive);
  REQUIRE(copy);
  CHECK(copy->outcome.added == 1);
  auto idcopy =
      w.publish({object(object_id(1), "")}, "carol", [](const object_record&) { return false; });
  REQUIRE(idcopy);
  CHECK(idcopy->outcome.added == 1);

  auto r = w.read();
  auto later = r->at(1, copy->outcome.first_date_added);
  REQUIRE(later);
  CHECK(later->later_copy);
  CHECK_FALSE(later->id_copy);
  CHECK(r->earlier_copy(*later));
  CHECK_FALSE(r->earlier_copy(*later, may_receive));
  auto first = r->at(1, t0);
  REQUIRE(first);
  CHECK_FALSE(r->earlier_copy(*first));
  auto id_copy = r->at(1, idcopy->outcome.first_date_added);
  REQUIRE(id_copy);
  CHECK(id_copy->later_copy);
  CHECK(id_copy->id_copy);
  CHECK(r->earlier_copy(*id_copy));
  // Copies of one version are neither before nor after each other; the id
  // copy has a version of its own, after them.
  CHECK(r->version_rank(*later).first);
  CHECK_FALSE(r->version_rank(*later).last);
  CHECK(r->version_rank(*id_copy).last);
}

TEST_CASE("pg objects: remove marks versions deleted and lists them by position", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  REQUIRE(
      w.publish({object(object_id(1), v1), object(object_id(1), v2), object(object_id(2), v1)}));
  auto removed = w.remove({t0 + 1, t0, t0 + 1, t0 + 50});
  REQUIRE(removed);
  CHECK(*removed == std::vector<formats::audit_object>{{object_id(1), v1}, {object_id(1), v2}});
  CHECK(w.remove({t0}).value().empty());  // already deleted
  auto r = w.read();
  CHECK(scan(*r) == pairs{{object_id(2), v1}});
  CHECK_FALSE(r->at(1, t0));
  int versions = 0;
  r->versions(1, object_id(1), [&](const object_record&) { return ++versions > 0; });
  CHECK(versions == 0);
  // The rows stay (deleted), so their positions are never given again.
  auto kept = db.writer->exec("SELECT count(*) FROM objects WHERE deleted");
  REQUIRE(kept);
  CHECK(kept->integer(0, 0) == 2);
  // A deleted version is no duplicate.
  auto again = w.publish({object(object_id(1), v1)});
  REQUIRE(again);
  CHECK(again->outcome.added == 1);
  CHECK(again->outcome.first_date_added == t0 + 3);
}

TEST_CASE("pg objects: scans read only what the reader may receive, in chunks, in order",
          "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  // 700 versions over every level from two publishers, in several publishes
  // (so that chunks of one scan meet versions of several levels).
  struct expected_version {
    micros at;
    std::string id;
    tlp_level tlp;
    std::string publisher;
  };
  std::vector<expected_version> all;
  int n = 0;
  for (int batch = 0; batch < 7; ++batch) {
    std::vector<new_object> objects;
    for (int i = 0; i < 100; ++i, ++n) {
      objects.push_back(object(object_id(n), v1, static_cast<tlp_level>((n * 7) % 5)));
    }
    const std::string publisher = batch % 2 ? "alice" : "bob";
    auto out = w.publish(objects, publisher);
    REQUIRE(out);
    REQUIRE(out->outcome.added == 100);
    // Positions by level, then request order.
    std::stable_sort(objects.begin(), objects.end(),
                     [](const new_object& a, const new_object& b) { return a.tlp < b.tlp; });
    for (std::size_t i = 0; i < objects.size(); ++i) {
      all.push_back({out->outcome.added_positions[i], objects[i].id, objects[i].tlp, publisher});
    }
    w.now += 1000;
  }
  REQUIRE(w.remove({all[3].at, all[400].at}));
  all.erase(all.begin() + 400);
  all.erase(all.begin() + 3);

  auto expect = [&](visibility who, micros after) {
    std::vector<micros> out;
    for (const auto& v : all) {
      if (v.at <= after) continue;
      if (v.tlp <= who.max_level || (!who.publisher.empty() && v.publisher == who.publisher)) {
        out.push_back(v.at);
      }
    }
    return out;
  };
  for (int level = 0; level <= 4; ++level) {
    for (const std::string publisher : {"", "alice"}) {
      for (const micros after : {micros{0}, all[250].at}) {
        const visibility who{static_cast<tlp_level>(level), publisher};
        auto r = w.read();
        std::vector<micros> seen;
        r->scan(1, after, who, [&](const object_record& rec) {
          CHECK(rec.collection == 1);
          seen.push_back(rec.date_added);
          return true;
        });
        INFO("level " << level << " publisher '" << publisher << "' after " << after);
        CHECK(seen == expect(who, after));
        // Withheld versions are not read.
        CHECK(r->records_read() == seen.size());
        CHECK_FALSE(r->last_error());
      }
    }
  }

  // Stopping early, and the records' views living as long as the reader.
  auto r = w.read();
  std::vector<object_record> kept;
  r->scan(1, 0, {tlp_level::amber, "alice"}, [&](const object_record& rec) {
    kept.push_back(rec);
    return kept.size() < 300;
  });
  REQUIRE(kept.size() == 300);
  for (const auto& rec : kept) {
    CHECK(rec.json == object(std::string(rec.id), v1).json);
    CHECK(rec.version == v1);
  }
  // Another collection has nothing.
  CHECK(scan(*r, {}, 0, 2).empty());
  CHECK(scan(*r, {}, 0, 99).empty());
}

TEST_CASE("pg objects: versions, at and version_rank", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  const std::string id = object_id(1);
  REQUIRE(w.publish({object(id, v2), object(id, v3, tlp_level::red), object(id, v1)}));
  REQUIRE(w.publish({object(object_id(2), v1)}));
  auto r = w.read();
  std::vector<object_record> all;
  r->versions(1, id, [&](const object_record& rec) {
    all.push_back(rec);
    return true;
  });
  REQUIRE(all.size() == 3);
  CHECK(all[0].version == v1);
  CHECK(all[1].version == v2);
  CHECK(all[2].version == v3);
  CHECK(r->version_rank(all[0]).first);
  CHECK_FALSE(r->version_rank(all[0]).last);
  CHECK_FALSE(r->version_rank(all[1]).first);
  CHECK_FALSE(r->version_rank(all[1]).last);
  CHECK(r->version_rank(all[2]).last);
  auto green = [](const object_record& rec) { return rec.tlp <= tlp_level::green; };
  CHECK(r->version_rank(all[1], green).last);
  object_record gone = all[0];
  gone.date_added = t0 + 1000;
  CHECK_FALSE(r->version_rank(gone).first);
  CHECK_FALSE(r->version_rank(gone).last);

  // Through a scan: one-version objects rank first and last, the others as
  // above, and a record that is not live ranks neither.
  std::vector<object_record> scanned;
  auto r2 = w.read();
  r2->scan(1, 0, {}, [&](const object_record& rec) {
    auto rank = r2->version_rank(rec);
    if (rec.id == object_id(2)) {
      CHECK(rank.first);
      CHECK(rank.last);
    } else {
      CHECK(rank.first == (rec.version == v1));
      CHECK(rank.last == (rec.version == v3));
    }
    object_record moved = rec;
    moved.date_added += 1000;
    CHECK_FALSE(r2->version_rank(moved).first);
    return true;
  });
  auto at = r2->at(1, t0 + 3);
  REQUIRE(at);
  CHECK(at->id == object_id(2));
  CHECK_FALSE(r2->at(1, t0 + 4));
  CHECK_FALSE(r2->at(2, t0));
}

TEST_CASE("pg objects: version_rank in a scan, whichever chunk asks first", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  // 700 one-version objects; object 1 in three versions (one deleted), object
  // 2 in two (one deleted: one live left), spread over the scan's chunks.
  std::vector<new_object> objects;
  for (int n = 10; n < 710; ++n) objects.push_back(object(object_id(n), v1));
  objects.insert(objects.begin() + 100, object(object_id(1), v1));
  objects.insert(objects.begin() + 300, object(object_id(2), v1));
  objects.insert(objects.begin() + 400, object(object_id(1), v2));
  objects.insert(objects.begin() + 600, object(object_id(2), v2));
  objects.insert(objects.begin() + 650, object(object_id(1), v3));
  auto out = w.publish(objects);
  REQUIRE(out);
  REQUIRE(out->outcome.added == objects.size());
  REQUIRE(w.remove({t0 + 400, t0 + 600}));  // object 1's v2, object 2's v2

  // from: the first record version_rank is asked about (so the chunks
  // before it come without what it needs).
  for (const std::size_t from : {std::size_t{0}, std::size_t{300}, std::size_t{600}}) {
    auto r = w.read();
    std::size_t i = 0, asked = 0;
    r->scan(1, 0, {}, [&](const object_record& rec) {
      if (i++ < from) return true;
      ++asked;
      const auto rank = r->version_rank(rec);
      INFO("from " << from << ": " << rec.id << " " << rec.version);
      if (rec.id == object_id(1)) {
        CHECK(rank.first == (rec.version == v1));
        CHECK(rank.last == (rec.version == v3));
      } else {
        CHECK(rank.first);
        CHECK(rank.last);
      }
      return true;
    });
    CHECK(asked == objects.size() - 2 - from);
    CHECK_FALSE(r->last_error());
  }
}

TEST_CASE("pg objects: a reader is a snapshot, statuses expire", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  REQUIRE(w.publish({object(object_id(1), v1)}, "alice", {}, "s-1"));
  auto before = w.read();
  auto kept = before->at(1, t0);
  REQUIRE(kept);
  REQUIRE(w.publish({object(object_id(2), v1)}, "alice", {}, "s-2"));
  REQUIRE(w.remove({t0}));
  CHECK(scan(*before) == pairs{{object_id(1), v1}});
  CHECK_FALSE(before->status("s-2"));
  CHECK(kept->json == object(object_id(1), v1).json);
  CHECK(scan(*w.read()) == pairs{{object_id(2), v1}});

  w.now = t0 + 47 * k_hour;
  CHECK(w.read()->status("s-1"));
  w.now = t0 + 48 * k_hour;
  CHECK_FALSE(w.read()->status("s-1"));
  CHECK_FALSE(w.read()->status(""));
  CHECK_FALSE(w.read()->status("unknown"));
  // A later publish with a status removes the expired ones.
  w.now = t0 + 100 * k_hour;
  auto purging = w.publish({object(object_id(3), v1)}, "alice", {}, "s-3");
  REQUIRE(purging);
  auto left = db.writer->exec("SELECT id FROM statuses ORDER BY id");
  REQUIRE(left);
  REQUIRE(left->size() == 1);
  CHECK(left->text(0, 0) == "s-3");
  CHECK(purging->statuses_purged == 2);
}

TEST_CASE("pg objects: a reader without a connection finds nothing and says why", "[store][pg]") {
  auto none = make_reader(fail(errc::unavailable, "no connection came free"), {}, 48 * k_hour);
  CHECK(scan(*none).empty());
  CHECK_FALSE(none->at(1, t0));
  CHECK_FALSE(none->status("s-1"));
  REQUIRE(none->last_error());
  CHECK(none->last_error()->code == errc::unavailable);
}

TEST_CASE("pg objects: a reader whose connection is lost finds nothing and says why",
          "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  REQUIRE(w.publish({object(object_id(1), v1)}));
  auto lease = db.pool->acquire();
  REQUIRE(lease);
  auto pid = (*lease)->exec("SELECT pg_backend_pid()");
  REQUIRE(pid);
  const auto backend = pid->integer(0, 0);
  auto r = make_reader(
      std::move(lease), [&] { return w.now; }, 48 * k_hour);
  auto admin = pq::connection::open(options(db.conninfo()));
  REQUIRE(admin);
  REQUIRE((*admin)->exec("SELECT pg_terminate_backend(" + std::to_string(backend) + ")"));
  CHECK(scan(*r).empty());
  REQUIRE(r->last_error());
  CHECK(r->last_error()->code == errc::unavailable);
  CHECK_FALSE(r->at(1, t0));
  r.reset();  // gives the broken connection back: the pool drops it
  CHECK(scan(*w.read()) == pairs{{object_id(1), v1}});
}

TEST_CASE("pg objects: imported versions and statuses read as stored", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  pq::connection& c = *db.writer;
  REQUIRE(c.begin());
  const std::string id = object_id(1);
  const std::string json = object(id, v1).json;
  object_record v{1, t0 + 7, id, v1, "2.1", "bob", tlp_level::amber, json, true, true};
  REQUIRE(import_version(c, v));
  status_record s;
  s.id = "s-9";
  s.owner = "bob";
  s.api_root = "root";
  s.successes = {{id, v1, ""}};
  REQUIRE(import_status(c, s, t0 - k_hour));
  REQUIRE(c.commit());
  auto r = w.read();
  auto got = r->at(1, t0 + 7);
  REQUIRE(got);
  CHECK(got->publisher == "bob");
  CHECK(got->tlp == tlp_level::amber);
  CHECK(got->later_copy);
  CHECK(got->id_copy);
  CHECK(got->json == json);
  auto status = r->status("s-9");
  REQUIRE(status);
  CHECK(status->successes.size() == 1);
  // Stored an hour before t0: expires an hour earlier.
  w.now = t0 + 47 * k_hour;
  CHECK_FALSE(w.read()->status("s-9"));
  // A version that is not a STIX timestamp is refused.
  REQUIRE(c.begin());
  v.version = "yesterday";
  v.date_added = t0 + 8;
  CHECK_FALSE(import_version(c, v));
  c.rollback();
}

TEST_CASE("pg objects: an imported version is indexed for lookup and exports", "[store][pg]") {
  NEED_SERVER(server);
  database db(*server);
  session w(db);
  pq::connection& c = *db.writer;
  REQUIRE(c.begin());
  const std::string id = object_id(1);
  const std::string json =
      R"({"type":"indicator","id":")" + id +
      R"(","pattern_type":"stix","pattern":"[domain-name:value = 'A.Example.']"})";
  object_record v{1, t0 + 7, id, v1, "2.1", "bob", tlp_level::green, json, false, false};
  REQUIRE(import_version(c, v));
  REQUIRE(c.commit());
  auto r = w.read();
  const std::vector<collection_key> cs{1};
  std::vector<std::string> found;
  r->lookup(cs, formats::observable_kind::domain, "a.example", {},
            [&](const observable_hit& hit, const object_record& rec) {
              CHECK(rec.id == id);
              CHECK(rec.date_added == t0 + 7);
              found.emplace_back(hit.value);
              return true;
            });
  CHECK(found == std::vector<std::string>{"a.example"});
  found.clear();
  r->exportable_values(1, {}, {}, [&](const observable_hit& hit, const object_record&) {
    found.emplace_back(hit.value);
    return true;
  });
  CHECK(found == std::vector<std::string>{"a.example"});
}

}  // namespace
}  // namespace cairn::storage::pg
