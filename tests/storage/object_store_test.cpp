#include "storage/object_store.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "formats/time.hpp"
#include "storage/codec.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb.hpp"
#include "support/skip.hpp"
#include "tests/storage/temp_dir.hpp"

using namespace cairn;
using namespace cairn::storage;
using cairn::storage::testing::temp_dir;

namespace {

constexpr micros k_t0 = 1'795'000'000'000'000;  // 2026-11-18
constexpr micros k_hour = micros{3600} * 1'000'000;

std::string object_id(int n, const char* type = "indicator") {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s--%08x-0000-4000-8000-%012x", type, n, n * 7 + 1);
  return buf;
}

std::string stix_time(int second) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-01-01T00:%02d:%02d.000Z", second / 60, second % 60);
  return buf;
}

new_object make_object(const std::string& id, const std::string& version, std::size_t pad = 0) {
  new_object o;
  o.id = id;
  o.type = id.substr(0, id.find("--"));
  o.version = version;
  o.spec_version = "2.1";
  o.tlp = formats::tlp_level::green;
  o.json = R"({"type":")" + o.type + R"(","id":")" + id + R"(","modified":")" + version +
           R"(","pad":")" + std::string(pad, 'x') + R"("})";
  return o;
}

publish_request make_request(collection_key c, std::vector<new_object> objects,
                             std::string status_id = {}) {
  publish_request r;
  r.collection = c;
  r.publisher = "acme";
  r.objects = std::move(objects);
  r.status.id = std::move(status_id);
  r.status.owner = "acme";
  r.status.api_root = "sharing";
  r.status.request_timestamp = k_t0;
  return r;
}

result<publish_outcome> publish_sync(object_store& store, publish_request request) {
  std::promise<result<publish_outcome>> p;
  auto f = p.get_future();
  store.publish(std::move(request), [&](result<publish_outcome> r) { p.set_value(std::move(r)); });
  return f.get();
}

result<std::size_t> remove_sync(object_store& store, delete_request request) {
  std::promise<result<std::size_t>> p;
  auto f = p.get_future();
  store.remove(std::move(request), [&](result<std::size_t> r) { p.set_value(std::move(r)); });
  return f.get();
}

struct stored {
  std::string id;
  std::string version;
  micros date_added = 0;
  std::string json;
  bool operator==(const stored&) const = default;
};

std::vector<stored> scan_all(const object_store& store, collection_key c, micros after = 0) {
  std::vector<stored> out;
  auto r = store.begin_read();
  r.scan(c, after, [&](const object_record& rec) {
    out.push_back(
        {std::string(rec.id), std::string(rec.version), rec.date_added, std::string(rec.json)});
    return true;
  });
  REQUIRE_FALSE(r.last_error());
  return out;
}

std::vector<stored> versions_of(const object_store& store, collection_key c,
                                const std::string& id) {
  std::vector<stored> out;
  auto r = store.begin_read();
  r.versions(c, id, [&](const object_record& rec) {
    out.push_back(
        {std::string(rec.id), std::string(rec.version), rec.date_added, std::string(rec.json)});
    return true;
  });
  return out;
}

// A clock the test moves by hand.
struct test_clock {
  std::atomic<micros> now{k_t0};
};

// Holds the writer inside a commit until released, so that jobs queue up.
struct commit_gate {
  std::mutex m;
  std::condition_variable cv;
  bool armed = false;
  bool blocked = false;  // the writer is waiting in the gate
  bool open = true;

  int pass() {
    std::unique_lock lock(m);
    if (!armed) return 0;
    armed = false;
    blocked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    blocked = false;
    return 0;
  }
  void arm() {
    std::lock_guard lock(m);
    armed = true;
    open = false;
  }
  void wait_blocked() {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return blocked; });
  }
  void release() {
    std::lock_guard lock(m);
    open = true;
    cv.notify_all();
  }
};

store_options options_for(const temp_dir& dir, std::shared_ptr<store_faults> faults = {}) {
  store_options o;
  o.path = dir.sub("data");
  o.map_size = std::size_t{64} << 20;
  o.max_map_size = std::size_t{1} << 30;
  o.faults = std::move(faults);
  return o;
}

std::unique_ptr<object_store> open_store(const store_options& o) {
  auto s = object_store::open(o);
  if (!s) FAIL("open failed: " << s.error().to_string());
  return std::move(*s);
}

}  // namespace

TEST_CASE("object_store: published versions can be scanned, listed, found and ranked") {
  temp_dir dir;
  auto clock = std::make_shared<test_clock>();
  auto faults = std::make_shared<store_faults>();
  faults->clock = [clock] { return clock->now.load(); };
  auto store = open_store(options_for(dir, faults));

  auto c = store->collection("5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11");
  REQUIRE(c);
  auto other = store->collection("11111111-8c5e-4d2b-9e55-6d1a8b6f0e11");
  REQUIRE(other);
  CHECK(*c != *other);
  CHECK(store->collection("5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11") == *c);

  const std::string x = object_id(1);
  const std::string y = object_id(2, "malware");
  // The newer version of x comes first: versions() still lists oldest first.
  auto request = make_request(
      *c,
      {make_object(x, stix_time(20)), make_object(x, stix_time(10)), make_object(y, stix_time(5))},
      "2d5a4a5b-0000-4000-8000-000000000001");
  request.status.failures.push_back({object_id(99), "", "not valid"});
  auto out = publish_sync(*store, std::move(request));
  REQUIRE(out);
  CHECK(out->added == 3);
  CHECK(out->duplicates == 0);
  CHECK(out->first_date_added == k_t0);
  CHECK(out->last_date_added == k_t0 + 2);
  CHECK(out->status.successes.size() == 3);
  CHECK(out->status.failures.size() == 1);

  auto all = scan_all(*store, *c);
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == x);
  CHECK(all[0].version == stix_time(20));
  CHECK(all[0].date_added == k_t0);
  CHECK(all[2].id == y);
  CHECK(all[2].json.find(R"("type":"malware")") != std::string::npos);
  CHECK(scan_all(*store, *other).empty());  // nothing leaks between collections
  CHECK(scan_all(*store, *c, k_t0) == std::vector<stored>{all[1], all[2]});

  // A scan stops when fn says so.
  {
    auto r = store->begin_read();
    int seen = 0;
    r.scan(*c, 0, [&](const object_record&) { return ++seen < 2; });
    CHECK(seen == 2);
  }

  auto vx = versions_of(*store, *c, x);
  REQUIRE(vx.size() == 2);
  CHECK(vx[0].version == stix_time(10));
  CHECK(vx[1].version == stix_time(20));
  CHECK(versions_of(*store, *c, object_id(3)).empty());
  CHECK(versions_of(*store, *other, x).empty());

  auto r = store->begin_read();
  auto newest = r.at(*c, k_t0);
  REQUIRE(newest);
  CHECK(newest->id == x);
  CHECK(newest->publisher == "acme");
  CHECK(newest->spec_version == "2.1");
  CHECK(newest->tlp == formats::tlp_level::green);
  CHECK(newest->collection == *c);
  CHECK_FALSE(r.at(*c, k_t0 + 100));
  CHECK_FALSE(r.at(*other, k_t0));

  auto rank_new = r.version_rank(*newest);
  CHECK_FALSE(rank_new.first);
  CHECK(rank_new.last);
  auto oldest = r.at(*c, k_t0 + 1);
  REQUIRE(oldest);
  auto rank_old = r.version_rank(*oldest);
  CHECK(rank_old.first);
  CHECK_FALSE(rank_old.last);
  auto only = r.at(*c, k_t0 + 2);
  REQUIRE(only);
  auto rank_only = r.version_rank(*only);
  CHECK(rank_only.first);
  CHECK(rank_only.last);

  // With a test, only the other versions it accepts count: here the one
  // other version of x, which the test sees whole.
  std::vector<std::pair<std::string, micros>> seen;
  auto none = [&](const object_record& v) {
    seen.emplace_back(std::string(v.version), v.date_added);
    CHECK(v.id == x);
    CHECK(v.publisher == "acme");
    return false;
  };
  auto ranked = r.version_rank(*newest, none);
  CHECK(ranked.first);
  CHECK(ranked.last);
  CHECK(seen == std::vector<std::pair<std::string, micros>>{{stix_time(10), k_t0 + 1}});
  seen.clear();
  ranked = r.version_rank(*oldest, none);
  CHECK(ranked.first);
  CHECK(ranked.last);
  CHECK(seen == std::vector<std::pair<std::string, micros>>{{stix_time(20), k_t0}});
  auto every = [](const object_record&) { return true; };
  CHECK_FALSE(r.version_rank(*newest, every).first);
  CHECK(r.version_rank(*newest, every).last);
  // An object with one version is ranked without reading any other record.
  seen.clear();
  ranked = r.version_rank(*only, none);
  CHECK((ranked.first && ranked.last && seen.empty()));

  auto status = r.status("2d5a4a5b-0000-4000-8000-000000000001");
  REQUIRE(status);
  CHECK(status->owner == "acme");
  CHECK(status->api_root == "sharing");
  CHECK(status->request_timestamp == k_t0);
  CHECK(status->successes.size() == 3);
  REQUIRE(status->failures.size() == 1);
  CHECK(status->failures[0].message == "not valid");
  CHECK(status->complete());
  CHECK_FALSE(r.status("2d5a4a5b-0000-4000-8000-000000000002"));
  CHECK_FALSE(r.last_error());
}

TEST_CASE("object_store: a version already stored is a duplicate, reported and not re-added") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("dups");
  REQUIRE(c);
  const std::string x = object_id(1);

  auto first = publish_sync(*store, make_request(*c, {make_object(x, "2026-01-01T00:00:01.000Z")}));
  REQUIRE(first);
  CHECK(first->added == 1);

  // Same instant written differently, the same version twice in one request,
  // and one new version.
  auto second =
      publish_sync(*store, make_request(*c, {make_object(x, "2026-01-01T00:00:01Z"),
                                             make_object(x, "2026-01-01T00:00:02.000Z"),
                                             make_object(x, "2026-01-01T00:00:02.000Z")}));
  REQUIRE(second);
  CHECK(second->added == 1);
  CHECK(second->duplicates == 2);
  CHECK(second->status.successes.size() == 3);  // a duplicate is a success (TAXII 5.5)
  CHECK(second->status.failures.empty());
  CHECK(scan_all(*store, *c).size() == 2);
  CHECK(versions_of(*store, *c, x).size() == 2);

  // Objects the store cannot take become failures; the rest goes on.
  auto bad = publish_sync(
      *store, make_request(*c, {make_object(x, "yesterday"), make_object(std::string(400, 'a'), ""),
                                make_object(object_id(2), stix_time(1))}));
  REQUIRE(bad);
  CHECK(bad->added == 1);
  CHECK(bad->status.failures.size() == 2);
  CHECK(scan_all(*store, *c).size() == 3);
}

TEST_CASE("object_store: an object without a version gets its date_added as version") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("scos");
  REQUIRE(c);
  const std::string ip = object_id(7, "ipv4-addr");

  auto first = publish_sync(*store, make_request(*c, {make_object(ip, "")}));
  REQUIRE(first);
  REQUIRE(first->added == 1);
  const std::string assigned = formats::format_taxii_time(first->first_date_added);
  REQUIRE(first->status.successes.size() == 1);
  CHECK(first->status.successes[0].version == assigned);

  auto all = scan_all(*store, *c);
  REQUIRE(all.size() == 1);
  CHECK(all[0].version == assigned);

  // Any stored version of the id makes an unversioned object a duplicate,
  // reported with the stored version.
  auto again = publish_sync(*store, make_request(*c, {make_object(ip, "")}));
  REQUIRE(again);
  CHECK(again->added == 0);
  CHECK(again->duplicates == 1);
  REQUIRE(again->status.successes.size() == 1);
  CHECK(again->status.successes[0].version == assigned);
  CHECK(scan_all(*store, *c).size() == 1);

  // A versioned object is checked by (id, version) only.
  const std::string domain = object_id(8, "domain-name");
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(domain, stix_time(3))})));
  auto unversioned = publish_sync(*store, make_request(*c, {make_object(domain, "")}));
  REQUIRE(unversioned);
  CHECK(unversioned->duplicates == 1);
  CHECK(unversioned->status.successes[0].version == stix_time(3));
}

TEST_CASE("object_store: duplicate_if decides which stored versions make a duplicate") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("policy");
  REQUIRE(c);
  const std::string x = object_id(11);
  const std::string ip = object_id(12, "ipv4-addr");
  auto held =
      publish_sync(*store, make_request(*c, {make_object(x, stix_time(1)), make_object(ip, "")}));
  REQUIRE(held);
  REQUIRE(held->added == 2);

  // Another publisher for whom acme's versions do not count (as the server
  // does for versions the publisher may not receive): both are stored anew.
  auto theirs = [&] {
    auto r = make_request(*c, {make_object(x, stix_time(1)), make_object(ip, "")});
    r.publisher = "partner";
    // Runs on the writer thread: no assertions in here.
    r.duplicate_if = [](const object_record& rec) { return rec.publisher == "partner"; };
    return r;
  };
  auto first = publish_sync(*store, theirs());
  REQUIRE(first);
  CHECK(first->added == 2);
  CHECK(first->duplicates == 0);
  REQUIRE(first->status.successes.size() == 2);
  CHECK(first->status.successes[1].version != held->status.successes[1].version);
  CHECK(versions_of(*store, *c, x).size() == 2);
  CHECK(versions_of(*store, *c, ip).size() == 2);

  // Its own copies count: publishing again adds nothing.
  auto again = publish_sync(*store, theirs());
  REQUIRE(again);
  CHECK(again->added == 0);
  CHECK(again->duplicates == 2);
  CHECK(again->status.successes[1].version == first->status.successes[1].version);
  CHECK(scan_all(*store, *c).size() == 4);
}

TEST_CASE("object_store: copies of one version are flagged and ranked as one version") {
  temp_dir dir;
  // Every id shares one hash: the copy checks must tell ids apart by the record.
  auto faults = std::make_shared<store_faults>();
  faults->id_hash = [](std::string_view) -> std::uint64_t { return 7; };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("copies");
  REQUIRE(c);
  const std::string x = object_id(31);
  const std::string y = object_id(32);
  auto held = publish_sync(*store, make_request(*c, {make_object(x, stix_time(1))}));
  REQUIRE(held);
  const micros p1 = held->first_date_added;

  // A publisher for whom acme's versions do not count stores its own copy
  // of x's version (the same instant, written differently), and y at the
  // same instant.
  auto partner = [&](std::vector<new_object> objects, std::string name = "partner") {
    auto r = make_request(*c, std::move(objects));
    r.publisher = name;
    r.duplicate_if = [name](const object_record& rec) { return rec.publisher == name; };
    return r;
  };
  auto copy = publish_sync(
      *store, partner({make_object(x, "2026-01-01T00:00:01Z", 10), make_object(y, stix_time(1))}));
  REQUIRE(copy);
  REQUIRE(copy->added == 2);
  const micros p2 = copy->first_date_added;
  const micros py = p2 + 1;

  {
    auto r = store->begin_read();
    auto first = r.at(*c, p1);
    auto second = r.at(*c, p2);
    auto other = r.at(*c, py);
    REQUIRE((first && second && other));
    // Both copies are the one version of x: each is first and last. Before:
    // the second copy counted as a later version (the first was not last)
    // and the first as an earlier one (the second was not first).
    for (const auto* rec : {&*first, &*second}) {
      auto rank = r.version_rank(*rec);
      CHECK(rank.first);
      CHECK(rank.last);
    }
    // Only the second copy is flagged; y, at the same instant and hash, is
    // another object.
    CHECK_FALSE(first->later_copy);
    CHECK(second->later_copy);
    CHECK_FALSE(other->later_copy);
    CHECK_FALSE(r.earlier_copy(*first));
    CHECK_FALSE(r.earlier_copy(*other));
    CHECK(r.earlier_copy(*second));
    // A reader for whom acme's copy does not count sees the second as the only one.
    std::vector<std::string> asked;
    auto partners = [&](const object_record& rec) {
      asked.emplace_back(rec.publisher);
      return rec.publisher == "partner";
    };
    CHECK_FALSE(r.earlier_copy(*second, partners));
    CHECK(asked == std::vector<std::string>{"acme"});
    auto acme = [](const object_record& rec) { return rec.publisher == "acme"; };
    CHECK(r.earlier_copy(*second, acme));
  }

  // More versions of x around the copies: each copy ranks as the one
  // version between them, whichever copies count.
  auto more =
      publish_sync(*store, partner({make_object(x, stix_time(0)), make_object(x, stix_time(2))}));
  REQUIRE(more);
  REQUIRE(more->added == 2);
  // A third publisher, for whom no stored copy counts, adds a third copy.
  auto third = publish_sync(*store, partner({make_object(x, stix_time(1))}, "third"));
  REQUIRE(third);
  REQUIRE(third->added == 1);
  const micros p3 = third->first_date_added;
  {
    auto r = store->begin_read();
    auto copy3 = r.at(*c, p3);
    REQUIRE(copy3);
    CHECK(copy3->later_copy);
    auto partners = [](const object_record& rec) { return rec.publisher == "partner"; };
    auto thirds = [](const object_record& rec) { return rec.publisher == "third"; };
    CHECK(r.earlier_copy(*copy3, partners));  // the second copy
    CHECK_FALSE(r.earlier_copy(*copy3, thirds));
    for (micros at : {p1, p2, p3}) {
      auto rec = r.at(*c, at);
      REQUIRE(rec);
      auto rank = r.version_rank(*rec);
      CHECK_FALSE(rank.first);
      CHECK_FALSE(rank.last);
      auto none = [](const object_record&) { return false; };
      rank = r.version_rank(*rec, none);
      CHECK(rank.first);
      CHECK(rank.last);
    }
  }
  CHECK(versions_of(*store, *c, x).size() == 5);  // the store keeps every copy

  // Once the first copy is deleted, the second has no earlier copy (its
  // flag stays, and is kept by the deletion of others).
  REQUIRE(remove_sync(*store, {*c, {p1}}) == std::size_t{1});
  {
    auto r = store->begin_read();
    auto second = r.at(*c, p2);
    REQUIRE(second);
    CHECK(second->later_copy);
    CHECK_FALSE(r.earlier_copy(*second));
  }
  REQUIRE(remove_sync(*store, {*c, {p3}}) == std::size_t{1});
  {
    auto r = store->begin_read();
    auto second = r.at(*c, p2);
    REQUIRE(second);
    CHECK(second->later_copy);
    CHECK_FALSE(r.at(*c, p3));
  }
}

TEST_CASE("object_store: date_added is strictly increasing, even within one microsecond") {
  temp_dir dir;
  auto clock = std::make_shared<test_clock>();
  auto faults = std::make_shared<store_faults>();
  faults->clock = [clock] { return clock->now.load(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("ticks");
  REQUIRE(c);

  std::vector<new_object> many;
  for (int i = 0; i < 1000; ++i) many.push_back(make_object(object_id(i), stix_time(1)));
  auto first = publish_sync(*store, make_request(*c, std::move(many)));
  REQUIRE(first);
  CHECK(first->added == 1000);
  CHECK(first->first_date_added == k_t0);
  CHECK(first->last_date_added == k_t0 + 999);

  // The clock going back does not make date_added go back.
  clock->now = k_t0 - k_hour;
  auto second =
      publish_sync(*store, make_request(*c, {make_object(object_id(5000), stix_time(1))}));
  REQUIRE(second);
  CHECK(second->first_date_added == k_t0 + 1000);

  clock->now = k_t0 + k_hour;
  auto third = publish_sync(*store, make_request(*c, {make_object(object_id(5001), stix_time(1))}));
  REQUIRE(third);
  CHECK(third->first_date_added == k_t0 + k_hour);

  auto all = scan_all(*store, *c);
  REQUIRE(all.size() == 1002);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].date_added > all[i - 1].date_added);
}

TEST_CASE("object_store: concurrent publishers share commits and all succeed") {
  temp_dir dir;
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->before_commit = [gate] { return gate->pass(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("busy");
  REQUIRE(c);

  // Hold the writer in its first commit so that every job below queues up
  // behind it, whatever the timing.
  gate->arm();
  std::promise<result<publish_outcome>> first_done;
  store->publish(make_request(*c, {make_object(object_id(1'000'000), stix_time(1))}),
                 [&](result<publish_outcome> r) { first_done.set_value(std::move(r)); });
  gate->wait_blocked();
  const auto before = store->stats();

  constexpr int k_threads = 8;
  constexpr int k_jobs_per_thread = 40;
  constexpr int k_objects_per_job = 10;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> pending{k_threads * k_jobs_per_thread};
  std::mutex m;
  std::condition_variable all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < k_jobs_per_thread; ++j) {
        std::vector<new_object> objects;
        for (int k = 0; k < k_objects_per_job; ++k) {
          objects.push_back(make_object(
              object_id((t * k_jobs_per_thread + j) * k_objects_per_job + k), stix_time(2)));
        }
        store->publish(make_request(*c, std::move(objects)), [&](result<publish_outcome> r) {
          if (r && r->added == k_objects_per_job) {
            ++ok;
          } else {
            ++failed;
          }
          std::lock_guard lock(m);
          if (--pending == 0) all_done.notify_all();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  gate->release();
  REQUIRE(first_done.get_future().get());
  {
    std::unique_lock lock(m);
    all_done.wait(lock, [&] { return pending == 0; });
  }

  const auto after = store->stats();
  constexpr int k_jobs = k_threads * k_jobs_per_thread;
  CHECK(ok == k_jobs);
  CHECK(failed == 0);
  // The held commit, then batches of queued jobs: far fewer commits than jobs.
  CHECK(after.commits - before.commits < k_jobs / 4);
  CHECK(after.jobs - before.jobs >= std::uint64_t{k_jobs});
  auto all = scan_all(*store, *c);
  CHECK(all.size() == k_jobs * k_objects_per_job + 1);
  std::set<std::string> ids;
  for (auto& s : all) ids.insert(s.id);
  CHECK(ids.size() == all.size());
}

TEST_CASE("object_store: a re-opened store has the same objects at the same positions") {
  temp_dir dir;
  auto clock = std::make_shared<test_clock>();
  auto faults = std::make_shared<store_faults>();
  faults->clock = [clock] { return clock->now.load(); };
  const auto options = options_for(dir, faults);

  std::vector<stored> before;
  collection_key c = 0;
  collection_key d = 0;
  {
    auto store = open_store(options);
    c = *store->collection("first");
    d = *store->collection("second");
    std::vector<new_object> objects;
    for (int i = 0; i < 50; ++i) objects.push_back(make_object(object_id(i), stix_time(i)));
    REQUIRE(publish_sync(*store, make_request(c, objects, "aaaaaaaa-0000-4000-8000-000000000001")));
    REQUIRE(publish_sync(*store, make_request(d, {make_object(object_id(1), stix_time(1))})));
    before = scan_all(*store, c);
    REQUIRE(before.size() == 50);
  }
  {
    auto store = open_store(options);
    CHECK(store->collection("first") == c);
    CHECK(store->collection("second") == d);
    CHECK(scan_all(*store, c) == before);
    CHECK(scan_all(*store, d).size() == 1);
    CHECK(store->begin_read().status("aaaaaaaa-0000-4000-8000-000000000001"));

    // Positions keep growing past the stored ones, whatever the clock says.
    clock->now = k_t0 - 10 * k_hour;
    auto more = publish_sync(*store, make_request(c, {make_object(object_id(500), stix_time(1))}));
    REQUIRE(more);
    CHECK(more->first_date_added == before.back().date_added + 1);
    // A new collection after re-opening gets a new key.
    auto e = store->collection("third");
    REQUIRE(e);
    CHECK(*e != c);
    CHECK(*e != d);
  }
}

TEST_CASE("object_store: removed versions vanish and version_rank adapts") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("deletes");
  REQUIRE(c);
  const std::string x = object_id(1);
  auto out = publish_sync(
      *store,
      make_request(*c, {make_object(x, stix_time(1)), make_object(x, stix_time(2)),
                        make_object(x, stix_time(3)), make_object(object_id(2), stix_time(1))}));
  REQUIRE(out);
  const micros p1 = out->first_date_added;
  const micros p2 = p1 + 1;
  const micros p3 = p1 + 2;

  auto removed = remove_sync(*store, {*c, {p2}});
  REQUIRE(removed);
  CHECK(*removed == 1);
  auto v = versions_of(*store, *c, x);
  REQUIRE(v.size() == 2);
  CHECK(v[0].version == stix_time(1));
  CHECK(v[1].version == stix_time(3));
  CHECK_FALSE(store->begin_read().at(*c, p2));
  CHECK(scan_all(*store, *c).size() == 3);

  // Removing the last version makes the one before it the last.
  removed = remove_sync(*store, {*c, {p3, p3, p2, p1 + 1000}});
  REQUIRE(removed);
  CHECK(*removed == 1);  // p2 was gone already, p1 + 1000 never existed
  {
    auto r = store->begin_read();
    auto first = r.at(*c, p1);
    REQUIRE(first);
    auto rank = r.version_rank(*first);
    CHECK(rank.first);
    CHECK(rank.last);
  }

  // A removed version can be published again, at a new position.
  auto again = publish_sync(*store, make_request(*c, {make_object(x, stix_time(3))}));
  REQUIRE(again);
  CHECK(again->added == 1);
  CHECK(again->first_date_added > p3);
  CHECK(versions_of(*store, *c, x).size() == 2);

  // Unknown collections fail the job.
  auto unknown = remove_sync(*store, {999, {p1}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown collection") != std::string::npos);
}

TEST_CASE("object_store: the map grows as needed and nothing is lost") {
  temp_dir dir;
  auto options = options_for(dir);
  options.map_size = std::size_t{1} << 20;
  const std::string big_pad(900, 'x');
  std::size_t total = 0;
  {
    auto store = open_store(options);
    auto c = store->collection("growth");
    REQUIRE(c);
    const std::size_t start_size = store->map_size();
    CHECK(start_size == std::size_t{1} << 20);
    // 8 requests of 1000 objects of about 1 KiB, several queued at once.
    std::vector<std::future<result<publish_outcome>>> results;
    std::vector<std::shared_ptr<std::promise<result<publish_outcome>>>> promises;
    for (int r = 0; r < 8; ++r) {
      std::vector<new_object> objects;
      for (int i = 0; i < 1000; ++i) {
        objects.push_back(make_object(object_id(r * 1000 + i), stix_time(1), 900));
      }
      auto p = std::make_shared<std::promise<result<publish_outcome>>>();
      results.push_back(p->get_future());
      store->publish(make_request(*c, std::move(objects)),
                     [p](result<publish_outcome> out) { p->set_value(std::move(out)); });
    }
    for (auto& f : results) {
      auto out = f.get();
      REQUIRE(out);
      CHECK(out->added == 1000);
      total += out->added;
    }
    CHECK(store->map_size() > start_size);
    CHECK(store->stats().map_resizes >= 1);
    CHECK(store->used_bytes() > std::size_t{8} << 20);
    auto all = scan_all(*store, *c);
    CHECK(all.size() == total);
  }
  auto store = open_store(options);
  auto c = store->collection("growth");
  auto all = scan_all(*store, *c);
  REQUIRE(all.size() == 8000);
  CHECK(all[4321].json.find(big_pad) != std::string::npos);
  CHECK(all[4321].id == object_id(4321));
}

TEST_CASE("object_store: at max_map_size big jobs fail, data and reads stay, small jobs go on") {
  temp_dir dir;
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->before_commit = [gate] { return gate->pass(); };
  auto options = options_for(dir, faults);
  options.map_size = std::size_t{1} << 20;
  options.max_map_size = std::size_t{2} << 20;
  auto store = open_store(options);
  auto c = store->collection("full");
  REQUIRE(c);

  std::vector<new_object> early;
  for (int i = 0; i < 10; ++i) early.push_back(make_object(object_id(i), stix_time(1), 100));
  REQUIRE(publish_sync(*store, make_request(*c, early)));
  const auto before = scan_all(*store, *c);
  REQUIRE(before.size() == 10);

  std::vector<new_object> huge;
  for (int i = 0; i < 4000; ++i) {
    huge.push_back(make_object(object_id(100'000 + i), stix_time(1), 1000));
  }
  auto too_big = publish_sync(*store, make_request(*c, huge));
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error().message.find("storage full") != std::string::npos);
  CHECK(too_big.error().code == cairn::errc::storage_full);
  CHECK(store->map_size() == std::size_t{2} << 20);
  CHECK(scan_all(*store, *c) == before);

  // A big and a small job in the same batch: only the big one fails.
  gate->arm();
  std::promise<result<publish_outcome>> holder;
  store->publish(make_request(*c, {make_object(object_id(50), stix_time(1))}),
                 [&](result<publish_outcome> r) { holder.set_value(std::move(r)); });
  gate->wait_blocked();
  std::promise<result<publish_outcome>> big_done;
  std::promise<result<publish_outcome>> small_done;
  store->publish(make_request(*c, huge),
                 [&](result<publish_outcome> r) { big_done.set_value(std::move(r)); });
  store->publish(make_request(*c, {make_object(object_id(51), stix_time(1))}),
                 [&](result<publish_outcome> r) { small_done.set_value(std::move(r)); });
  gate->release();
  REQUIRE(holder.get_future().get());
  auto big = big_done.get_future().get();
  REQUIRE_FALSE(big);
  CHECK(big.error().message.find("storage full") != std::string::npos);
  CHECK(big.error().code == cairn::errc::storage_full);
  auto small = small_done.get_future().get();
  REQUIRE(small);
  CHECK(small->added == 1);

  auto after = scan_all(*store, *c);
  REQUIRE(after.size() == 12);
  CHECK(std::vector<stored>(after.begin(), after.begin() + 10) == before);
  CHECK(store->begin_read().version_rank(*store->begin_read().at(*c, after[11].date_added)).last);
}

TEST_CASE("object_store: a failed commit acknowledges nothing and stores nothing") {
  temp_dir dir;
  auto fail_next = std::make_shared<std::atomic<int>>(0);
  auto faults = std::make_shared<store_faults>();
  faults->before_commit = [fail_next] { return fail_next->exchange(0); };
  const auto options = options_for(dir, faults);
  collection_key c = 0;
  {
    auto store = open_store(options);
    c = *store->collection("io");
    REQUIRE(publish_sync(*store, make_request(c, {make_object(object_id(1), stix_time(1))})));

    *fail_next = EIO;
    auto lost = publish_sync(*store, make_request(c, {make_object(object_id(2), stix_time(1))},
                                                  "bbbbbbbb-0000-4000-8000-000000000001"));
    REQUIRE_FALSE(lost);
    CHECK(lost.error().message.find("commit failed") != std::string::npos);
    CHECK(lost.error().message.find("Input/output error") != std::string::npos);
    CHECK(lost.error().code == cairn::errc::unavailable);  // may work when retried
    CHECK(store->stats().failed_commits == 1);
    CHECK(scan_all(*store, c).size() == 1);
    CHECK_FALSE(store->begin_read().status("bbbbbbbb-0000-4000-8000-000000000001"));

    *fail_next = ENOSPC;
    auto removed = remove_sync(*store, {c, {scan_all(*store, c)[0].date_added}});
    REQUIRE_FALSE(removed);
    CHECK(removed.error().code == cairn::errc::storage_full);
    CHECK(scan_all(*store, c).size() == 1);

    // The store goes on after the failure.
    auto later = publish_sync(*store, make_request(c, {make_object(object_id(3), stix_time(1))}));
    REQUIRE(later);
    CHECK(later->added == 1);
  }
  auto store = open_store(options);
  auto all = scan_all(*store, c);
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == object_id(1));
  CHECK(all[1].id == object_id(3));
  CHECK_FALSE(store->begin_read().status("bbbbbbbb-0000-4000-8000-000000000001"));
}

TEST_CASE("object_store: statuses expire after the retention period and are purged") {
  temp_dir dir;
  auto clock = std::make_shared<test_clock>();
  auto faults = std::make_shared<store_faults>();
  faults->clock = [clock] { return clock->now.load(); };
  auto options = options_for(dir, faults);
  options.status_retention = k_hour;  // raised to the 24 h minimum
  auto store = open_store(options);
  auto c = store->collection("statuses");
  REQUIRE(c);

  const std::string old_id = "cccccccc-0000-4000-8000-000000000001";
  REQUIRE(
      publish_sync(*store, make_request(*c, {make_object(object_id(1), stix_time(1))}, old_id)));

  clock->now = k_t0 + 23 * k_hour;
  CHECK(store->begin_read().status(old_id));  // 24 h at least, whatever the option said

  clock->now = k_t0 + 25 * k_hour;
  CHECK_FALSE(store->begin_read().status(old_id));
  // The next publish also purges; the one after it runs behind the purge.
  const std::string new_id = "cccccccc-0000-4000-8000-000000000002";
  REQUIRE(
      publish_sync(*store, make_request(*c, {make_object(object_id(2), stix_time(1))}, new_id)));
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(3), stix_time(1))})));
  CHECK(store->stats().statuses_purged == 1);
  CHECK(store->begin_read().status(new_id));
  // The objects themselves stay.
  CHECK(scan_all(*store, *c).size() == 3);

  clock->now = k_t0 + 25 * k_hour + k_hour / 2;  // the next purge is not due yet
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(4), stix_time(1))})));
  CHECK(store->stats().statuses_purged == 1);
}

TEST_CASE("object_store: close() stops accepting jobs and is idempotent") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("closing");
  REQUIRE(c);
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(1), stix_time(1))})));
  store->close();
  store->close();
  bool called = false;
  store->publish(make_request(*c, {make_object(object_id(2), stix_time(1))}),
                 [&](result<publish_outcome> r) {
                   called = true;
                   REQUIRE_FALSE(r);
                   CHECK(r.error().code == cairn::errc::unavailable);
                 });
  CHECK(called);  // at once, on this thread
  CHECK_FALSE(store->collection("new one"));
  CHECK(scan_all(*store, *c).size() == 1);  // reads still work
}

TEST_CASE("object_store: one store per data directory, bad options are refused") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto second = object_store::open(options_for(dir));
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("in use") != std::string::npos);

  auto options = options_for(dir);
  options.path = dir.sub("other");
  options.max_map_size = options.map_size / 2;
  CHECK_FALSE(object_store::open(options));
  options = options_for(dir);
  options.path.clear();
  CHECK_FALSE(object_store::open(options));
}

TEST_CASE("object_store: collection keys are limited by max_collections") {
  temp_dir dir;
  auto options = options_for(dir);
  options.max_collections = 2;
  auto store = open_store(options);
  CHECK(store->collection("a"));
  CHECK(store->collection("b"));
  auto third = store->collection("c");
  REQUIRE_FALSE(third);
  CHECK(third.error().message.find("max_collections") != std::string::npos);
  CHECK(store->collection("a"));
  CHECK_FALSE(store->collection(""));
  CHECK_FALSE(store->collection(std::string(300, 'x')));
}

TEST_CASE("object_store: a read_txn may be begun on one thread and used on another") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("threads");
  REQUIRE(c);
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(1), stix_time(1))})));
  auto r = store->begin_read();
  // A later write is not visible to the snapshot.
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(2), stix_time(1))})));
  int seen = 0;
  std::thread([&] {
    r.scan(*c, 0, [&](const object_record&) {
      ++seen;
      return true;
    });
  }).join();
  CHECK(seen == 1);
  read_txn moved = std::move(r);
  CHECK(moved.at(*c, scan_all(*store, *c)[0].date_added));
}

TEST_CASE("object_store: stale reader slots of dead processes are cleared at open") {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's runtime does not survive fork() in the children.
  CAIRN_SKIP("ThreadSanitizer's runtime does not survive fork()");
#endif
  temp_dir dir;
  const auto options = options_for(dir);
  { auto store = open_store(options); }  // creates the environment

  auto open_raw = [&]() -> lmdb::env {
    auto e = lmdb::env::create();
    if (!e || !e->set_maxdbs(64) || !e->open(options.path.c_str(), MDB_NOTLS, 0600)) _exit(90);
    return std::move(*e);
  };

  // B keeps the environment open (so its reader table is not reset when the
  // store opens), A leaves a reader slot behind by dying inside a read txn.
  int to_b[2];
  int from_b[2];
  REQUIRE(pipe(to_b) == 0);
  REQUIRE(pipe(from_b) == 0);
  const pid_t b = fork();
  REQUIRE(b >= 0);
  if (b == 0) {
    auto e = open_raw();
    char ch = 'r';
    if (write(from_b[1], &ch, 1) != 1) _exit(91);
    if (read(to_b[0], &ch, 1) != 1) _exit(92);
    auto dead = e.reader_check();
    _exit(dead ? 10 + *dead : 93);
  }
  char ready = 0;
  REQUIRE(read(from_b[0], &ready, 1) == 1);

  const pid_t a = fork();
  REQUIRE(a >= 0);
  if (a == 0) {
    auto e = open_raw();
    auto t = lmdb::txn::begin(e, nullptr, MDB_RDONLY);
    if (!t) _exit(94);
    _exit(0);  // no abort: the slot stays taken
  }
  int status = 0;
  REQUIRE(waitpid(a, &status, 0) == a);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  {
    auto store = open_store(options);
    auto c = store->collection("after a crash");
    REQUIRE(c);
    REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(1), stix_time(1))})));
    CHECK(scan_all(*store, *c).size() == 1);
  }

  // The store cleared A's slot at open: B finds nothing left to clear.
  char go = 'g';
  REQUIRE(write(to_b[1], &go, 1) == 1);
  REQUIRE(waitpid(b, &status, 0) == b);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 10);
  for (int fd : {to_b[0], to_b[1], from_b[0], from_b[1]}) close(fd);
}

TEST_CASE("object_store: ids whose hashes collide are told apart") {
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  faults->id_hash = [](std::string_view) -> std::uint64_t { return 42; };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("collisions");
  REQUIRE(c);
  const std::string x = object_id(1);
  const std::string y = object_id(2);
  const std::string z = object_id(3, "ipv4-addr");
  const std::string w = object_id(4, "ipv4-addr");
  auto out = publish_sync(
      *store, make_request(*c, {make_object(x, stix_time(1)), make_object(y, stix_time(1)),
                                make_object(x, stix_time(2)), make_object(z, "")}));
  REQUIRE(out);
  REQUIRE(out->added == 4);
  const micros px1 = out->first_date_added;
  const micros py1 = px1 + 1;
  const micros px2 = px1 + 2;

  auto again = publish_sync(
      *store,
      make_request(*c, {make_object(y, stix_time(1)), make_object(x, stix_time(1)),
                        make_object(x, ""), make_object(w, ""), make_object(y, stix_time(2))}));
  REQUIRE(again);
  CHECK(again->duplicates == 3);
  CHECK(again->added == 2);  // w, and y's second version
  bool x_unversioned_reported = false;
  for (auto& s : again->status.successes) {
    if (s.id == x && s.version == stix_time(1)) x_unversioned_reported = true;
  }
  CHECK(x_unversioned_reported);  // reported with x's first stored version

  auto vx = versions_of(*store, *c, x);
  REQUIRE(vx.size() == 2);
  CHECK(vx[0].date_added == px1);
  CHECK(vx[1].date_added == px2);
  CHECK(versions_of(*store, *c, y).size() == 2);
  CHECK(versions_of(*store, *c, z).size() == 1);

  {
    auto r = store->begin_read();
    auto x1 = r.at(*c, px1);
    auto y1 = r.at(*c, py1);
    auto x2 = r.at(*c, px2);
    REQUIRE((x1 && y1 && x2));
    CHECK(r.version_rank(*x1).first);
    CHECK_FALSE(r.version_rank(*x1).last);
    CHECK(r.version_rank(*y1).first);
    CHECK_FALSE(r.version_rank(*y1).last);  // y has a second version now
    CHECK_FALSE(r.version_rank(*x2).first);
    CHECK(r.version_rank(*x2).last);
    // The test is asked about x's other version only, never about y's
    // entries that share the hash.
    std::vector<std::string> asked;
    auto none = [&](const object_record& v) {
      asked.emplace_back(v.id);
      return false;
    };
    CHECK(r.version_rank(*x2, none).first);
    CHECK(r.version_rank(*x1, none).last);
    CHECK(asked == std::vector<std::string>{x, x});
    auto zr = r.at(*c, px1 + 3);
    REQUIRE(zr);
    CHECK(r.version_rank(*zr).first);
    CHECK(r.version_rank(*zr).last);
  }

  REQUIRE(remove_sync(*store, {*c, {px2}}) == std::size_t{1});
  {
    auto r = store->begin_read();
    auto x1 = r.at(*c, px1);
    REQUIRE(x1);
    CHECK(r.version_rank(*x1).last);
  }
  CHECK(versions_of(*store, *c, x).size() == 1);
  CHECK(versions_of(*store, *c, y).size() == 2);
}

TEST_CASE("object_store: a failing job in a batch spoils none of the others") {
  temp_dir dir;
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->before_commit = [gate] { return gate->pass(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("isolation");
  REQUIRE(c);

  gate->arm();
  std::promise<result<publish_outcome>> holder;
  store->publish(make_request(*c, {make_object(object_id(1), stix_time(1))}),
                 [&](result<publish_outcome> r) { holder.set_value(std::move(r)); });
  gate->wait_blocked();
  const auto before = store->stats();

  std::promise<result<publish_outcome>> good1;
  std::promise<result<publish_outcome>> bad;
  std::promise<result<std::size_t>> bad_remove;
  std::promise<result<publish_outcome>> good2;
  store->publish(make_request(*c, {make_object(object_id(2), stix_time(1))}, "dddddddd-1"),
                 [&](result<publish_outcome> r) { good1.set_value(std::move(r)); });
  store->publish(make_request(999, {make_object(object_id(3), stix_time(1))}, "dddddddd-2"),
                 [&](result<publish_outcome> r) { bad.set_value(std::move(r)); });
  store->remove({998, {1}}, [&](result<std::size_t> r) { bad_remove.set_value(std::move(r)); });
  store->publish(make_request(*c, {make_object(object_id(4), stix_time(1))}, "dddddddd-3"),
                 [&](result<publish_outcome> r) { good2.set_value(std::move(r)); });
  gate->release();

  REQUIRE(holder.get_future().get());
  CHECK(good1.get_future().get());
  auto failed = bad.get_future().get();
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message.find("unknown collection key 999") != std::string::npos);
  CHECK_FALSE(bad_remove.get_future().get());
  CHECK(good2.get_future().get());
  // The held commit and one for the batch of four.
  CHECK(store->stats().commits - before.commits == 2);

  auto all = scan_all(*store, *c);
  REQUIRE(all.size() == 3);
  CHECK(all[1].id == object_id(2));
  CHECK(all[2].id == object_id(4));
  auto r = store->begin_read();
  CHECK(r.status("dddddddd-1"));
  CHECK_FALSE(r.status("dddddddd-2"));
  CHECK(r.status("dddddddd-3"));
}

TEST_CASE("object_store: a stored status names its added versions, deleted ones too") {
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("status ranges");
  REQUIRE(c);
  REQUIRE(publish_sync(*store, make_request(*c, {make_object(object_id(1), stix_time(1))})));
  auto request = make_request(
      *c,
      {make_object(object_id(2), stix_time(1)), make_object(object_id(1), stix_time(1)),
       make_object(object_id(3), stix_time(1))},
      "eeeeeeee-0000-4000-8000-000000000001");
  request.status.failures.push_back({"indicator--bad", "", "invalid"});
  auto out = publish_sync(*store, std::move(request));
  REQUIRE(out);
  REQUIRE(out->added == 2);
  REQUIRE(remove_sync(*store, {*c, {out->first_date_added}}) == std::size_t{1});

  auto status = store->begin_read().status("eeeeeeee-0000-4000-8000-000000000001");
  REQUIRE(status);
  // Added versions first, then the duplicate, as the publish reported them.
  REQUIRE(status->successes.size() == 3);
  CHECK(status->successes[0].id == object_id(2));
  CHECK(status->successes[0].version == stix_time(1));
  CHECK(status->successes[1].id == object_id(3));
  CHECK(status->successes[2].id == object_id(1));
  REQUIRE(out->status.successes.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(out->status.successes[i].id == status->successes[i].id);
    CHECK(out->status.successes[i].version == status->successes[i].version);
  }
  REQUIRE(status->failures.size() == 1);
  CHECK(status->failures[0].message == "invalid");
}

namespace {

new_object at_level(new_object o, formats::tlp_level level) {
  o.tlp = level;
  return o;
}

// The date_added values an account of this clearance may receive (publisher
// "someone-else"), in scan order.
std::vector<micros> visible_positions(const object_store& store, collection_key c,
                                      formats::tlp_level clearance) {
  std::vector<micros> out;
  auto r = store.begin_read();
  r.scan(c, 0, [&](const object_record& rec) {
    if (rec.tlp <= clearance) out.push_back(rec.date_added);
    return true;
  });
  return out;
}

}  // namespace

// Before: one request's versions got consecutive microseconds in request
// order, so the green reader saw gaps of exactly the number of red objects
// published between two green ones (positions t0, t0+3, t0+5 here).
TEST_CASE("object_store: date_added gaps do not count versions above a reader's clearance") {
  using formats::tlp_level;
  temp_dir dir;
  auto clock = std::make_shared<test_clock>();
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->clock = [clock] { return clock->now.load(); };
  faults->before_commit = [gate] { return gate->pass(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("levels");
  REQUIRE(c);

  SECTION("one request") {
    clock->now += 1000;
    const tlp_level levels[] = {tlp_level::green, tlp_level::red,   tlp_level::red,
                                tlp_level::green, tlp_level::amber, tlp_level::red,
                                tlp_level::clear, tlp_level::green};
    std::vector<new_object> objects;
    for (int i = 0; i < 8; ++i) {
      objects.push_back(at_level(make_object(object_id(i), stix_time(1)), levels[i]));
    }
    auto out =
        publish_sync(*store, make_request(*c, objects, "aaaaaaaa-0000-4000-8000-00000000000a"));
    REQUIRE(out);
    REQUIRE(out->added == 8);
    // The status still lists every added version exactly once.
    auto status = store->begin_read().status("aaaaaaaa-0000-4000-8000-00000000000a");
    REQUIRE(status);
    std::set<std::string> listed;
    for (const auto& s : status->successes) listed.insert(s.id);
    CHECK(listed.size() == 8);
    CHECK(status->successes.size() == 8);
  }
  SECTION("two requests in one commit") {
    // Hold the writer in a commit so that both requests share the next one.
    gate->arm();
    std::promise<result<publish_outcome>> holder;
    store->publish(make_request(*c, {make_object(object_id(100), stix_time(1))}),
                   [&](result<publish_outcome> r) { holder.set_value(std::move(r)); });
    gate->wait_blocked();
    clock->now += 1000;
    std::promise<result<publish_outcome>> first;
    std::promise<result<publish_outcome>> second;
    store->publish(
        make_request(*c, {at_level(make_object(object_id(1), stix_time(1)), tlp_level::green),
                          at_level(make_object(object_id(2), stix_time(1)), tlp_level::red),
                          at_level(make_object(object_id(3), stix_time(1)), tlp_level::red)}),
        [&](result<publish_outcome> r) { first.set_value(std::move(r)); });
    store->publish(
        make_request(*c, {at_level(make_object(object_id(4), stix_time(1)), tlp_level::red),
                          at_level(make_object(object_id(5), stix_time(1)), tlp_level::green),
                          at_level(make_object(object_id(6), stix_time(1)), tlp_level::clear)}),
        [&](result<publish_outcome> r) { second.set_value(std::move(r)); });
    const auto commits = store->stats().commits;
    gate->release();
    REQUIRE(holder.get_future().get());
    auto a = first.get_future().get();
    auto b = second.get_future().get();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->added == 3);
    CHECK(b->added == 3);
    CHECK(store->stats().commits - commits == 2);  // the held one, then both requests
  }

  // Every clearance sees unique, increasing positions, and within the commit
  // its visible ones are consecutive: nothing hidden lies between them.
  for (const tlp_level clearance : {tlp_level::clear, tlp_level::green, tlp_level::amber,
                                    tlp_level::amber_strict, tlp_level::red}) {
    auto seen = visible_positions(*store, *c, clearance);
    std::erase_if(seen, [](micros at) { return at < k_t0 + 1000; });  // the held commit
    for (std::size_t i = 1; i < seen.size(); ++i) {
      INFO("clearance " << static_cast<int>(clearance) << " position " << i);
      CHECK(seen[i] == seen[i - 1] + 1);
    }
  }
}

// A publisher receives its own versions above its clearance. A request
// with own_commit set is alone in its commit, so that no other publisher's
// versions are numbered between a green writer's GREEN and RED versions
// (shared, the AMBER version of the other request took the position between
// them; integration test: "a writer's own versions above its clearance ...").
TEST_CASE("object_store: a request with own_commit shares its commit with no other") {
  using formats::tlp_level;
  temp_dir dir;
  auto clock = std::make_shared<test_clock>();
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->clock = [clock] { return clock->now.load(); };
  faults->before_commit = [gate] { return gate->pass(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("own commit");
  REQUIRE(c);

  gate->arm();
  std::promise<result<publish_outcome>> holder;
  store->publish(make_request(*c, {make_object(object_id(100), stix_time(1))}),
                 [&](result<publish_outcome> r) { holder.set_value(std::move(r)); });
  gate->wait_blocked();
  const auto commits = store->stats().commits;
  auto other =
      make_request(*c, {at_level(make_object(object_id(1), stix_time(1)), tlp_level::amber)});
  other.publisher = "amberly";
  auto own = make_request(*c, {at_level(make_object(object_id(2), stix_time(1)), tlp_level::green),
                               at_level(make_object(object_id(3), stix_time(1)), tlp_level::red)});
  own.publisher = "greenie";
  own.own_commit = true;
  auto later =
      make_request(*c, {at_level(make_object(object_id(4), stix_time(1)), tlp_level::amber)});
  later.publisher = "amberly";
  std::promise<result<publish_outcome>> p_other;
  std::promise<result<publish_outcome>> p_own;
  std::promise<result<publish_outcome>> p_later;
  store->publish(std::move(other),
                 [&](result<publish_outcome> r) { p_other.set_value(std::move(r)); });
  store->publish(std::move(own), [&](result<publish_outcome> r) { p_own.set_value(std::move(r)); });
  store->publish(std::move(later),
                 [&](result<publish_outcome> r) { p_later.set_value(std::move(r)); });
  gate->release();
  REQUIRE(holder.get_future().get());
  REQUIRE(p_other.get_future().get());
  auto mine = p_own.get_future().get();
  REQUIRE(mine);
  REQUIRE(p_later.get_future().get());
  // The held commit, then the one before, the own one and the one after
  // (shared, the three would have been one).
  CHECK(store->stats().commits - commits == 4);
  REQUIRE(mine->added == 2);
  CHECK(mine->last_date_added == mine->first_date_added + 1);
  // greenie's view: its GREEN and RED versions, consecutive.
  std::vector<micros> seen;
  auto r = store->begin_read();
  r.scan(*c, 0, visibility{tlp_level::green, "greenie"}, [&](const object_record& rec) {
    if (rec.publisher == "greenie") seen.push_back(rec.date_added);
    return true;
  });
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == seen[0] + 1);
}

// Before: the server scanned every stored version and filtered in the
// callback, so a green reader's page over N red versions read all N (and
// with more than 200,000 said more:true with nothing in it). The scan with a
// visibility reads only the levels the reader may receive.
TEST_CASE("object_store: a scan reads nothing above the reader's clearance") {
  using formats::tlp_level;
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("withheld");
  REQUIRE(c);
  constexpr int k_red = 300;
  std::vector<new_object> reds;
  for (int i = 0; i < k_red; ++i) {
    reds.push_back(at_level(make_object(object_id(i), stix_time(1)), tlp_level::red));
  }
  REQUIRE(publish_sync(*store, make_request(*c, reds)));  // published by "acme"

  const visibility green_partner{tlp_level::green, "partner"};
  {
    auto r = store->begin_read();
    int calls = 0;
    r.scan(*c, 0, green_partner, [&](const object_record&) { return ++calls, true; });
    CHECK(calls == 0);
    CHECK(r.records_read() == 0);
    REQUIRE_FALSE(r.last_error());
    // What the server did before: every version read, then filtered.
    int received = 0;
    r.scan(*c, 0, [&](const object_record& rec) {
      if (rec.tlp <= tlp_level::green) ++received;
      return true;
    });
    CHECK(received == 0);
    CHECK(r.records_read() == k_red);
  }

  // Interleave visible versions, own versions above the clearance, and
  // others' amber ones: the green partner reads exactly what it receives, in
  // date_added order.
  std::vector<std::string> expected;
  for (int round = 0; round < 3; ++round) {
    auto green = at_level(make_object(object_id(1000 + round), stix_time(1)), tlp_level::green);
    auto clear = at_level(make_object(object_id(2000 + round), stix_time(1)), tlp_level::clear);
    auto amber = at_level(make_object(object_id(3000 + round), stix_time(1)), tlp_level::amber);
    REQUIRE(publish_sync(*store, make_request(*c, {green, amber, clear})));
    auto own = at_level(make_object(object_id(4000 + round), stix_time(1)), tlp_level::red);
    auto request = make_request(*c, {own});
    request.publisher = "partner";
    REQUIRE(publish_sync(*store, std::move(request)));
    // In one request, clear is numbered before green (level order).
    expected.insert(expected.end(), {clear.id, green.id, own.id});
  }
  {
    auto r = store->begin_read();
    std::vector<std::string> seen;
    micros last = 0;
    r.scan(*c, 0, green_partner, [&](const object_record& rec) {
      CHECK(rec.date_added > last);
      last = rec.date_added;
      seen.emplace_back(rec.id);
      return true;
    });
    CHECK(seen == expected);
    CHECK(r.records_read() == expected.size());
  }
  {
    // Another green account does not get the partner's red versions, and
    // does not read them either.
    auto r = store->begin_read();
    std::size_t seen = 0;
    r.scan(*c, 0, visibility{tlp_level::green, "someone"}, [&](const object_record& rec) {
      CHECK(rec.tlp <= tlp_level::green);
      return ++seen, true;
    });
    CHECK(seen == 6);
    CHECK(r.records_read() == 6);
  }
  {
    // A red reader gets everything, in date_added order; paging by `after`
    // misses nothing.
    auto all = scan_all(*store, *c);
    CHECK(all.size() == k_red + 12);
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].date_added > all[i - 1].date_added);
    auto r = store->begin_read();
    std::size_t paged = 0;
    micros after = 0;
    for (;;) {
      int n = 0;
      r.scan(*c, after, [&](const object_record& rec) {
        after = rec.date_added;
        return ++n < 7;
      });
      if (n == 0) break;
      paged += static_cast<std::size_t>(n);
    }
    CHECK(paged == all.size());
  }
  {
    // A deleted own version vanishes from the owner's scan too.
    std::vector<micros> own;
    store->begin_read().scan(*c, 0, green_partner, [&](const object_record& rec) {
      if (rec.tlp == tlp_level::red) own.push_back(rec.date_added);
      return true;
    });
    REQUIRE(own.size() == 3);
    REQUIRE(remove_sync(*store, {*c, {own[1]}}) == std::size_t{1});
    auto after = store->begin_read();
    std::size_t reds_seen = 0;
    after.scan(*c, 0, green_partner, [&](const object_record& rec) {
      if (rec.tlp == tlp_level::red) ++reds_seen;
      return true;
    });
    CHECK(reds_seen == 2);
    CHECK_FALSE(after.at(*c, own[1]));
    CHECK(after.at(*c, own[0]));
  }
}

namespace {

// Writes, with LMDB directly, a store as schema 1 left it: collection "old"
// (key 1) with versions keyed by date_added alone at k_t0 .. k_t0 + 3
// (clear, red, green, and a deleted amber one), by_id entries without a
// level, and a status in the old format whose one range covers the first
// three; then `extra` green versions padded with `pad` bytes.
void write_schema_1_store(const std::string& path, int extra = 0, std::size_t pad = 0) {
  using formats::tlp_level;
  std::filesystem::create_directories(path);
  auto e = lmdb::env::create();
  REQUIRE(e);
  REQUIRE(e->set_maxdbs(64));
  REQUIRE(e->set_mapsize(std::size_t{32} << 20));
  REQUIRE(e->open(path.c_str(), MDB_NOTLS, 0600));
  auto t = lmdb::txn::begin(*e);
  REQUIRE(t);
  auto meta = lmdb::dbi::open(*t, "meta", MDB_CREATE);
  auto objects = lmdb::dbi::open(*t, "objects/1", MDB_CREATE);
  auto by_id = lmdb::dbi::open(*t, "by_id", MDB_CREATE);
  auto status = lmdb::dbi::open(*t, "status", MDB_CREATE);
  auto status_time = lmdb::dbi::open(*t, "status_time", MDB_CREATE);
  REQUIRE((meta && objects && by_id && status && status_time));
  const std::string hash_key_bytes = "0123456789abcdef";
  const codec::hash_key key{codec::get_u64be(hash_key_bytes.data()),
                            codec::get_u64be(hash_key_bytes.data() + 8)};
  REQUIRE(meta->put(*t, "schema", codec::collection_bytes(1).view()));
  REQUIRE(meta->put(*t, "next_collection", codec::collection_bytes(2).view()));
  REQUIRE(meta->put(*t, "id_hash_key", hash_key_bytes));
  REQUIRE(meta->put(*t, "c/old", codec::collection_bytes(1).view()));
  std::string last_key = "last/";
  last_key.append(codec::collection_bytes(1).view());
  REQUIRE(meta->put(*t, last_key, codec::position_key(k_t0 + 3 + extra).view()));

  const tlp_level levels[] = {tlp_level::clear, tlp_level::red, tlp_level::green, tlp_level::amber};
  for (int i = 0; i < 4 + extra; ++i) {
    const auto o = make_object(object_id(i), stix_time(1), i < 4 ? 0 : pad);
    const bool deleted = i == 3;
    const codec::object_fields f{o.id,
                                 o.version,
                                 o.spec_version,
                                 "acme",
                                 deleted ? std::string_view() : std::string_view(o.json),
                                 i < 4 ? levels[i] : tlp_level::green,
                                 deleted};
    std::string value(codec::object_value_bytes(f), '\0');
    codec::encode_object(value.data(), f);
    REQUIRE(objects->put(*t, codec::position_key(k_t0 + i).view(), value));
    if (deleted) continue;
    codec::by_id_key k;
    k.set_id(1, codec::siphash24(key, o.id));
    char packed[codec::packed_time_bytes];
    REQUIRE(codec::pack_time_key(*formats::stix_time_key(o.version), packed));
    k.set_time(packed);
    k.set_position(k_t0 + i);
    REQUIRE(by_id->put(*t, k.full(), {}));
  }
  status_record s;
  s.id = "11111111-0000-4000-8000-000000000001";
  s.owner = "acme";
  s.api_root = "sharing";
  s.request_timestamp = k_t0;
  // Format 2: as format 3 without the level byte of each range.
  std::string value = codec::encode_status(s, formats::now_micros(), 1, {{k_t0, k_t0 + 2, 0}});
  const std::size_t range_end =
      1 + 16 + 4 + s.id.size() + 4 + s.owner.size() + 4 + s.api_root.size() + 4 + 4 + 16;
  value[0] = 2;
  value.erase(range_end, 1);
  REQUIRE(status->put(*t, s.id, value));
  REQUIRE(t->commit());
}

}  // namespace

// A store written by the previous layout opens, is migrated once (logged
// through options.notice), and reads as before, per level.
TEST_CASE("object_store: a schema 1 store is migrated at open, once") {
  using formats::tlp_level;
  temp_dir dir;
  auto options = options_for(dir);
  write_schema_1_store(options.path);
  std::vector<std::string> notices;
  options.notice = [&](std::string_view n) { notices.emplace_back(n); };

  for (int pass = 0; pass < 2; ++pass) {
    INFO("open " << pass);
    auto store = open_store(options);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].find("migrated from schema version 1") != std::string::npos);
    auto c = store->collection("old");
    REQUIRE(c);
    CHECK(*c == 1);
    {
      auto r = store->begin_read();
      std::vector<std::string> all;
      r.scan(*c, 0, [&](const object_record& rec) { return all.emplace_back(rec.id), true; });
      CHECK(all == std::vector<std::string>{object_id(0), object_id(1), object_id(2)});
      std::vector<micros> green;
      auto g = store->begin_read();
      g.scan(*c, 0, visibility{tlp_level::green, "partner"},
             [&](const object_record& rec) { return green.push_back(rec.date_added), true; });
      CHECK(green == std::vector<micros>{k_t0, k_t0 + 2});
      // Only green and clear records: the ones above, and on the second
      // open the deleted green one published on the first.
      CHECK(g.records_read() == (pass == 0 ? 2u : 3u));
      // The publisher's own red version, through the index built at migration.
      std::vector<micros> own;
      r.scan(*c, 0, visibility{tlp_level::green, "acme"},
             [&](const object_record& rec) { return own.push_back(rec.date_added), true; });
      CHECK(own == std::vector<micros>{k_t0, k_t0 + 1, k_t0 + 2});
      auto red = r.at(*c, k_t0 + 1);
      REQUIRE(red);
      CHECK(red->tlp == tlp_level::red);
      CHECK(red->id == object_id(1));
      CHECK_FALSE(r.at(*c, k_t0 + 3));  // deleted
      auto listed = versions_of(*store, *c, object_id(2));
      REQUIRE(listed.size() == 1);
      CHECK(listed[0].date_added == k_t0 + 2);
      CHECK(r.version_rank(*red).last);
      auto status = r.status("11111111-0000-4000-8000-000000000001");
      REQUIRE(status);
      REQUIRE(status->successes.size() == 3);
      CHECK(status->successes[0].id == object_id(0));
      CHECK(status->successes[1].id == object_id(1));
      CHECK(status->successes[2].id == object_id(2));
      REQUIRE_FALSE(r.last_error());
    }
    if (pass == 0) {
      // New versions come after the migrated ones; duplicates are still found.
      auto out = publish_sync(*store, make_request(*c, {make_object(object_id(2), stix_time(1)),
                                                        make_object(object_id(9), stix_time(1))}));
      REQUIRE(out);
      CHECK(out->added == 1);
      CHECK(out->duplicates == 1);
      CHECK(out->first_date_added > k_t0 + 3);
      REQUIRE(remove_sync(*store, {*c, {out->first_date_added}}) == std::size_t{1});
    }
  }
}

TEST_CASE("object_store: a store of an unknown schema version is refused, unchanged") {
  temp_dir dir;
  const auto options = options_for(dir);
  { auto store = open_store(options); }
  {
    auto e = lmdb::env::create();
    REQUIRE(e);
    REQUIRE(e->set_maxdbs(64));
    REQUIRE(e->open(options.path.c_str(), MDB_NOTLS, 0600));
    auto t = lmdb::txn::begin(*e);
    REQUIRE(t);
    auto meta = lmdb::dbi::open(*t, "meta", 0);
    REQUIRE(meta);
    REQUIRE(meta->put(*t, "schema", codec::collection_bytes(3).view()));
    REQUIRE(t->commit());
  }
  auto refused = object_store::open(options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("schema version 3") != std::string::npos);
  CHECK(refused.error().message.find("reads versions 1 to 2") != std::string::npos);
}

// The new versions of a commit are planned before any is written: a version
// that an earlier request of the same commit (or the same request) adds is a
// duplicate like a stored one.
TEST_CASE("object_store: duplicates within one commit are found before numbering") {
  temp_dir dir;
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->before_commit = [gate] { return gate->pass(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("dups");
  REQUIRE(c);

  gate->arm();
  std::promise<result<publish_outcome>> holder;
  store->publish(make_request(*c, {make_object(object_id(100), stix_time(1))}),
                 [&](result<publish_outcome> r) { holder.set_value(std::move(r)); });
  gate->wait_blocked();
  auto same_instant = make_object(object_id(1), "2026-01-01T00:00:01Z");  // = stix_time(1)
  auto sco = make_object(object_id(2, "ipv4-addr"), "");
  std::promise<result<publish_outcome>> first;
  std::promise<result<publish_outcome>> second;
  store->publish(make_request(*c, {make_object(object_id(1), stix_time(1)), sco, sco}),
                 [&](result<publish_outcome> r) { first.set_value(std::move(r)); });
  store->publish(make_request(*c, {same_instant, sco, make_object(object_id(3), stix_time(1))}),
                 [&](result<publish_outcome> r) { second.set_value(std::move(r)); });
  gate->release();
  REQUIRE(holder.get_future().get());
  auto a = first.get_future().get();
  auto b = second.get_future().get();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->added == 2);
  CHECK(a->duplicates == 1);
  CHECK(b->added == 1);
  CHECK(b->duplicates == 2);
  // The SCO's duplicates report the version assigned to the stored one.
  auto stored_sco = versions_of(*store, *c, sco.id);
  REQUIRE(stored_sco.size() == 1);
  REQUIRE(a->status.successes.size() == 3);
  CHECK(a->status.successes[2].id == sco.id);
  CHECK(a->status.successes[2].version == stored_sco[0].version);
  REQUIRE(b->status.successes.size() == 3);
  CHECK(b->status.successes[0].id == object_id(3));
  CHECK(b->status.successes[1].version == same_instant.version);
  CHECK(b->status.successes[2].version == stored_sco[0].version);
  CHECK(scan_all(*store, *c).size() == 4);
}

// The migration copies each collection once more before dropping the old
// copy; when that does not fit the map, the map grows (up to max_map_size).
TEST_CASE("object_store: a schema 1 store too big for the map is migrated after it grows") {
  temp_dir dir;
  auto options = options_for(dir);
  write_schema_1_store(options.path, 400, 3000);
  options.map_size = std::size_t{1} << 20;  // the store opens at its used size
  auto store = open_store(options);
  // 1.2 MB of versions held twice at the peak of the migration.
  CHECK(store->map_size() > (std::size_t{2} << 20));
  auto c = store->collection("old");
  REQUIRE(c);
  CHECK(scan_all(*store, *c).size() == 3 + 400);
  auto r = store->begin_read();
  CHECK(r.at(*c, k_t0 + 3 + 400));
  auto status = r.status("11111111-0000-4000-8000-000000000001");
  REQUIRE(status);
  CHECK(status->successes.size() == 3);
}

// A publisher's own versions above its clearance are indexed one range per
// publish and level; paging from inside a range misses and repeats nothing.
TEST_CASE("object_store: paging through a reader's own withheld versions") {
  using formats::tlp_level;
  temp_dir dir;
  auto store = open_store(options_for(dir));
  auto c = store->collection("own");
  REQUIRE(c);
  std::vector<new_object> mine;
  for (int i = 0; i < 6; ++i) {
    mine.push_back(at_level(make_object(object_id(i), stix_time(1)),
                            i % 2 ? tlp_level::red : tlp_level::amber));
  }
  mine.push_back(at_level(make_object(object_id(6), stix_time(1)), tlp_level::clear));
  auto request = make_request(*c, mine);
  request.publisher = "partner";
  auto out = publish_sync(*store, std::move(request));
  REQUIRE(out);
  REQUIRE(out->added == 7);
  auto others =
      make_request(*c, {at_level(make_object(object_id(7), stix_time(1)), tlp_level::red)});
  REQUIRE(publish_sync(*store, std::move(others)));

  const visibility partner{tlp_level::green, "partner"};
  std::vector<micros> all;
  store->begin_read().scan(
      *c, 0, partner, [&](const object_record& r) { return all.push_back(r.date_added), true; });
  // Its own seven (clear first, then amber, then red), not the other red one.
  REQUIRE(all.size() == 7);
  CHECK(all == out->added_positions);
  for (std::size_t from = 0; from < all.size(); ++from) {
    std::vector<micros> rest;
    auto r = store->begin_read();
    r.scan(*c, all[from], partner,
           [&](const object_record& rec) { return rest.push_back(rec.date_added), true; });
    CHECK(rest ==
          std::vector<micros>(all.begin() + static_cast<std::ptrdiff_t>(from) + 1, all.end()));
    CHECK(r.records_read() == rest.size());
  }
}

// Within one commit, positions follow TLP levels: a GREEN copy of a version
// whose RED copy an earlier request of the same commit adds gets the lower
// position. Before: the GREEN copy was not marked as a later copy (the
// in-commit check did not report copies it did not take as duplicates), so a
// reader who may receive both got both, and the RED writer's version was
// overridden by the GREEN writer's for every position-ordered read.
TEST_CASE("object_store: a copy planned after another in one commit is the later copy") {
  temp_dir dir;
  auto gate = std::make_shared<commit_gate>();
  auto faults = std::make_shared<store_faults>();
  faults->before_commit = [gate] { return gate->pass(); };
  auto store = open_store(options_for(dir, faults));
  auto c = store->collection("copies-in-commit");
  REQUIRE(c);
  const std::string x = object_id(41);

  gate->arm();
  std::promise<result<publish_outcome>> holder;
  store->publish(make_request(*c, {make_object(object_id(40), stix_time(1))}),
                 [&](result<publish_outcome> r) { holder.set_value(std::move(r)); });
  gate->wait_blocked();
  auto red = make_request(*c, {make_object(x, stix_time(1))});
  red.objects[0].tlp = formats::tlp_level::red;
  red.publisher = "chief";
  auto green = make_request(*c, {make_object(x, stix_time(1), 5)});
  green.publisher = "greenie";  // may not receive chief's RED copy
  green.duplicate_if = [](const object_record& rec) {
    return rec.tlp <= formats::tlp_level::green;
  };
  std::promise<result<publish_outcome>> first;
  std::promise<result<publish_outcome>> second;
  store->publish(std::move(red), [&](result<publish_outcome> r) { first.set_value(std::move(r)); });
  store->publish(std::move(green),
                 [&](result<publish_outcome> r) { second.set_value(std::move(r)); });
  gate->release();
  REQUIRE(holder.get_future().get());
  auto a = first.get_future().get();
  auto b = second.get_future().get();
  REQUIRE((a && b));
  REQUIRE(a->added == 1);
  REQUIRE(b->added == 1);
  const micros red_at = a->first_date_added;
  const micros green_at = b->first_date_added;
  CHECK(green_at < red_at);  // GREEN is numbered before RED

  auto r = store->begin_read();
  auto red_copy = r.at(*c, red_at);
  auto green_copy = r.at(*c, green_at);
  REQUIRE((red_copy && green_copy));
  CHECK_FALSE(red_copy->later_copy);
  CHECK(green_copy->later_copy);
  // A RED reader receives chief's copy only; greenie, who cannot receive
  // it, keeps its own.
  CHECK_FALSE(r.earlier_copy(*red_copy));
  CHECK(r.earlier_copy(*green_copy));
  auto greenie = [](const object_record& rec) { return rec.tlp <= formats::tlp_level::green; };
  CHECK_FALSE(r.earlier_copy(*green_copy, greenie));
}

namespace {

// Whether the live version at position at carries the newest mark.
bool marked_newest(const object_store& store, collection_key c, micros at) {
  auto r = store.begin_read();
  auto rec = r.at(c, at);
  REQUIRE(rec);
  return rec->newest;
}

// Every live version marked newest is the last of its object, whoever asks:
// with every other version counting, and so with any fewer.
void check_marks_agree_with_rank(const object_store& store, collection_key c) {
  auto r = store.begin_read();
  r.scan(c, 0, [&](const object_record& rec) {
    if (rec.newest) {
      INFO(rec.id << " " << rec.version << " at " << rec.date_added);
      CHECK(r.version_rank(rec).last);
    }
    return true;
  });
  CHECK_FALSE(r.last_error());
}

}  // namespace

TEST_CASE(
    "object_store: the newest version of an id is marked, and loses the mark to a later one") {
  temp_dir dir;
  // Every id shares one hash: the marks must tell ids apart by the record.
  auto faults = std::make_shared<store_faults>();
  faults->id_hash = [](std::string_view) -> std::uint64_t { return 9; };
  const auto options = options_for(dir, faults);
  auto store = open_store(options);
  auto c = store->collection("newest");
  REQUIRE(c);
  const std::string x = object_id(51);
  const std::string y = object_id(52);
  auto one = [&](new_object o, std::string publisher = "acme") {
    auto req = make_request(*c, {std::move(o)});
    req.publisher = publisher;
    req.duplicate_if = [publisher](const object_record& rec) { return rec.publisher == publisher; };
    auto out = publish_sync(*store, std::move(req));
    REQUIRE(out);
    REQUIRE(out->added == 1);
    return out->first_date_added;
  };

  // A single version is the newest.
  const micros x5 = one(make_object(x, stix_time(5)));
  CHECK(marked_newest(*store, *c, x5));
  // Another id (with the same hash) takes nothing from it.
  const micros y1 = one(make_object(y, stix_time(1)));
  CHECK(marked_newest(*store, *c, y1));
  CHECK(marked_newest(*store, *c, x5));

  // A later version takes the mark.
  const micros x9 = one(make_object(x, stix_time(9)));
  CHECK(marked_newest(*store, *c, x9));
  CHECK_FALSE(marked_newest(*store, *c, x5));
  CHECK(marked_newest(*store, *c, y1));

  // An earlier version arriving late is not the newest, and takes nothing.
  const micros x7 = one(make_object(x, stix_time(7)));
  CHECK_FALSE(marked_newest(*store, *c, x7));
  CHECK(marked_newest(*store, *c, x9));

  // Copies of a version (same instant, another publisher) are neither
  // earlier nor later: a copy of the newest is newest too and leaves the
  // original its mark; a copy of an older one is not.
  const micros x9_copy = one(make_object(x, "2026-01-01T00:00:09Z", 3), "partner");
  const micros x5_copy = one(make_object(x, stix_time(5), 3), "partner");
  {
    auto r = store->begin_read();
    REQUIRE(r.at(*c, x9_copy)->later_copy);
    CHECK(r.at(*c, x9_copy)->newest);
    CHECK(r.at(*c, x9)->newest);
    CHECK_FALSE(r.at(*c, x5_copy)->newest);
  }

  // Published without a version while x is stored: an id copy, whose
  // assigned version (its date_added) is later than every version of x.
  const micros x_id_copy = one(make_object(x, ""), "partner2");
  {
    auto r = store->begin_read();
    auto id_copy = r.at(*c, x_id_copy);
    REQUIRE(id_copy);
    CHECK(id_copy->id_copy);
    CHECK(id_copy->newest);
    CHECK(r.version_rank(*id_copy).last);
    CHECK_FALSE(r.at(*c, x9)->newest);
    CHECK_FALSE(r.at(*c, x9_copy)->newest);
  }

  // Within one request, across levels (numbered GREEN before RED): the
  // latest version is the newest whatever the order of positions.
  const std::string z = object_id(53);
  auto mixed = make_request(*c, {make_object(z, stix_time(4)), make_object(z, stix_time(3)),
                                 make_object(z, stix_time(2))});
  mixed.objects[0].tlp = formats::tlp_level::red;
  auto out = publish_sync(*store, std::move(mixed));
  REQUIRE(out);
  REQUIRE(out->added == 3);
  std::vector<bool> z_marks;
  for (const auto& v : versions_of(*store, *c, z)) {
    z_marks.push_back(marked_newest(*store, *c, v.date_added));
  }
  CHECK(z_marks == std::vector<bool>{false, false, true});

  check_marks_agree_with_rank(*store, *c);

  // Removing the newest leaves the one before it unmarked (ranked by
  // reading, still the last).
  REQUIRE(remove_sync(*store, {*c, {x_id_copy}}));
  {
    auto r = store->begin_read();
    auto before = r.at(*c, x9);
    REQUIRE(before);
    CHECK_FALSE(before->newest);
    CHECK(r.version_rank(*before).last);
  }

  // The marks are stored: a re-opened store reads the same.
  std::vector<std::pair<micros, bool>> marks;
  {
    auto r = store->begin_read();
    r.scan(*c, 0, [&](const object_record& rec) {
      marks.emplace_back(rec.date_added, rec.newest);
      return true;
    });
  }
  store.reset();
  store = open_store(options);
  std::vector<std::pair<micros, bool>> reopened;
  {
    auto r = store->begin_read();
    r.scan(*c, 0, [&](const object_record& rec) {
      reopened.emplace_back(rec.date_added, rec.newest);
      return true;
    });
  }
  CHECK(reopened == marks);
  check_marks_agree_with_rank(*store, *c);
}

TEST_CASE("object_store: versions stored without the newest mark are ranked by reading") {
  temp_dir dir;
  const auto options = options_for(dir);
  collection_key c = 0;
  const std::string x = object_id(61);
  const std::string y = object_id(62);
  micros x1 = 0;
  {
    auto store = open_store(options);
    c = *store->collection("unmarked");
    auto out = publish_sync(
        *store, make_request(c, {make_object(x, stix_time(1)), make_object(x, stix_time(2)),
                                 make_object(y, stix_time(5))}));
    REQUIRE(out);
    REQUIRE(out->added == 3);
    x1 = out->first_date_added;
  }
  // As a release without the mark wrote them: the flag byte holds no mark.
  {
    auto e = lmdb::env::create();
    REQUIRE(e);
    REQUIRE(e->set_maxdbs(64));
    REQUIRE(e->open(options.path.c_str(), MDB_NOTLS, 0600));
    auto t = lmdb::txn::begin(*e);
    REQUIRE(t);
    auto objects = lmdb::dbi::open(*t, ("objects/" + std::to_string(c)).c_str(), 0);
    REQUIRE(objects);
    std::vector<std::pair<std::string, std::string>> records;
    {
      auto cur = lmdb::cursor::open(*t, *objects);
      REQUIRE(cur);
      std::string_view k;
      std::string_view v;
      for (auto found = cur->get(k, v, MDB_FIRST); found && *found;
           found = cur->get(k, v, MDB_NEXT)) {
        records.emplace_back(k, v);
      }
    }
    REQUIRE(records.size() == 3);
    for (auto& [k, v] : records) {
      v[1] = static_cast<char>(static_cast<std::uint8_t>(v[1]) & ~codec::flag_newest);
      REQUIRE(objects->put(*t, k, v));
    }
    REQUIRE(t->commit());
  }
  auto store = open_store(options);
  const micros x2 = x1 + 1;
  const micros y5 = x1 + 2;
  {
    auto r = store->begin_read();
    r.scan(c, 0, [&](const object_record& rec) {
      CHECK_FALSE(rec.newest);
      return true;
    });
    CHECK_FALSE(r.version_rank(*r.at(c, x1)).last);
    CHECK(r.version_rank(*r.at(c, x2)).last);
    CHECK(r.version_rank(*r.at(c, y5)).last);
  }

  // New versions are marked; the unmarked ones stay so (unknown), and an
  // earlier version arriving late is not marked.
  auto out = publish_sync(
      *store, make_request(c, {make_object(x, stix_time(3)), make_object(y, stix_time(4)),
                               make_object(object_id(63), stix_time(1))}));
  REQUIRE(out);
  REQUIRE(out->added == 3);
  const micros x3 = out->first_date_added;
  CHECK(marked_newest(*store, c, x3));
  CHECK_FALSE(marked_newest(*store, c, x3 + 1));  // y's 4 is before its stored 5
  CHECK(marked_newest(*store, c, x3 + 2));
  CHECK_FALSE(marked_newest(*store, c, x2));
  CHECK_FALSE(marked_newest(*store, c, y5));
  {
    auto r = store->begin_read();
    CHECK_FALSE(r.version_rank(*r.at(c, x2)).last);
    CHECK(r.version_rank(*r.at(c, y5)).last);
    CHECK_FALSE(r.version_rank(*r.at(c, x3 + 1)).last);
  }
  check_marks_agree_with_rank(*store, c);
}

// A release without the marks that publishes into the store in between moves
// the collection's "last/" meta value and not "marks/": a mark it left on a
// version it superseded could be wrong, so none of the collection's marks is
// trusted any more (the versions are ranked by reading, as before).
TEST_CASE("object_store: newest marks are not trusted after a release without them wrote") {
  temp_dir dir;
  const auto options = options_for(dir);
  collection_key c = 0;
  collection_key d = 0;
  micros x1 = 0;
  micros other = 0;
  {
    auto store = open_store(options);
    c = *store->collection("touched");
    d = *store->collection("untouched");
    auto out = publish_sync(*store, make_request(c, {make_object(object_id(71), stix_time(1))}));
    REQUIRE(out);
    x1 = out->first_date_added;
    auto in_d = publish_sync(*store, make_request(d, {make_object(object_id(72), stix_time(1))}));
    REQUIRE(in_d);
    other = in_d->first_date_added;
    CHECK(marked_newest(*store, c, x1));
    CHECK(marked_newest(*store, d, other));
  }
  {
    auto e = lmdb::env::create();
    REQUIRE(e);
    REQUIRE(e->set_maxdbs(64));
    REQUIRE(e->open(options.path.c_str(), MDB_NOTLS, 0600));
    auto t = lmdb::txn::begin(*e);
    REQUIRE(t);
    auto meta = lmdb::dbi::open(*t, "meta", 0);
    REQUIRE(meta);
    std::string last_key = "last/";
    last_key.append(codec::collection_bytes(c).view());
    REQUIRE(meta->put(*t, last_key, codec::position_key(x1 + 5).view()));
    REQUIRE(t->commit());
  }
  auto store = open_store(options);
  CHECK_FALSE(marked_newest(*store, c, x1));
  CHECK(marked_newest(*store, d, other));  // another collection keeps its marks
  {
    auto r = store->begin_read();
    CHECK(r.version_rank(*r.at(c, x1)).last);
  }
  // Publishing again does not make them trusted.
  auto out = publish_sync(*store, make_request(c, {make_object(object_id(73), stix_time(1))}));
  REQUIRE(out);
  CHECK_FALSE(marked_newest(*store, c, out->first_date_added));
  CHECK_FALSE(marked_newest(*store, c, x1));
}
