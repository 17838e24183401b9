// The contract of the storage seam (storage/store.hpp): what every backend
// must do, written against storage::store alone. Each test case runs once per
// backend in backends(), as a section named after it.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/base64.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb_store.hpp"
#include "storage/memory_store.hpp"
#include "storage/postgres_store.hpp"
#include "storage/store.hpp"
#include "support/files.hpp"
#include "support/pg.hpp"
#include "temp_dir.hpp"

namespace cairn::storage {
namespace {

using formats::tlp_level;
namespace merkle = formats::merkle;

// What a backend gets from the suite.
struct contract_options {
  std::string dir;                     // a fresh, empty directory
  std::function<micros()> clock;       // for date_added, audit times and status expiry
  std::function<int()> before_commit;  // a non-zero errno fails that commit
};
using store_factory = std::function<std::unique_ptr<store>(const contract_options&)>;

std::unique_ptr<store> make_memory_store(const contract_options& o) {
  memory_store_options m;
  m.clock = o.clock;
  m.before_commit = o.before_commit;
  auto s = memory_store::open(std::move(m));
  REQUIRE(s);
  return std::move(*s);
}

std::unique_ptr<store> make_lmdb_store(const contract_options& o) {
  auto faults = std::make_shared<store_faults>();
  faults->clock = o.clock;
  faults->before_commit = o.before_commit;
  lmdb_store_options l;
  l.path = o.dir + "/store";
  l.map_size = std::size_t{8} << 20;
  l.faults = std::move(faults);
  l.key_path = o.dir + "/audit-signing.key";
  l.public_key_path = o.dir + "/audit-signing.pub";
  auto s = open_lmdb_store(l);
  REQUIRE(s);
  return std::move(*s);
}

// A fresh database on the test server (support/pg.hpp), initialised with a
// fresh signing key kept in the test's directory.
std::unique_ptr<store> make_pg_store(const contract_options& o) {
  auto conninfo = cairn::testing::fresh_pg_database("contract");
  REQUIRE(conninfo);
  auto key = formats::ed25519_key::generate();
  REQUIRE(key);
  pg_store_options p;
  p.conninfo = *conninfo;
  p.pool_size = 4;
  p.key_path = o.dir + "/audit-signing.key";
  cairn::testing::write_file(p.key_path, key->private_pem());
  REQUIRE(pg_init_schema(p, key->public_pem()));
  p.clock = o.clock;
  p.before_commit = o.before_commit;
  auto s = open_pg_store(p);
  REQUIRE(s);
  return std::move(*s);
}

// Every implementation of the seam: one line each.
const std::vector<std::pair<std::string, store_factory>>& backends() {
  static const std::vector<std::pair<std::string, store_factory>> all = {
      {"memory", make_memory_store},
      {"lmdb", make_lmdb_store},
      {"postgresql", make_pg_store},
  };
  return all;
}

// Whether the backend can run here: PostgreSQL needs a server (CAIRN_TEST_PG
// or the ctest fixture's file). Without one its section is skipped, with a
// line on stderr, and the other backends still run (so the test case is not
// reported as skipped: what ran, passed).
bool backend_available(const std::string& name) {
  if (name != "postgresql" || cairn::testing::test_pg_conninfo()) return true;
  std::cerr << "SKIPPED section postgresql of " << Catch::getResultCapture().getCurrentTestName()
            << ": no PostgreSQL server for tests (CAIRN_TEST_PG)\n";
  return false;
}

#define FOR_EACH_BACKEND(make)                        \
  for (const auto& [backend_name, make] : backends()) \
    if (!backend_available(backend_name)) {           \
    } else                                            \
      DYNAMIC_SECTION(backend_name)

micros at_time(std::string_view text) {
  return formats::parse_rfc3339(text).value();
}
const micros t0 = at_time("2026-11-27T10:00:00Z");
constexpr micros k_hour = micros{3600} * 1'000'000;

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
  o.json = R"({"id":")" + id + R"(","modified":")" + o.version + R"("})";
  return o;
}

// A store with a settable clock and fault, and blocking forms of the writes.
class fixture {
 public:
  explicit fixture(const store_factory& make) {
    contract_options o;
    o.dir = dir_.path();
    o.clock = [this] { return now.load(); };
    o.before_commit = [this] { return fault.exchange(0); };
    store_ = make(o);
    key = collection("root/one").value();
  }
  ~fixture() { store_->close(); }

  store& s() { return *store_; }
  result<collection_key> collection(std::string_view id) { return store_->collection(id); }

  result<publish_outcome> publish(std::vector<new_object> objects, std::string publisher = "alice",
                                  std::function<bool(const object_record&)> duplicate_if = {},
                                  std::string status_id = {}) {
    publish_request r;
    r.collection = key;
    r.publisher = publisher;
    r.objects = std::move(objects);
    r.status.id = std::move(status_id);
    r.status.owner = publisher;
    r.status.api_root = "root";
    r.status.request_timestamp = now;
    r.duplicate_if = std::move(duplicate_if);
    audit_entry e;
    e.account = publisher;
    e.remote = "127.0.0.1";
    e.api_root = "root";
    e.collection = "one";
    e.status = 202;
    return publish(std::move(r), std::move(e));
  }
  result<publish_outcome> publish(publish_request r, audit_entry e) {
    std::promise<result<publish_outcome>> p;
    store_->publish(std::move(r), std::move(e),
                    [&](result<publish_outcome> out) { p.set_value(std::move(out)); });
    return p.get_future().get();
  }
  result<std::size_t> remove(std::vector<micros> positions, collection_key c = 0) {
    delete_request r;
    r.collection = c ? c : key;
    r.positions = std::move(positions);
    audit_entry e;
    e.account = "admin";
    e.api_root = "root";
    e.collection = "one";
    e.status = 200;
    std::promise<result<std::size_t>> p;
    store_->remove(std::move(r), std::move(e), [&](result<std::size_t> n) { p.set_value(n); });
    return p.get_future().get();
  }
  result<std::uint64_t> record(audit_entry e) {
    std::promise<result<std::uint64_t>> p;
    store_->record(std::move(e), [&](result<std::uint64_t> seq) { p.set_value(seq); });
    return p.get_future().get();
  }
  result<formats::audit_checkpoint> checkpoint_now() {
    std::promise<result<formats::audit_checkpoint>> p;
    store_->checkpoint_now([&](result<formats::audit_checkpoint> c) { p.set_value(std::move(c)); });
    return p.get_future().get();
  }

  // Everything `who` may read after `after`, as (id, version) pairs.
  std::vector<std::pair<std::string, std::string>> scan(visibility who = {}, micros after = 0) {
    std::vector<std::pair<std::string, std::string>> out;
    auto r = store_->begin_read();
    r->scan(key, after, who, [&](const object_record& rec) {
      out.emplace_back(rec.id, rec.version);
      return true;
    });
    return out;
  }

  std::atomic<micros> now{t0};
  std::atomic<int> fault{0};
  collection_key key = 0;

 private:
  testing::temp_dir dir_;
  std::unique_ptr<store> store_;
};

// Record seq as JSON, parsed.
formats::audit_record audit_record_at(store& s, std::uint64_t seq) {
  auto json = s.audit_record_json(seq);
  REQUIRE(json);
  REQUIRE(*json);
  auto doc = formats::parse_json(**json);
  REQUIRE(doc);
  auto r = formats::parse_audit_record(doc->root());
  REQUIRE(r);
  return *r;
}

std::vector<std::uint64_t> seqs_of(const audit_page& page) {
  std::vector<std::uint64_t> out;
  for (const auto& json : page.records) {
    auto doc = formats::parse_json(json);
    REQUIRE(doc);
    out.push_back(static_cast<std::uint64_t>(doc->root().get("seq")->as_int()));
  }
  return out;
}

using pairs = std::vector<std::pair<std::string, std::string>>;
const std::string v1 = "2026-01-01T00:00:00.000Z";
const std::string v2 = "2026-02-01T00:00:00.000Z";
const std::string v3 = "2026-03-01T00:00:00.000Z";

TEST_CASE("store contract: collection keys run from 1, one per id", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    CHECK(f.key == 1);
    CHECK(f.collection("root/two").value() == 2);
    CHECK(f.collection("root/one").value() == 1);
    CHECK(f.collection(std::string(256, 'c')).value() == 3);
    CHECK_FALSE(f.collection(""));
    CHECK_FALSE(f.collection(std::string(257, 'c')));
  }
}

TEST_CASE("store contract: a publish stores versions, its status and its record",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    auto out = f.publish({object(object_id(1), v1), object(object_id(2), v2, tlp_level::amber)},
                         "alice", {}, "status-1");
    REQUIRE(out);
    CHECK(out->added == 2);
    CHECK(out->duplicates == 0);
    CHECK(out->added_positions == std::vector<micros>{t0, t0 + 1});
    CHECK(out->first_date_added == t0);
    CHECK(out->last_date_added == t0 + 1);
    REQUIRE(out->status.successes.size() == 2);
    CHECK(out->status.successes[0].id == object_id(1));
    CHECK(out->status.successes[1].version == v2);

    auto r = f.s().begin_read();
    auto rec = r->at(f.key, t0 + 1);
    REQUIRE(rec);
    CHECK(rec->collection == f.key);
    CHECK(rec->id == object_id(2));
    CHECK(rec->version == v2);
    CHECK(rec->spec_version == "2.1");
    CHECK(rec->publisher == "alice");
    CHECK(rec->tlp == tlp_level::amber);
    CHECK(rec->json == object(object_id(2), v2).json);
    CHECK_FALSE(rec->later_copy);
    CHECK_FALSE(r->at(f.key, t0 + 2));
    CHECK(f.scan() == pairs{{object_id(1), v1}, {object_id(2), v2}});

    auto status = r->status("status-1");
    REQUIRE(status);
    CHECK(status->owner == "alice");
    CHECK(status->api_root == "root");
    CHECK(status->request_timestamp == t0);
    CHECK(status->successes.size() == 2);
    CHECK(status->complete());

    CHECK(f.s().audit_size().value() == 1);
    auto a = audit_record_at(f.s(), 1);
    CHECK(a.action == "publish");
    CHECK(a.account == "alice");
    CHECK(a.remote == "127.0.0.1");
    CHECK(a.collection == "one");
    CHECK(a.status == 202);
    CHECK(a.time == formats::format_taxii_time(t0));
    CHECK(a.objects == std::vector<formats::audit_object>{{object_id(1), v1}, {object_id(2), v2}});
  }
}

TEST_CASE("store contract: invalid objects fail alone, a bad job fails whole",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    auto out = f.publish({object("", v1), object(std::string(301, 'x'), v1),
                          object(object_id(1), "2026-13-01T00:00:00Z"), object(object_id(2), v1)});
    REQUIRE(out);
    CHECK(out->added == 1);
    REQUIRE(out->status.failures.size() == 3);
    CHECK(out->status.failures[2].id == object_id(1));
    CHECK(out->status.failures[2].message.starts_with("version is not a STIX timestamp"));
    CHECK(f.scan() == pairs{{object_id(2), v1}});

    publish_request unknown;
    unknown.collection = 99;
    unknown.objects = {object(object_id(3), v1)};
    audit_entry e;
    e.collection = "x";
    CHECK_FALSE(f.publish(std::move(unknown), std::move(e)));
    CHECK(f.s().audit_size().value() == 1);
  }
}

TEST_CASE("store contract: duplicates, equal instants and later copies", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish({object(object_id(1), "2026-01-01T00:00:01Z", tlp_level::red)}, "bob"));
    // The same instant written otherwise is the same version.
    auto again = f.publish({object(object_id(1), "2026-01-01T00:00:01.000Z")}, "alice");
    REQUIRE(again);
    CHECK(again->added == 0);
    CHECK(again->duplicates == 1);
    REQUIRE(again->status.successes.size() == 1);
    CHECK(again->status.successes[0].version == "2026-01-01T00:00:01.000Z");
    CHECK(audit_record_at(f.s(), 2).objects ==
          std::vector<formats::audit_object>{{object_id(1), "2026-01-01T00:00:01.000Z"}});

    // A copy the publisher may not receive does not make a duplicate: stored
    // as a later copy, behind the earlier one.
    auto may_receive = [](const object_record& r) { return r.tlp <= tlp_level::green; };
    auto copy = f.publish({object(object_id(1), "2026-01-01T00:00:01Z")}, "alice", may_receive);
    REQUIRE(copy);
    CHECK(copy->added == 1);
    auto r = f.s().begin_read();
    auto later = r->at(f.key, copy->first_date_added);
    REQUIRE(later);
    CHECK(later->later_copy);
    CHECK_FALSE(later->id_copy);
    CHECK(r->earlier_copy(*later));
    CHECK_FALSE(r->earlier_copy(*later, may_receive));
    auto earlier = r->at(f.key, t0);
    REQUIRE(earlier);
    CHECK_FALSE(earlier->later_copy);
    CHECK_FALSE(r->earlier_copy(*earlier));
    // Copies of one version are neither before nor after each other.
    CHECK(r->version_rank(*later).first);
    CHECK(r->version_rank(*later).last);

    // A third copy, flagged too, is not earlier than the second.
    auto none = [](const object_record&) { return false; };
    auto third = f.publish({object(object_id(1), "2026-01-01T00:00:01Z")}, "carol", none);
    REQUIRE(third);
    auto not_red = [](const object_record& r) { return r.tlp != tlp_level::red; };
    auto r2 = f.s().begin_read();
    CHECK_FALSE(r2->earlier_copy(*r2->at(f.key, copy->first_date_added), not_red));
    CHECK(r2->earlier_copy(*r2->at(f.key, third->first_date_added), not_red));

    // Within one request, the second copy is a duplicate of the first.
    auto twice = f.publish({object(object_id(2), v1), object(object_id(2), v1)});
    REQUIRE(twice);
    CHECK(twice->added == 1);
    CHECK(twice->duplicates == 1);
  }
}

TEST_CASE("store contract: objects without a version", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    auto first = f.publish({object(object_id(1), "")});
    REQUIRE(first);
    CHECK(first->added == 1);
    const std::string assigned = formats::format_taxii_time(first->first_date_added);
    CHECK(first->status.successes.at(0).version == assigned);
    CHECK(f.scan() == pairs{{object_id(1), assigned}});

    // A duplicate when its id is stored, reported with the stored version.
    f.now = t0 + k_hour;
    auto second = f.publish({object(object_id(1), "")});
    REQUIRE(second);
    CHECK(second->added == 0);
    CHECK(second->duplicates == 1);
    CHECK(second->status.successes.at(0).version == assigned);

    // With a version of its id it may not receive: an id copy.
    REQUIRE(f.publish({object(object_id(2), v1, tlp_level::red)}, "bob"));
    auto copy = f.publish({object(object_id(2), "")}, "alice",
                          [](const object_record& r) { return r.tlp != tlp_level::red; });
    REQUIRE(copy);
    CHECK(copy->added == 1);
    auto r = f.s().begin_read();
    auto rec = r->at(f.key, copy->first_date_added);
    REQUIRE(rec);
    CHECK(rec->later_copy);
    CHECK(rec->id_copy);
    CHECK(rec->version == formats::format_taxii_time(copy->first_date_added));
    CHECK(r->earlier_copy(*rec));
  }
}

TEST_CASE("store contract: one publish is numbered by TLP level, from max(now, last + 1)",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    auto out = f.publish(
        {object(object_id(1), v1, tlp_level::red), object(object_id(2), v1, tlp_level::clear),
         object(object_id(3), v1, tlp_level::amber), object(object_id(4), v1, tlp_level::green),
         object(object_id(5), v1, tlp_level::clear)});
    REQUIRE(out);
    auto r = f.s().begin_read();
    const std::vector<int> order = {2, 5, 4, 3, 1};  // clear, clear, green, amber, red
    for (std::size_t i = 0; i < order.size(); ++i) {
      auto rec = r->at(f.key, t0 + static_cast<micros>(i));
      REQUIRE(rec);
      CHECK(rec->id == object_id(order[i]));
    }
    // Added versions first in the status, in position order.
    CHECK(out->status.successes.at(0).id == object_id(2));
    CHECK(out->status.successes.at(4).id == object_id(1));

    // The clock has not moved: the next publish starts after the last.
    auto next = f.publish({object(object_id(6), v1)});
    REQUIRE(next);
    CHECK(next->first_date_added == t0 + 5);
    // It has: the next starts at now.
    f.now = t0 + k_hour;
    auto later = f.publish({object(object_id(7), v1)});
    REQUIRE(later);
    CHECK(later->first_date_added == t0 + k_hour);
  }
}

TEST_CASE("store contract: a scan passes only what the reader may receive", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish(
        {object(object_id(1), v1, tlp_level::clear), object(object_id(2), v1, tlp_level::red),
         object(object_id(3), v1, tlp_level::amber)},
        "bob"));
    REQUIRE(f.publish(
        {object(object_id(4), v1, tlp_level::red), object(object_id(5), v1, tlp_level::green)},
        "alice"));
    // Positions: 1 (clear), 3 (amber), 2 (red), then 5 (green), 4 (red).
    auto r = f.s().begin_read();
    std::vector<std::string> seen;
    r->scan(f.key, 0, {tlp_level::green, "alice"}, [&](const object_record& rec) {
      CHECK((rec.tlp <= tlp_level::green || rec.publisher == "alice"));
      seen.emplace_back(rec.id);
      return true;
    });
    CHECK(seen == std::vector<std::string>{object_id(1), object_id(5), object_id(4)});

    CHECK(f.scan({tlp_level::green, ""}) == pairs{{object_id(1), v1}, {object_id(5), v1}});
    CHECK(f.scan({tlp_level::red, ""}).size() == 5);
    // After a position, and stopping when fn says so.
    CHECK(f.scan({tlp_level::red, ""}, t0 + 2) == pairs{{object_id(5), v1}, {object_id(4), v1}});
    int calls = 0;
    r->scan(f.key, 0, {}, [&](const object_record&) { return ++calls < 2; });
    CHECK(calls == 2);
    // An unknown collection has nothing.
    calls = 0;
    r->scan(99, 0, {}, [&](const object_record&) { return ++calls > 0; });
    CHECK(calls == 0);
  }
}

TEST_CASE("store contract: versions in STIX timestamp order, and their rank", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    const std::string id = object_id(1);
    REQUIRE(f.publish({object(id, v2), object(id, v3, tlp_level::red), object(id, v1)}));
    REQUIRE(f.publish({object(object_id(2), v1)}));
    auto r = f.s().begin_read();
    std::vector<object_record> all;
    r->versions(f.key, id, [&](const object_record& rec) {
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
    // Counting only what a green reader may receive, v2 is the last.
    auto green = [](const object_record& rec) { return rec.tlp <= tlp_level::green; };
    CHECK(r->version_rank(all[1], green).last);
    CHECK_FALSE(r->version_rank(all[1], green).first);
    // A version that is not live has no rank.
    object_record gone = all[0];
    gone.date_added = t0 + 1000;
    CHECK_FALSE(r->version_rank(gone).first);
    CHECK_FALSE(r->version_rank(gone).last);
  }
}

TEST_CASE("store contract: remove deletes by position, with its record", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(
        f.publish({object(object_id(1), v1), object(object_id(1), v2), object(object_id(2), v1)}));
    auto removed = f.remove({t0 + 1, t0, t0 + 1, t0 + 50});
    REQUIRE(removed);
    CHECK(*removed == 2);
    CHECK(f.scan() == pairs{{object_id(2), v1}});
    auto r = f.s().begin_read();
    CHECK_FALSE(r->at(f.key, t0));
    int versions = 0;
    r->versions(f.key, object_id(1), [&](const object_record&) { return ++versions > 0; });
    CHECK(versions == 0);

    auto a = audit_record_at(f.s(), 2);
    CHECK(a.action == "delete");
    CHECK(a.account == "admin");
    CHECK(a.objects == std::vector<formats::audit_object>{{object_id(1), v1}, {object_id(1), v2}});
    CHECK(f.remove({t0}).value() == 0);  // already deleted
    CHECK_FALSE(f.remove({t0}, 99));     // unknown collection
    // Deleting does not give a position out again.
    auto next = f.publish({object(object_id(3), v1)});
    REQUIRE(next);
    CHECK(next->first_date_added == t0 + 3);
  }
}

TEST_CASE("store contract: statuses are kept for their retention", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish({object(object_id(1), v1), object("", v1)}, "alice", {}, "s-1"));
    REQUIRE(f.publish({object(object_id(2), v1)}, "alice", {}, ""));
    {
      auto r = f.s().begin_read();
      auto s = r->status("s-1");
      REQUIRE(s);
      CHECK(s->owner == "alice");
      CHECK(s->successes.size() == 1);
      CHECK(s->failures.size() == 1);
      CHECK_FALSE(r->status(""));
      CHECK_FALSE(r->status("unknown"));
    }
    f.now = t0 + 47 * k_hour;
    CHECK(f.s().begin_read()->status("s-1"));
    f.now = t0 + 48 * k_hour;
    CHECK_FALSE(f.s().begin_read()->status("s-1"));
  }
}

// Every status of `owner`, page by page (limit each), checking each page's
// cursor; the pages' sizes go to sizes.
std::vector<status_summary> owned_statuses(store& s, std::string_view owner, std::size_t limit,
                                           std::vector<std::size_t>* sizes = nullptr) {
  std::vector<status_summary> out;
  std::optional<status_cursor> after;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = s.begin_read()->owned_statuses(owner, after, limit);
    CHECK(page.statuses.size() <= limit);
    if (sizes) sizes->push_back(page.statuses.size());
    out.insert(out.end(), page.statuses.begin(), page.statuses.end());
    if (!page.more) return out;
    REQUIRE_FALSE(page.statuses.empty());
    CHECK(page.resume ==
          status_cursor{page.statuses.back().request_timestamp, page.statuses.back().id});
    after = page.resume;
  }
  FAIL("more than 100 pages");
  return out;
}

std::vector<std::string> ids_of(const std::vector<status_summary>& list) {
  std::vector<std::string> out;
  for (const auto& s : list) out.push_back(s.id);
  return out;
}

TEST_CASE("store contract: an owner's statuses, newest first, with their counts",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    // s-1: two stored, one failure; s-2 (another owner); s-3: a duplicate
    // and a new one; s-4 and s-5 at one instant (the greater id first).
    REQUIRE(f.publish({object(object_id(1), v1), object(object_id(2), v1), object("", v1)}, "alice",
                      {}, "s-1"));
    f.now = t0 + 10;
    REQUIRE(f.publish({object(object_id(3), v1)}, "bob", {}, "s-2"));
    f.now = t0 + 20;
    REQUIRE(f.publish({object(object_id(1), v1), object(object_id(4), v1)}, "alice", {}, "s-3"));
    f.now = t0 + 30;
    REQUIRE(f.publish({object(object_id(5), v1)}, "alice", {}, "s-4"));
    REQUIRE(f.publish({object(object_id(6), v1)}, "alice", {}, "s-5"));
    REQUIRE(f.publish({object(object_id(7), v1)}, "alice", {}, ""));  // no status

    auto all = f.s().begin_read()->owned_statuses("alice", std::nullopt, 10);
    CHECK_FALSE(all.more);
    REQUIRE(ids_of(all.statuses) == std::vector<std::string>{"s-5", "s-4", "s-3", "s-1"});
    CHECK(all.statuses[0].request_timestamp == t0 + 30);
    CHECK(all.statuses[0].api_root == "root");
    CHECK(all.statuses[2] == status_summary{"s-3", "root", t0 + 20, 2, 0, 0});
    CHECK(all.statuses[3] == status_summary{"s-1", "root", t0, 2, 1, 0});
    CHECK(all.statuses[3].total() == 3);
    CHECK(all.statuses[3].complete());

    auto bobs = f.s().begin_read()->owned_statuses("bob", std::nullopt, 10);
    CHECK(ids_of(bobs.statuses) == std::vector<std::string>{"s-2"});
    CHECK(f.s().begin_read()->owned_statuses("carol", std::nullopt, 10).statuses.empty());
    CHECK(f.s().begin_read()->owned_statuses("alic", std::nullopt, 10).statuses.empty());
    CHECK(f.s().begin_read()->owned_statuses("alice", std::nullopt, 0).statuses.empty());
  }
}

TEST_CASE("store contract: an owner's statuses page without skips or repeats",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    std::vector<std::string> expected;
    for (int i = 0; i < 7; ++i) {
      f.now = t0 + (i / 2) * 1000;  // pairs at one instant
      const std::string id = "s-" + std::to_string(i);
      REQUIRE(f.publish({object(object_id(i), v1)}, "alice", {}, id));
      REQUIRE(f.publish({object(object_id(100 + i), v1)}, "bob", {}, "b-" + std::to_string(i)));
      expected.insert(expected.begin(), id);
    }
    std::vector<std::size_t> sizes;
    CHECK(ids_of(owned_statuses(f.s(), "alice", 3, &sizes)) == expected);
    CHECK(sizes == std::vector<std::size_t>{3, 3, 1});
    CHECK(ids_of(owned_statuses(f.s(), "alice", 1)) == expected);
    CHECK(ids_of(owned_statuses(f.s(), "alice", 7)) == expected);

    // The page size is capped.
    for (int i = 0; i < static_cast<int>(max_status_page); ++i) {
      REQUIRE(f.publish({object(object_id(999), v1)}, "carol", {}, "c-" + std::to_string(i)));
    }
    auto capped = f.s().begin_read()->owned_statuses("carol", std::nullopt, 1000);
    CHECK(capped.statuses.size() == max_status_page);
    CHECK_FALSE(capped.more);
    REQUIRE(f.publish({object(object_id(999), v1)}, "carol", {}, "c-last"));
    capped = f.s().begin_read()->owned_statuses("carol", std::nullopt, 1000);
    CHECK(capped.statuses.size() == max_status_page);
    CHECK(capped.more);

    // A status stored after the first page neither shifts nor repeats the
    // next ones.
    auto first = f.s().begin_read()->owned_statuses("alice", std::nullopt, 2);
    REQUIRE(first.more);
    f.now = t0 + 100'000;
    REQUIRE(f.publish({object(object_id(50), v1)}, "alice", {}, "s-new"));
    auto second = f.s().begin_read()->owned_statuses("alice", first.resume, 2);
    CHECK(ids_of(second.statuses) ==
          std::vector<std::string>(expected.begin() + 2, expected.begin() + 4));
    // A cursor whose status is gone still resumes after its place.
    auto from_unknown = f.s().begin_read()->owned_statuses(
        "alice", status_cursor{first.resume.request_timestamp, "s-4zzz"}, 10);
    CHECK(ids_of(from_unknown.statuses) ==
          std::vector<std::string>(expected.begin() + 2, expected.end()));
  }
}

TEST_CASE("store contract: expired and purged statuses leave the owner's list",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish({object(object_id(1), v1)}, "alice", {}, "s-1"));
    f.now = t0 + k_hour;
    REQUIRE(f.publish({object(object_id(2), v1)}, "alice", {}, "s-2"));
    CHECK(ids_of(owned_statuses(f.s(), "alice", 10)) == std::vector<std::string>{"s-2", "s-1"});
    // s-1 expired; s-2 not yet.
    f.now = t0 + 48 * k_hour;
    CHECK(ids_of(owned_statuses(f.s(), "alice", 10)) == std::vector<std::string>{"s-2"});
    // A publish purges what expired (every backend purges on a publish, at
    // most hourly; the second publish waits for a purge the first queued).
    f.now = t0 + 50 * k_hour;
    REQUIRE(f.publish({object(object_id(3), v1)}, "alice", {}, "s-3"));
    REQUIRE(f.publish({object(object_id(4), v1)}, "alice", {}, "s-4"));
    CHECK(ids_of(owned_statuses(f.s(), "alice", 10)) == std::vector<std::string>{"s-4", "s-3"});
    // Purged, not only expired: with the clock set back they stay gone.
    f.now = t0 + 2 * k_hour;
    CHECK(ids_of(owned_statuses(f.s(), "alice", 10)) == std::vector<std::string>{"s-4", "s-3"});
    CHECK_FALSE(f.s().begin_read()->status("s-1"));
  }
}

TEST_CASE("store contract: records chain from seq 1, pulls list what they delivered",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish({object(object_id(1), v1), object(object_id(2), v1)}));
    audit_entry pull;
    pull.action = "pull";
    pull.account = "carol";
    pull.api_root = "root";
    pull.collection = "one";
    pull.status = 200;
    pull.key = f.key;
    pull.delivered.add(t0 + 1, object_id(2), v1);
    pull.delivered.add(t0, object_id(1), v1);
    pull.delivered.add(t0 + 1, object_id(2), v1);
    CHECK(f.record(pull).value() == 2);
    audit_entry config;
    config.action = "config";
    config.sha256 = std::string(64, 'a');
    f.now = t0 + 5;
    CHECK(f.record(config).value() == 3);

    auto p = audit_record_at(f.s(), 2);
    CHECK(p.action == "pull");
    CHECK(p.objects == std::vector<formats::audit_object>{{object_id(1), v1}, {object_id(2), v1}});
    CHECK(audit_record_at(f.s(), 3).sha256 == std::string(64, 'a'));
    CHECK(audit_record_at(f.s(), 3).time == formats::format_taxii_time(t0 + 5));

    merkle::digest prev{};
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
      auto json = f.s().audit_record_json(seq).value().value();
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      auto body = formats::audit_body_of(doc->root());
      REQUIRE(body);
      auto r = audit_record_at(f.s(), seq);
      CHECK(r.seq == seq);
      CHECK(r.prev == prev);
      CHECK(r.hash == formats::audit_chain_hash(prev, *body));
      prev = r.hash;
    }
    CHECK_FALSE(f.s().audit_record_json(4).value());
    CHECK_FALSE(f.s().audit_record_json(0).value());

    // Refused at once, on this thread.
    auto refused = [&](audit_entry e) {
      std::optional<result<std::uint64_t>> got;
      const auto caller = std::this_thread::get_id();
      f.s().record(std::move(e), [&](result<std::uint64_t> r) {
        CHECK(std::this_thread::get_id() == caller);
        got = r;
      });
      return got && !*got;
    };
    audit_entry unknown;
    unknown.action = "steal";
    CHECK(refused(unknown));
    audit_entry keyless = pull;
    keyless.key = 0;
    CHECK(refused(keyless));
    audit_entry nameless = pull;
    nameless.collection.clear();
    CHECK(refused(nameless));
    CHECK(f.s().audit_size().value() == 3);
  }
}

TEST_CASE("store contract: audit queries filter and page", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    const collection_key other = f.collection("root/two").value();
    REQUIRE(f.publish({object(object_id(1), v1)}, "alice"));  // 1
    f.now = t0 + 10;
    audit_entry pull;  // 2
    pull.action = "pull";
    pull.account = "bob";
    pull.api_root = "root";
    pull.collection = "one";
    pull.key = f.key;
    pull.delivered.add(t0, object_id(1), v1);
    REQUIRE(f.record(pull));
    f.now = t0 + 20;
    audit_entry counter;  // 3
    counter.action = "auth-failure";
    counter.remote = "10.0.0.1";
    counter.suppressed = 4;
    counter.accounts = {{"bob", 3}};
    REQUIRE(f.record(counter));
    f.now = t0 + 30;
    audit_entry other_pull;  // 4
    other_pull.action = "pull";
    other_pull.account = "bob";
    other_pull.api_root = "root";
    other_pull.collection = "two";
    other_pull.key = other;
    REQUIRE(f.record(other_pull));
    REQUIRE(f.remove({t0}));  // 5

    auto query = [&](audit_query q) { return seqs_of(f.s().audit_records(q).value()); };
    using seqs = std::vector<std::uint64_t>;
    CHECK(query({}) == seqs{1, 2, 3, 4, 5});
    audit_query q;
    q.object = object_id(1);
    CHECK(query(q) == seqs{1, 2, 5});
    q = {};
    q.account = "bob";
    CHECK(query(q) == seqs{2, 3, 4});
    q = {};
    q.collection = "two";
    CHECK(query(q) == seqs{4});
    q = {};
    q.action = "pull";
    CHECK(query(q) == seqs{2, 4});
    q = {};
    q.since = t0 + 10;
    q.until = t0 + 20;
    CHECK(query(q) == seqs{2, 3});
    q = {};
    q.scope = audit_scope{{{"root", "one"}}, {f.key}};
    CHECK(query(q) == seqs{1, 2, 3, 5});
    q.object = object_id(1);
    q.scope = audit_scope{{{"root", "two"}}, {other}};
    CHECK(query(q).empty());
    q = {};
    q.action = "steal";
    CHECK_FALSE(f.s().audit_records(q));

    // Paging: limit, more and resume.
    q = {};
    q.limit = 2;
    auto page = f.s().audit_records(q).value();
    CHECK(seqs_of(page) == seqs{1, 2});
    CHECK(page.more);
    CHECK(page.resume == 2);
    q.after = page.resume;
    page = f.s().audit_records(q).value();
    CHECK(seqs_of(page) == seqs{3, 4});
    q.after = page.resume;
    page = f.s().audit_records(q).value();
    CHECK(seqs_of(page) == seqs{5});
    CHECK_FALSE(page.more);
    q = {};
    q.limit = 0;  // at least one
    CHECK(seqs_of(f.s().audit_records(q).value()) == seqs{1});
  }
}

// An alert as the monitor records it.
audit_entry alert_entry(std::string kind, std::string account,
                        std::vector<std::uint64_t> evidence) {
  audit_entry e;
  e.action = "alert";
  e.kind = std::move(kind);
  e.account = std::move(account);
  e.remote = "203.0.113.7";
  e.detail = "10 failed authentications within 60 s";
  e.evidence = std::move(evidence);
  return e;
}

TEST_CASE("store contract: alert records carry kind, detail and evidence, and filter by kind",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    const collection_key other = f.collection("root/two").value();
    REQUIRE(f.publish({object(object_id(1), v1)}, "alice"));  // 1
    f.now = t0 + 10;
    audit_entry denied;  // 2
    denied.action = "denied";
    denied.account = "bob";
    denied.remote = "203.0.113.7";
    denied.status = 403;
    REQUIRE(f.record(denied));
    f.now = t0 + 20;
    // Evidence is kept sorted, each seq once, whatever order it came in.
    CHECK(f.record(alert_entry("denied-burst", "bob", {2, 1, 2})).value() == 3);
    f.now = t0 + 30;
    CHECK(f.record(alert_entry("auth-failure-burst", "", {})).value() == 4);
    f.now = t0 + 40;
    audit_entry pull;  // 5, in collection two
    pull.action = "pull";
    pull.account = "bob";
    pull.api_root = "root";
    pull.collection = "two";
    pull.key = other;
    REQUIRE(f.record(pull));
    f.now = t0 + 50;
    CHECK(f.record(alert_entry("denied-burst", "carol", {5})).value() == 6);

    auto a = audit_record_at(f.s(), 3);
    CHECK(a.action == "alert");
    CHECK(a.kind == "denied-burst");
    CHECK(a.account == "bob");
    CHECK(a.remote == "203.0.113.7");
    CHECK(a.detail == "10 failed authentications within 60 s");
    CHECK(a.evidence == std::vector<std::uint64_t>{1, 2});
    CHECK(a.collection.empty());
    CHECK(a.objects.empty());
    CHECK(audit_record_at(f.s(), 4).account.empty());
    // The members are in the hashed body: the chain holds over them.
    merkle::digest prev{};
    for (std::uint64_t seq = 1; seq <= 6; ++seq) {
      auto json = f.s().audit_record_json(seq).value().value();
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      auto r = audit_record_at(f.s(), seq);
      CHECK(r.hash == formats::audit_chain_hash(prev, formats::audit_body_of(doc->root()).value()));
      CHECK(formats::audit_record_json(r, formats::audit_objects_json(r.objects)) == json);
      prev = r.hash;
    }
    const std::string json3 = f.s().audit_record_json(3).value().value();
    CHECK(json3.find(R"("detail":"10 failed authentications within 60 s","evidence":[1,2],)") !=
          std::string::npos);
    CHECK(json3.find(R"("kind":"denied-burst","objects":[])") != std::string::npos);
    // Other records do not gain the members.
    CHECK(f.s().audit_record_json(2).value().value().find("\"kind\"") == std::string::npos);

    auto query = [&](audit_query q) { return seqs_of(f.s().audit_records(q).value()); };
    using seqs = std::vector<std::uint64_t>;
    audit_query q;
    q.action = "alert";
    CHECK(query(q) == seqs{3, 4, 6});
    q = {};
    q.kind = "denied-burst";
    CHECK(query(q) == seqs{3, 6});
    q.action = "alert";
    CHECK(query(q) == seqs{3, 6});
    q.action = "denied";  // kind implies alert
    CHECK(query(q).empty());
    q = {};
    q.kind = "volume";
    CHECK(query(q).empty());
    q = {};
    q.kind = "denied-burst";
    q.account = "carol";
    CHECK(query(q) == seqs{6});
    q = {};
    q.action = "alert";
    q.account = "bob";
    CHECK(query(q) == seqs{3});
    q = {};
    q.action = "alert";
    q.since = t0 + 25;
    CHECK(query(q) == seqs{4, 6});
    q.until = t0 + 45;
    CHECK(query(q) == seqs{4});
    q = {};
    q.kind = "denied-burst";
    q.until = t0 + 20;
    CHECK(query(q) == seqs{3});
    // Alerts name no collection: a scoped auditor sees them.
    q = {};
    q.scope = audit_scope{{{"root", "one"}}, {f.key}};
    CHECK(query(q) == seqs{1, 2, 3, 4, 6});
    q.action = "alert";
    CHECK(query(q) == seqs{3, 4, 6});
    q.action.clear();
    q.kind = "denied-burst";
    CHECK(query(q) == seqs{3, 6});
    q = {};
    q.collection = "two";
    q.kind = "denied-burst";
    CHECK(query(q).empty());
    q = {};
    q.kind = "meteor-strike";
    CHECK_FALSE(f.s().audit_records(q));

    // Paging through a kind.
    q = {};
    q.kind = "denied-burst";
    q.limit = 1;
    auto page = f.s().audit_records(q).value();
    CHECK(seqs_of(page) == seqs{3});
    CHECK(page.more);
    q.after = page.resume;
    page = f.s().audit_records(q).value();
    CHECK(seqs_of(page) == seqs{6});
    q.after = page.resume;
    page = f.s().audit_records(q).value();
    CHECK(seqs_of(page).empty());
    CHECK_FALSE(page.more);

    // Refused at once: a kind that is not one, alert members on another
    // action, a collection or versions on an alert, too much evidence, seq 0.
    auto refused = [&](audit_entry e) {
      std::optional<result<std::uint64_t>> got;
      f.s().record(std::move(e), [&](result<std::uint64_t> r) { got = r; });
      return got && !*got;
    };
    CHECK(refused(alert_entry("meteor-strike", "bob", {1})));
    CHECK(refused(alert_entry("", "bob", {1})));
    audit_entry kind_on_denied = denied;
    kind_on_denied.kind = "volume";
    CHECK(refused(kind_on_denied));
    audit_entry evidence_on_denied = denied;
    evidence_on_denied.evidence = {1};
    CHECK(refused(evidence_on_denied));
    audit_entry with_collection = alert_entry("volume", "bob", {1});
    with_collection.api_root = "root";
    with_collection.collection = "one";
    CHECK(refused(with_collection));
    audit_entry with_versions = alert_entry("volume", "bob", {1});
    with_versions.key = f.key;
    with_versions.delivered.add(t0, object_id(1), v1);
    CHECK(refused(with_versions));
    CHECK(refused(alert_entry("volume", "bob", {0, 1})));
    std::vector<std::uint64_t> many(formats::max_alert_evidence + 1);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = i + 1;
    CHECK(refused(alert_entry("volume", "bob", many)));
    many.pop_back();
    CHECK(f.record(alert_entry("volume", "bob", many)).value() == 7);
    CHECK(audit_record_at(f.s(), 7).evidence.size() == formats::max_alert_evidence);
    CHECK(f.s().audit_size().value() == 7);
  }
}

TEST_CASE("store contract: proofs verify, checkpoints are signed", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    auto none = f.checkpoint_now();  // nothing to sign
    REQUIRE_FALSE(none);
    CHECK(none.error().code == errc::not_found);  // the server answers 503: none yet
    CHECK_FALSE(f.s().checkpoint().value());
    for (int i = 1; i <= 5; ++i) REQUIRE(f.publish({object(object_id(i), v1)}));

    std::vector<merkle::digest> leaves;
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
      auto json = f.s().audit_record_json(seq).value().value();
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      leaves.push_back(merkle::leaf_hash(formats::audit_body_of(doc->root()).value()));
    }
    CHECK(f.s().audit_root(5).value() == merkle::root_of(leaves));
    CHECK(f.s().audit_root(0).value() == merkle::empty_root());
    CHECK_FALSE(f.s().audit_root(6));
    for (std::uint64_t size = 1; size <= 5; ++size) {
      const auto root = f.s().audit_root(size).value();
      for (std::uint64_t seq = 1; seq <= size; ++seq) {
        auto proof = f.s().inclusion_proof(seq, size);
        REQUIRE(proof);
        CHECK(merkle::verify_inclusion(seq - 1, size, leaves[seq - 1], *proof, root));
      }
      auto consistency = f.s().consistency_proof(size, 5);
      REQUIRE(consistency);
      CHECK(merkle::verify_consistency(size, 5, root, f.s().audit_root(5).value(), *consistency));
    }
    CHECK_FALSE(f.s().inclusion_proof(0, 5));
    CHECK_FALSE(f.s().inclusion_proof(3, 6));
    CHECK_FALSE(f.s().consistency_proof(0, 5));
    CHECK_FALSE(f.s().consistency_proof(4, 3));

    auto c = f.checkpoint_now();
    REQUIRE(c);
    CHECK(c->tree_size == 5);
    CHECK(c->root_hash == f.s().audit_root(5).value());
    CHECK(c->chain_hash == audit_record_at(f.s(), 5).hash);
    CHECK(formats::checkpoint_signature_ok(*c, f.s().public_key_pem()));
    auto sig = formats::base64_decode(c->signature);
    REQUIRE(sig);
    CHECK(
        formats::ed25519_verify(f.s().public_key_pem(), formats::checkpoint_signed_text(*c), *sig));
    auto latest = f.s().checkpoint().value();
    REQUIRE(latest);
    CHECK(latest->tree_size == 5);
    // Covered already: the same checkpoint.
    CHECK(f.checkpoint_now().value().signature == c->signature);
  }
}

TEST_CASE("store contract: a reader is a snapshot", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish({object(object_id(1), v1)}, "alice", {}, "s-1"));
    auto before = f.s().begin_read();
    auto kept = before->at(f.key, t0);
    REQUIRE(kept);

    REQUIRE(f.publish({object(object_id(2), v1)}, "alice", {}, "s-2"));
    REQUIRE(f.remove({t0}));

    std::vector<std::string> seen;
    before->scan(f.key, 0, {}, [&](const object_record& r) {
      seen.emplace_back(r.id);
      return true;
    });
    CHECK(seen == std::vector<std::string>{object_id(1)});
    CHECK(before->at(f.key, t0));
    CHECK_FALSE(before->status("s-2"));
    CHECK(kept->id == object_id(1));  // its views live as long as the reader
    CHECK(kept->json == object(object_id(1), v1).json);

    CHECK(f.scan() == pairs{{object_id(2), v1}});
  }
}

TEST_CASE("store contract: a failed commit stores neither objects nor record",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    REQUIRE(f.publish({object(object_id(1), v1)}));
    const auto failed_before = f.s().stats().failed_commits;
    f.fault = EIO;
    auto out = f.publish({object(object_id(2), v1)}, "alice", {}, "s-2");
    REQUIRE_FALSE(out);
    // Not the caller's mistake: it may work later (the server's 503).
    CHECK(out.error().code == errc::unavailable);
    CHECK(f.s().stats().failed_commits == failed_before + 1);
    CHECK(f.scan() == pairs{{object_id(1), v1}});
    CHECK_FALSE(f.s().begin_read()->status("s-2"));
    CHECK(f.s().audit_size().value() == 1);

    f.fault = EIO;
    auto removed = f.remove({t0});
    REQUIRE_FALSE(removed);
    CHECK(removed.error().code == errc::unavailable);
    CHECK(f.scan().size() == 1);
    CHECK(f.s().audit_size().value() == 1);

    // A full disk is told apart (the server's 507).
    f.fault = ENOSPC;
    out = f.publish({object(object_id(2), v1)});
    REQUIRE_FALSE(out);
    CHECK(out.error().code == errc::storage_full);
    CHECK(f.scan().size() == 1);

    // The next write goes through, at the next position.
    auto next = f.publish({object(object_id(2), v1)});
    REQUIRE(next);
    CHECK(next->first_date_added == t0 + 1);
    CHECK(f.s().audit_size().value() == 2);

    // A closed store refuses writes as a failed commit: nothing changed.
    f.s().close();
    out = f.publish({object(object_id(3), v1)});
    REQUIRE_FALSE(out);
    CHECK(out.error().code == errc::unavailable);
  }
}

TEST_CASE("store contract: callbacks run on the store's thread and may not block on it",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    std::promise<std::pair<std::thread::id, bool>> p;
    publish_request request;
    request.collection = f.key;
    request.objects = {object(object_id(1), v1)};
    audit_entry entry;
    entry.collection = "one";
    f.s().publish(std::move(request), std::move(entry), [&](result<publish_outcome>) {
      // Blocking on the store from here would deadlock: refused.
      p.set_value({std::this_thread::get_id(), f.s().collection("root/new").has_value()});
    });
    auto [thread, created] = p.get_future().get();
    CHECK(thread != std::this_thread::get_id());
    CHECK_FALSE(created);
  }
}

// ---------------------------------------------------------------- observables

using formats::observable_kind;

formats::observable ob(observable_kind k, std::string value, bool exportable = true) {
  formats::observable o;
  o.kind = k;
  o.cidr = value.find('/') != std::string::npos;
  o.value = std::move(value);
  o.exportable = exportable;
  return o;
}

new_object indexed(const std::string& id, std::vector<formats::observable> observables,
                   tlp_level tlp = tlp_level::green, std::string version = v1) {
  new_object o = object(id, std::move(version), tlp);
  o.observables = std::move(observables);
  return o;
}

// What a lookup meets, as (id, indexed value) pairs in call order.
pairs lookup(store& s, std::vector<collection_key> cs, observable_kind k, std::string_view value,
             visibility who = {}) {
  pairs out;
  auto r = s.begin_read();
  r->lookup(cs, k, value, who, [&](const observable_hit& hit, const object_record& rec) {
    CHECK(hit.kind == k);
    out.emplace_back(rec.id, hit.value);
    return true;
  });
  return out;
}

// What an export scan meets, as (value, id) pairs in call order.
pairs exportable(store& s, collection_key c, std::vector<observable_kind> kinds = {},
                 visibility who = {}) {
  pairs out;
  auto r = s.begin_read();
  r->exportable_values(c, kinds, who, [&](const observable_hit& hit, const object_record& rec) {
    CHECK(hit.exportable);
    out.emplace_back(hit.value, rec.id);
    return true;
  });
  return out;
}

TEST_CASE("store contract: lookup finds exact values and containing CIDRs", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    const collection_key two = f.collection("root/two").value();
    REQUIRE(f.publish({
        indexed(object_id(1), {ob(observable_kind::ipv4, "10.0.0.1")}),
        indexed(object_id(2), {ob(observable_kind::ipv4, "10.0.0.0/8", false)}),
        indexed(object_id(3), {ob(observable_kind::ipv4, "10.1.0.0/16"),
                               ob(observable_kind::domain, "a.example")}),
        indexed(object_id(4), {ob(observable_kind::ipv6, "2001:db8::/32"),
                               ob(observable_kind::ipv6, "2001:db8::1")}),
        indexed(object_id(5), {ob(observable_kind::url, "10.0.0.1")}),
        indexed(object_id(6), {ob(observable_kind::ipv4, "0.0.0.0/0")}),
    }));
    const collection_key one = f.key;
    f.key = two;
    REQUIRE(f.publish({indexed(object_id(7), {ob(observable_kind::ipv4, "10.0.0.1")})}));
    f.key = one;

    using k = observable_kind;
    // Exact values and every CIDR containing the address; collection order,
    // then date_added.
    CHECK(lookup(f.s(), {f.key, two}, k::ipv4, "10.0.0.1") == pairs{{object_id(1), "10.0.0.1"},
                                                                    {object_id(2), "10.0.0.0/8"},
                                                                    {object_id(6), "0.0.0.0/0"},
                                                                    {object_id(7), "10.0.0.1"}});
    CHECK(lookup(f.s(), {two, f.key}, k::ipv4, "10.0.0.1").front() ==
          std::pair<std::string, std::string>{object_id(7), "10.0.0.1"});
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.1.255.7") == pairs{{object_id(2), "10.0.0.0/8"},
                                                                 {object_id(3), "10.1.0.0/16"},
                                                                 {object_id(6), "0.0.0.0/0"}});
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "11.0.0.1") == pairs{{object_id(6), "0.0.0.0/0"}});
    // A CIDR looked up as such matches itself and the CIDRs containing it.
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.1.0.0/16") == pairs{{object_id(2), "10.0.0.0/8"},
                                                                  {object_id(3), "10.1.0.0/16"},
                                                                  {object_id(6), "0.0.0.0/0"}});
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.0/8") ==
          pairs{{object_id(2), "10.0.0.0/8"}, {object_id(6), "0.0.0.0/0"}});
    // One call per version, even when it indexed several matching values.
    CHECK(lookup(f.s(), {f.key}, k::ipv6, "2001:db8::1") == pairs{{object_id(4), "2001:db8::1"}});
    CHECK(lookup(f.s(), {f.key}, k::ipv6, "2001:db8::2") == pairs{{object_id(4), "2001:db8::/32"}});
    CHECK(lookup(f.s(), {f.key}, k::domain, "a.example") == pairs{{object_id(3), "a.example"}});
    // The kind is part of the key.
    CHECK(lookup(f.s(), {f.key}, k::url, "10.0.0.1") == pairs{{object_id(5), "10.0.0.1"}});
    CHECK(lookup(f.s(), {f.key}, k::domain, "b.example").empty());
    CHECK(lookup(f.s(), {99}, k::ipv4, "10.0.0.1").empty());
    // Stops when fn says so.
    int calls = 0;
    auto r = f.s().begin_read();
    const std::vector<collection_key> both{f.key, two};
    r->lookup(both, k::ipv4, "10.0.0.1", {},
              [&](const observable_hit&, const object_record&) { return ++calls < 2; });
    CHECK(calls == 2);
  }
}

TEST_CASE("store contract: lookup and exports pass only what the reader may receive, live",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    using k = observable_kind;
    REQUIRE(f.publish({indexed(object_id(1), {ob(k::ipv4, "10.0.0.1")}, tlp_level::red),
                       indexed(object_id(2), {ob(k::ipv4, "10.0.0.1")}, tlp_level::green)},
                      "bob"));
    REQUIRE(f.publish({indexed(object_id(3), {ob(k::ipv4, "10.0.0.0/24")}, tlp_level::amber)},
                      "alice"));
    const visibility green{tlp_level::green, ""};
    const visibility alice{tlp_level::green, "alice"};
    const visibility bob{tlp_level::green, "bob"};
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.1", green) == pairs{{object_id(2), "10.0.0.1"}});
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.1", alice) ==
          pairs{{object_id(2), "10.0.0.1"}, {object_id(3), "10.0.0.0/24"}});
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.1", bob) ==
          pairs{{object_id(2), "10.0.0.1"}, {object_id(1), "10.0.0.1"}});
    CHECK(exportable(f.s(), f.key, {}, green) == pairs{{"10.0.0.1", object_id(2)}});
    CHECK(exportable(f.s(), f.key, {}, alice) ==
          pairs{{"10.0.0.0/24", object_id(3)}, {"10.0.0.1", object_id(2)}});

    // Deleted versions are gone from both.
    // Positions: t0 (green, 2), t0 + 1 (red, 1), then t0 + 2 (amber, 3).
    REQUIRE(f.remove({t0}).value() == 1);
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.1", green).empty());
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.1") ==
          pairs{{object_id(1), "10.0.0.1"}, {object_id(3), "10.0.0.0/24"}});
    CHECK(exportable(f.s(), f.key) ==
          pairs{{"10.0.0.0/24", object_id(3)}, {"10.0.0.1", object_id(1)}});
    REQUIRE(f.remove({t0 + 1, t0 + 2}).value() == 2);
    CHECK(lookup(f.s(), {f.key}, k::ipv4, "10.0.0.1").empty());
    CHECK(exportable(f.s(), f.key).empty());
  }
}

TEST_CASE("store contract: exportable values in (kind, value, date_added) order",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    using k = observable_kind;
    const std::string sha(64, 'a');
    REQUIRE(f.publish({
        indexed(object_id(1), {ob(k::domain, "b.example"), ob(k::ipv4, "10.0.0.2")}),
        indexed(object_id(2), {ob(k::ipv4, "10.0.0.10"), ob(k::sha256, sha)}),
        indexed(object_id(3), {ob(k::domain, "a.example", false)}),
    }));
    REQUIRE(
        f.publish({indexed(object_id(4), {ob(k::ipv4, "10.0.0.2"), ob(k::domain, "a.example")})}));
    CHECK(exportable(f.s(), f.key) == pairs{{"10.0.0.10", object_id(2)},
                                            {"10.0.0.2", object_id(1)},
                                            {"10.0.0.2", object_id(4)},
                                            {"a.example", object_id(4)},
                                            {"b.example", object_id(1)},
                                            {sha, object_id(2)}});
    CHECK(exportable(f.s(), f.key, {k::domain, k::sha256}) ==
          pairs{{"a.example", object_id(4)}, {"b.example", object_id(1)}, {sha, object_id(2)}});
    CHECK(exportable(f.s(), f.key, {k::url}).empty());
    CHECK(exportable(f.s(), 99).empty());
    int calls = 0;
    auto r = f.s().begin_read();
    r->exportable_values(f.key, {}, {},
                         [&](const observable_hit&, const object_record&) { return ++calls < 3; });
    CHECK(calls == 3);
  }
}

TEST_CASE("store contract: a collection's generation changes with each write to it",
          "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    const collection_key two = f.collection("root/two").value();
    auto generation = [&](collection_key c) {
      return f.s().begin_read()->collection_generation(c);
    };
    const auto g0 = generation(f.key);
    const auto other0 = generation(two);
    REQUIRE(f.publish({object(object_id(1), v1)}));
    const auto g1 = generation(f.key);
    CHECK(g1 != g0);
    CHECK(generation(two) == other0);
    REQUIRE(f.publish({object(object_id(2), v1)}));
    const auto g2 = generation(f.key);
    CHECK(g2 != g1);
    REQUIRE(f.remove({t0}).value() == 1);
    const auto g3 = generation(f.key);
    CHECK(g3 != g2);
    CHECK(g3 != g1);
    // A reader keeps its snapshot's generation (taken at its first read).
    auto r = f.s().begin_read();
    CHECK(r->collection_generation(f.key) == g3);
    f.now += k_hour;
    REQUIRE(f.publish({object(object_id(3), v1)}));
    CHECK(r->collection_generation(f.key) == g3);
    CHECK(generation(f.key) != g3);
    CHECK(generation(two) == other0);
  }
}

namespace {

// A pull record of `account` carrying the versions at these positions.
audit_entry pull_of(std::string account, std::string collection, collection_key key,
                    std::vector<std::pair<micros, std::string>> items) {
  audit_entry e;
  e.action = "pull";
  e.account = std::move(account);
  e.remote = "127.0.0.1";
  e.api_root = "root";
  e.collection = std::move(collection);
  e.status = 200;
  e.key = key;
  for (const auto& [at, id] : items) e.delivered.add(at, id, v1);
  return e;
}

using stats_points = std::vector<std::string>;

// One point as text ("account bucket records objects"), so that a failure shows it.
std::string pt(const std::string& account, const std::string& bucket, std::uint64_t records,
               std::uint64_t objects) {
  return account + " " + bucket + " " + std::to_string(records) + " " + std::to_string(objects);
}

// The points, as text.
stats_points points_of(store& s, audit_stats_query q) {
  auto got = s.audit_stats(q);
  REQUIRE(got);
  stats_points out;
  for (const auto& p : *got) {
    out.push_back(pt(p.account, formats::format_taxii_time(p.bucket), p.records, p.objects));
  }
  return out;
}

}  // namespace

TEST_CASE("store contract: delivery statistics per account, hour and day", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    const collection_key two = f.collection("root/two").value();
    REQUIRE(f.publish({object(object_id(1), v1), object(object_id(2), v1)}));  // t0, t0 + 1
    constexpr micros minute = micros{60} * 1'000'000;
    REQUIRE(f.record(pull_of("bob", "one", f.key, {{t0, object_id(1)}, {t0 + 1, object_id(2)}})));
    f.now = t0 + 30 * minute;
    REQUIRE(f.record(pull_of("bob", "one", f.key, {{t0 + 1, object_id(2)}})));
    audit_entry denied;  // not a delivery
    denied.action = "denied";
    denied.account = "bob";
    denied.api_root = "root";
    denied.collection = "one";
    denied.status = 403;
    REQUIRE(f.record(denied));
    f.now = t0 + k_hour + 1;
    REQUIRE(f.record(pull_of("carol", "one", f.key, {{t0, object_id(1)}})));
    f.now = t0 + 2 * k_hour;
    REQUIRE(f.record(pull_of("bob", "two", two, {})));
    f.now = t0 + 26 * k_hour;
    REQUIRE(f.record(pull_of("bob", "one", f.key, {{t0, object_id(1)}})));
    REQUIRE(f.publish({object(object_id(3), v1)}));  // not a delivery

    const std::string h10 = formats::format_taxii_time(at_time("2026-11-27T10:00:00Z"));
    const std::string h11 = formats::format_taxii_time(at_time("2026-11-27T11:00:00Z"));
    const std::string h12 = formats::format_taxii_time(at_time("2026-11-27T12:00:00Z"));
    const std::string h12_next = formats::format_taxii_time(at_time("2026-11-28T12:00:00Z"));
    const std::string d27 = formats::format_taxii_time(at_time("2026-11-27T00:00:00Z"));
    const std::string d28 = formats::format_taxii_time(at_time("2026-11-28T00:00:00Z"));

    audit_stats_query q;
    CHECK(points_of(f.s(), q) == stats_points{pt("bob", h10, 2, 3), pt("bob", h12, 1, 0),
                                              pt("bob", h12_next, 1, 1), pt("carol", h11, 1, 1)});
    q.day = true;
    CHECK(points_of(f.s(), q) ==
          stats_points{pt("bob", d27, 3, 3), pt("bob", d28, 1, 1), pt("carol", d27, 1, 1)});
    q.collection = "two";
    CHECK(points_of(f.s(), q) == stats_points{pt("bob", d27, 1, 0)});
    q.collection = "three";
    CHECK(points_of(f.s(), q).empty());

    // A scope keeps the counters of its collections only.
    q = {};
    q.scope = audit_scope{{{"root", "one"}}, {f.key}};
    CHECK(points_of(f.s(), q) ==
          stats_points{pt("bob", h10, 2, 3), pt("bob", h12_next, 1, 1), pt("carol", h11, 1, 1)});
    q.scope = audit_scope{{{"other-root", "one"}}, {}};
    CHECK(points_of(f.s(), q).empty());

    // since and until take the buckets they overlap, whole.
    q = {};
    q.since = t0 + k_hour + 5 * minute;
    q.until = t0 + 2 * k_hour;
    CHECK(points_of(f.s(), q) == stats_points{pt("bob", h12, 1, 0), pt("carol", h11, 1, 1)});
    q.day = true;
    q.since = t0 + 20 * k_hour;
    q.until.reset();
    CHECK(points_of(f.s(), q) == stats_points{pt("bob", d28, 1, 1)});
    q.since = t0 + 40 * k_hour;
    CHECK(points_of(f.s(), q).empty());
    q.day = false;
    q.since = t0 + 2 * k_hour;
    q.until = t0;  // an empty window
    CHECK(points_of(f.s(), q).empty());
  }
}

TEST_CASE("store contract: every commit is told to the commit observer", "[store][contract]") {
  FOR_EACH_BACKEND(make) {
    fixture f(make);
    // Shared with the observer, which the writer thread may still call after
    // a failed REQUIRE has left this scope. A store may commit work of its
    // own meanwhile (an index built at open): samples are counted by kind.
    struct seen_samples {
      std::mutex mutex;
      std::vector<commit_sample> all;
    };
    auto seen = std::make_shared<seen_samples>();
    auto samples = [seen] {
      std::lock_guard lock(seen->mutex);
      return seen->all;
    };
    auto failed = [](const std::vector<commit_sample>& v) {
      return std::count_if(v.begin(), v.end(), [](const commit_sample& c) { return !c.ok; });
    };
    f.s().observe_commits([seen](const commit_sample& c) {
      std::lock_guard lock(seen->mutex);
      seen->all.push_back(c);
    });
    // Told before the writes' callbacks run: the publish's commit is there
    // once the publish has completed.
    REQUIRE(f.publish({object(object_id(1), v1), object(object_id(2), v1)}));
    auto after_publish = samples();
    REQUIRE_FALSE(after_publish.empty());
    CHECK(failed(after_publish) == 0);
    for (const auto& c : after_publish) {
      CHECK(c.jobs >= 1);  // LMDB: the objects and the record
      CHECK(c.seconds >= 0);
    }

    f.fault = EIO;
    REQUIRE_FALSE(f.publish({object(object_id(3), v1)}));
    auto after_failure = samples();
    CHECK(after_failure.size() > after_publish.size());
    REQUIRE(failed(after_failure) >= 1);
    for (const auto& c : after_failure) CHECK(c.jobs >= 1);

    // An empty observer stops the calls.
    f.s().observe_commits({});
    const auto before = samples().size();
    REQUIRE(f.publish({object(object_id(3), v1)}));
    CHECK(samples().size() == before);
    CHECK(f.s().stats().write_queue_depth == 0);
  }
}

}  // namespace
}  // namespace cairn::storage
