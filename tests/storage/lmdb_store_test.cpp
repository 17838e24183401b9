// The LMDB backend through the seam only (store.hpp, lmdb_store.hpp): a
// publish or a delete and its audit record are one transaction.

#include "storage/lmdb_store.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/json.hpp"
#include "formats/time.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb.hpp"
#include "tests/storage/temp_dir.hpp"

using namespace cairn;
using namespace cairn::storage;
using cairn::storage::testing::temp_dir;

namespace {

struct opened {
  std::unique_ptr<store> s;
  collection_key c = 0;
};

opened open_store(const temp_dir& dir, std::shared_ptr<store_faults> faults) {
  lmdb_store_options o;
  o.path = dir.sub("store");
  o.key_path = dir.sub("audit.key");
  o.public_key_path = dir.sub("audit.pub");
  o.faults = std::move(faults);
  auto s = open_lmdb_store(o);
  REQUIRE(s);
  auto c = (*s)->collection("api1/coll");
  REQUIRE(c);
  return {std::move(*s), *c};
}

new_object object(int n) {
  new_object o;
  o.id = "indicator--00000000-0000-4000-8000-00000000000" + std::to_string(n);
  o.type = "indicator";
  o.version = "2026-01-01T00:00:00.000Z";
  o.spec_version = "2.1";
  o.tlp = formats::tlp_level::green;
  o.json = R"({"type":"indicator","id":")" + o.id + R"("})";
  return o;
}

audit_entry entry(std::string action, int status) {
  audit_entry e;
  e.action = std::move(action);
  e.account = "alice";
  e.remote = "127.0.0.1";
  e.api_root = "api1";
  e.collection = "coll";
  e.status = status;
  return e;
}

result<publish_outcome> publish(store& s, collection_key c, std::vector<new_object> objects) {
  publish_request r;
  r.collection = c;
  r.publisher = "alice";
  r.objects = std::move(objects);
  r.status.id = "status-1";
  r.status.owner = "alice";
  r.status.api_root = "api1";
  std::promise<result<publish_outcome>> p;
  auto f = p.get_future();
  s.publish(std::move(r), entry("publish", 202),
            [&p](result<publish_outcome> o) { p.set_value(std::move(o)); });
  return f.get();
}

std::vector<micros> positions(const store& s, collection_key c) {
  std::vector<micros> out;
  auto txn = s.begin_read();
  txn->scan(c, 0, visibility{}, [&](const object_record& r) {
    out.push_back(r.date_added);
    return true;
  });
  return out;
}

std::vector<formats::audit_record> records(const store& s) {
  audit_query q;
  q.limit = max_audit_limit;
  auto page = s.audit_records(q);
  REQUIRE(page);
  std::vector<formats::audit_record> out;
  for (const auto& json : page->records) {
    auto doc = formats::parse_json(json);
    REQUIRE(doc);
    auto r = formats::parse_audit_record(doc->root());
    REQUIRE(r);
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace

TEST_CASE("lmdb_store: a publish stores its objects and its audit record together") {
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  std::atomic<bool> fail_commit{false};
  faults->before_commit = [&] { return fail_commit.load() ? EIO : 0; };
  auto [s, c] = open_store(dir, faults);

  auto out = publish(*s, c, {object(1), object(2)});
  REQUIRE(out);
  CHECK(out->added == 2);
  CHECK(positions(*s, c).size() == 2);
  auto status = s->begin_read()->status("status-1");
  REQUIRE(status);
  CHECK(status->successes.size() == 2);
  auto recorded = records(*s);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].action == "publish");
  CHECK(recorded[0].account == "alice");
  REQUIRE(recorded[0].objects.size() == 2);
  CHECK(*s->audit_size() == 1);

  // A failed commit keeps out both the objects and the record.
  fail_commit = true;
  auto failed = publish(*s, c, {object(3), object(4)});
  fail_commit = false;
  CHECK_FALSE(failed);
  CHECK(positions(*s, c).size() == 2);
  CHECK(records(*s).size() == 1);
  CHECK(*s->audit_size() == 1);
  CHECK(s->stats().failed_commits >= 1);
}

TEST_CASE("lmdb_store: a delete and its audit record commit together, or neither does") {
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  std::atomic<bool> fail_commit{false};
  faults->before_commit = [&] { return fail_commit.load() ? EIO : 0; };
  auto [s, c] = open_store(dir, faults);
  REQUIRE(publish(*s, c, {object(1), object(2)}));
  const auto stored = positions(*s, c);
  REQUIRE(stored.size() == 2);

  auto remove = [&](std::vector<micros> at) {
    delete_request d;
    d.collection = c;
    d.positions = std::move(at);
    std::promise<result<std::size_t>> p;
    auto f = p.get_future();
    s->remove(std::move(d), entry("delete", 200),
              [&p](result<std::size_t> n) { p.set_value(std::move(n)); });
    return f.get();
  };

  fail_commit = true;
  CHECK_FALSE(remove({stored[0]}));
  fail_commit = false;
  CHECK(positions(*s, c).size() == 2);
  CHECK(records(*s).size() == 1);

  auto removed = remove({stored[0]});
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK(positions(*s, c) == std::vector<micros>{stored[1]});
  auto recorded = records(*s);
  REQUIRE(recorded.size() == 2);
  CHECK(recorded[1].action == "delete");
  REQUIRE(recorded[1].objects.size() == 1);
  CHECK(recorded[1].objects[0].id == object(1).id);
}

TEST_CASE("lmdb_store: concurrent publishes each get their record") {
  temp_dir dir;
  auto [s, c] = open_store(dir, nullptr);
  constexpr int n = 64;
  std::vector<std::promise<result<publish_outcome>>> promises(n);
  std::vector<std::future<result<publish_outcome>>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  for (int i = 0; i < n; ++i) {
    publish_request r;
    r.collection = c;
    r.publisher = "alice";
    new_object o = object(0);
    o.id = "indicator--00000000-0000-4000-8000-" + std::string(12 - std::to_string(i).size(), '0') +
           std::to_string(i);
    r.objects.push_back(std::move(o));
    s->publish(std::move(r), entry("publish", 202),
               [&p = promises[i]](result<publish_outcome> out) { p.set_value(std::move(out)); });
  }
  for (auto& f : futures) REQUIRE(f.get());
  const auto after = s->stats();
  CHECK(positions(*s, c).size() == n);
  CHECK(records(*s).size() == n);
  CHECK(after.capacity_bytes > 0);
  CHECK(after.used_bytes > 0);
}

TEST_CASE("lmdb_store: a store written before the observable index is indexed once at open") {
  temp_dir dir;
  new_object indicator = object(1);
  indicator.json =
      R"({"type":"indicator","id":")" + indicator.id +
      R"(","pattern_type":"stix","pattern":"[ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.9.0.0/16']"})";
  new_object other = object(2);  // no pattern: nothing to index
  new_object gone = object(3);
  gone.json = indicator.json;
  collection_key c = 0;
  {
    // Versions stored as a release without the index stored them: without
    // observables.
    auto [s, key] = open_store(dir, nullptr);
    c = key;
    REQUIRE(publish(*s, c, {indicator, other, gone}));
    std::promise<result<std::size_t>> p;
    delete_request d;
    d.collection = c;
    d.positions = {positions(*s, c).back()};
    s->remove(std::move(d), entry("delete", 200), [&](result<std::size_t> n) { p.set_value(n); });
    REQUIRE(p.get_future().get().value() == 1);
    auto r = s->begin_read();
    const std::vector<collection_key> cs{c};
    int hits = 0;
    r->lookup(cs, formats::observable_kind::ipv4, "10.0.0.1", {},
              [&](const observable_hit&, const object_record&) { return ++hits > 0; });
    CHECK(hits == 0);
    s->close();
  }
  {
    // What such a release left: no mark that the index is complete.
    auto env = lmdb::env::create();
    REQUIRE(env);
    REQUIRE(env->set_maxdbs(64));
    REQUIRE(env->open(dir.sub("store").c_str(), 0, 0600));
    auto t = lmdb::txn::begin(*env);
    REQUIRE(t);
    auto meta = lmdb::dbi::open(*t, "meta");
    REQUIRE(meta);
    REQUIRE(meta->erase(*t, "observables_indexed").value());
    REQUIRE(t->commit());
  }
  std::vector<std::string> notices;
  lmdb_store_options o;
  o.path = dir.sub("store");
  o.key_path = dir.sub("audit.key");
  o.public_key_path = dir.sub("audit.pub");
  o.notice = [&](std::string_view what) { notices.emplace_back(what); };
  auto s = open_lmdb_store(o);
  REQUIRE(s);
  REQUIRE(notices.size() == 2);
  CHECK(notices[1] == "observable index built: 2 object versions in 1 collections");
  auto r = (*s)->begin_read();
  const std::vector<collection_key> cs{c};
  std::vector<std::pair<std::string, std::string>> hits;
  r->lookup(cs, formats::observable_kind::ipv4, "10.9.1.1", {},
            [&](const observable_hit& hit, const object_record& rec) {
              hits.emplace_back(rec.id, hit.value);
              CHECK(hit.cidr);
              CHECK(hit.exportable);
              return true;
            });
  CHECK(hits == std::vector<std::pair<std::string, std::string>>{{indicator.id, "10.9.0.0/16"}});
  std::vector<std::string> values;
  r->exportable_values(c, {}, {}, [&](const observable_hit& hit, const object_record& rec) {
    CHECK(rec.id == indicator.id);  // not the deleted copy
    values.emplace_back(hit.value);
    return true;
  });
  CHECK(values == std::vector<std::string>{"10.0.0.1", "10.9.0.0/16"});
  r.reset();
  (*s)->close();

  // Once: a second open says nothing.
  s->reset();
  notices.clear();
  auto again = open_lmdb_store(o);
  REQUIRE(again);
  CHECK(notices.empty());
}

TEST_CASE("lmdb_store: a store written before the status owner index is indexed once at open") {
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  const micros t0 = formats::parse_rfc3339("2026-11-27T10:00:00Z").value();
  faults->clock = [t0] { return t0; };
  collection_key c = 0;
  auto status_of = [&](std::string id, std::vector<new_object> objects, micros at) {
    publish_request r;
    r.collection = c;
    r.publisher = "alice";
    r.objects = std::move(objects);
    r.status.id = std::move(id);
    r.status.owner = "alice";
    r.status.api_root = "api1";
    r.status.request_timestamp = at;
    return r;
  };
  auto run = [](store& s, publish_request r) {
    std::promise<result<publish_outcome>> p;
    s.publish(std::move(r), entry("publish", 202),
              [&p](result<publish_outcome> o) { p.set_value(std::move(o)); });
    return p.get_future().get();
  };
  {
    auto [s, key] = open_store(dir, faults);
    c = key;
    new_object bad = object(3);
    bad.version = "yesterday";
    // Two added (kept as a range of positions), one duplicate, one failure.
    REQUIRE(run(*s, status_of("status-1", {object(1), object(2)}, t0)));
    REQUIRE(run(*s, status_of("status-2", {object(1), object(4), bad}, t0 + 5)));
    s->close();
  }
  {
    // What a release without the index left: no entries, no mark.
    auto env = lmdb::env::create();
    REQUIRE(env);
    REQUIRE(env->set_maxdbs(64));
    REQUIRE(env->open(dir.sub("store").c_str(), 0, 0600));
    auto t = lmdb::txn::begin(*env);
    REQUIRE(t);
    auto owners = lmdb::dbi::open(*t, "status_owner");
    REQUIRE(owners);
    REQUIRE(owners->drop(*t, true));
    auto meta = lmdb::dbi::open(*t, "meta");
    REQUIRE(meta);
    REQUIRE(meta->erase(*t, "status_owners_indexed").value());
    REQUIRE(t->commit());
  }
  auto [s, key] = open_store(dir, faults);
  auto page = s->begin_read()->owned_statuses("alice", std::nullopt, 10);
  REQUIRE(page.statuses.size() == 2);
  CHECK(page.statuses[0] == status_summary{"status-2", "api1", t0 + 5, 2, 1, 0});
  CHECK(page.statuses[1] == status_summary{"status-1", "api1", t0, 2, 0, 0});
  CHECK_FALSE(page.more);
  // The index goes on from there.
  REQUIRE(run(*s, status_of("status-3", {object(5)}, t0 + 9)));
  page = s->begin_read()->owned_statuses("alice", std::nullopt, 10);
  REQUIRE(page.statuses.size() == 3);
  CHECK(page.statuses[0] == status_summary{"status-3", "api1", t0 + 9, 1, 0, 0});
  CHECK(s->begin_read()->owned_statuses("bob", std::nullopt, 10).statuses.empty());
}

TEST_CASE("lmdb_store: a status stored again under its id is listed once, as stored last") {
  temp_dir dir;
  auto [s, c] = open_store(dir, nullptr);
  REQUIRE(publish(*s, c, {object(1)}));
  REQUIRE(publish(*s, c, {object(2), object(3)}));  // the same status id, "status-1"
  auto page = s->begin_read()->owned_statuses("alice", std::nullopt, 10);
  REQUIRE(page.statuses.size() == 1);
  CHECK(page.statuses[0].id == "status-1");
  CHECK(page.statuses[0].successes == 2);
}

TEST_CASE("lmdb_store: a log written before the delivery statistics index is indexed at open") {
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  faults->clock = [] { return formats::parse_rfc3339("2026-11-27T10:00:00Z").value(); };
  auto [s, c] = open_store(dir, faults);
  REQUIRE(publish(*s, c, {object(1), object(2)}));
  const auto at = positions(*s, c);
  REQUIRE(at.size() == 2);
  // More pull records than one indexing step takes (20,000), so that the
  // index is built in several steps.
  constexpr int pulls = 20'003;
  std::promise<result<std::uint64_t>> last;
  for (int i = 0; i < pulls; ++i) {
    audit_entry e = entry("pull", 200);
    e.account = i % 3 == 0 ? "bob" : "carol";
    e.key = c;
    e.delivered.add(at[0], object(1).id, object(1).version);
    if (i % 2 == 0) e.delivered.add(at[1], object(2).id, object(2).version);
    if (i + 1 < pulls) {
      s->record(std::move(e));
    } else {
      s->record(std::move(e), [&last](result<std::uint64_t> seq) { last.set_value(seq); });
    }
  }
  REQUIRE(last.get_future().get());
  audit_stats_query q;
  q.day = true;
  const auto before = s->audit_stats(q);
  REQUIRE(before);
  REQUIRE(before->size() == 2);
  std::uint64_t records = 0;
  std::uint64_t objects = 0;
  for (const auto& p : *before) {
    records += p.records;
    objects += p.objects;
  }
  CHECK(records == pulls);
  CHECK(objects == pulls + (pulls + 1) / 2);
  s->close();
  s.reset();

  {  // What a store written before the index looks like: no such database.
    auto e = lmdb::env::create();
    REQUIRE(e);
    REQUIRE(e->set_maxdbs(2000));
    REQUIRE(e->set_mapsize(std::size_t{1} << 30));
    REQUIRE(e->open(dir.sub("store").c_str(), 0, 0600));
    auto t = lmdb::txn::begin(*e);
    REQUIRE(t);
    auto stats = lmdb::dbi::open(*t, "audit_stats", 0);
    REQUIRE(stats);
    REQUIRE(stats->drop(*t, true));
    REQUIRE(t->commit());
  }

  std::vector<std::string> notices;
  lmdb_store_options o;
  o.path = dir.sub("store");
  o.key_path = dir.sub("audit.key");
  o.public_key_path = dir.sub("audit.pub");
  o.notice = [&notices](std::string_view what) { notices.emplace_back(what); };
  auto reopened = open_lmdb_store(o);
  REQUIRE(reopened);
  const auto after = (*reopened)->audit_stats(q);
  REQUIRE(after);
  REQUIRE(after->size() == before->size());
  for (std::size_t i = 0; i < after->size(); ++i) {
    CHECK((*after)[i].account == (*before)[i].account);
    CHECK((*after)[i].bucket == (*before)[i].bucket);
    CHECK((*after)[i].records == (*before)[i].records);
    CHECK((*after)[i].objects == (*before)[i].objects);
  }
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find("indexed from 20003 pull records") != std::string::npos);
  (*reopened)->close();
  reopened->reset();

  // Once built, it is not built again.
  notices.clear();
  auto again = open_lmdb_store(o);
  REQUIRE(again);
  CHECK(notices.empty());
  CHECK((*again)->audit_stats(q).value().size() == before->size());
}
