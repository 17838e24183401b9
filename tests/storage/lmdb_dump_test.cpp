// The LMDB store read whole for cairnd migrate (lmdb_dump.hpp): a store
// filled through the seam, dumped into a sink that records every part, gives
// back exactly what the store answers through the seam.

#include "storage/lmdb_dump.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/json.hpp"
#include "storage/lmdb_store.hpp"
#include "tests/storage/temp_dir.hpp"

using namespace cairn;
using namespace cairn::storage;
using cairn::storage::testing::temp_dir;

namespace {

struct version_copy {
  collection_key collection = 0;
  micros date_added = 0;
  std::string id, version, spec_version, publisher, json;
  formats::tlp_level tlp = formats::tlp_level::amber;
  bool later_copy = false;
  bool id_copy = false;

  explicit version_copy(const object_record& r)
      : collection(r.collection),
        date_added(r.date_added),
        id(r.id),
        version(r.version),
        spec_version(r.spec_version),
        publisher(r.publisher),
        json(r.json),
        tlp(r.tlp),
        later_copy(r.later_copy),
        id_copy(r.id_copy) {}
  bool operator==(const version_copy&) const = default;
};

// Everything it is given, in order; fails the transfer at fail_at calls.
struct recording_sink : store_sink {
  std::vector<std::pair<std::string, collection_key>> collections;
  std::vector<version_copy> versions;
  std::vector<std::pair<status_record, micros>> statuses;
  std::vector<std::string> records;
  std::vector<formats::audit_checkpoint> checkpoints;
  // The order of the parts: 'c' for a collection, 'o' for any other.
  std::string order;
  int calls = 0;
  int fail_at = -1;

  result<void> step(char kind) {
    order += kind;
    if (calls++ == fail_at) return fail("the sink refused");
    return {};
  }
  result<void> collection(std::string_view name, collection_key key) override {
    collections.emplace_back(std::string(name), key);
    return step('c');
  }
  result<void> version(const object_record& v) override {
    versions.emplace_back(v);
    return step('o');
  }
  result<void> status(const status_record& s, micros stored_at) override {
    statuses.emplace_back(s, stored_at);
    return step('o');
  }
  result<void> audit_record(std::string_view json) override {
    records.emplace_back(json);
    return step('o');
  }
  result<void> checkpoint(const formats::audit_checkpoint& c) override {
    checkpoints.push_back(c);
    return step('o');
  }
};

new_object object(int n, std::string version, formats::tlp_level tlp) {
  new_object o;
  o.id = "indicator--00000000-0000-4000-8000-00000000000" + std::to_string(n);
  o.type = "indicator";
  o.version = std::move(version);
  o.spec_version = "2.1";
  o.tlp = tlp;
  o.json = R"({"type":"indicator","id":")" + o.id + R"(","n":)" + std::to_string(n) + "}";
  return o;
}

audit_entry entry(std::string action, std::string collection) {
  audit_entry e;
  e.action = std::move(action);
  e.account = "alice";
  e.remote = "127.0.0.1";
  e.api_root = "api1";
  e.collection = std::move(collection);
  e.status = 202;
  return e;
}

publish_outcome publish(store& s, collection_key c, std::string publisher, std::string status_id,
                        std::vector<new_object> objects) {
  publish_request r;
  r.collection = c;
  r.publisher = std::move(publisher);
  r.objects = std::move(objects);
  r.status.id = std::move(status_id);
  r.status.owner = r.publisher;
  r.status.api_root = "api1";
  r.status.failures.push_back({"indicator--bad", "", "did not validate"});
  std::promise<result<publish_outcome>> p;
  auto f = p.get_future();
  s.publish(std::move(r), entry("publish", "coll"),
            [&p](result<publish_outcome> o) { p.set_value(std::move(o)); });
  auto out = f.get();
  REQUIRE(out);
  return *out;
}

template <class T>
T wait(std::function<void(std::function<void(result<T>)>)> start) {
  std::promise<result<T>> p;
  auto f = p.get_future();
  start([&p](result<T> v) { p.set_value(std::move(v)); });
  auto v = f.get();
  REQUIRE(v);
  return *v;
}

// What the seam answers about the store, to compare the dump with.
struct seen {
  std::vector<version_copy> versions;  // collection by collection, date_added order
  std::map<std::string, status_record> statuses;
  std::vector<std::string> records;
  formats::audit_checkpoint latest;
};

void check_same_status(const status_record& a, const status_record& b) {
  CHECK(a.id == b.id);
  CHECK(a.owner == b.owner);
  CHECK(a.api_root == b.api_root);
  CHECK(a.request_timestamp == b.request_timestamp);
  auto ids = [](const std::vector<status_detail>& d) {
    std::vector<std::string> out;
    for (const auto& x : d) out.push_back(x.id + " " + x.version + " " + x.message);
    return out;
  };
  CHECK(ids(a.successes) == ids(b.successes));
  CHECK(ids(a.failures) == ids(b.failures));
  CHECK(ids(a.pendings) == ids(b.pendings));
}

}  // namespace

TEST_CASE("lmdb dump: every live version, status, record and checkpoint, as the seam reads them") {
  temp_dir dir;
  const std::string store_path = dir.sub("store");
  seen expected;
  collection_key c1 = 0;
  collection_key c2 = 0;
  {
    lmdb_store_options o;
    o.path = store_path;
    o.key_path = dir.sub("audit-signing.key");
    o.public_key_path = dir.sub("audit-signing.pub");
    auto opened = open_lmdb_store(o);
    REQUIRE(opened);
    store& s = **opened;
    c1 = *s.collection("api1/coll");
    c2 = *s.collection("api1/other");
    using formats::tlp_level;
    auto a = publish(s, c1, "alice", "status-a",
                     {object(1, "2026-01-01T00:00:00.000Z", tlp_level::green),
                      object(2, "2026-01-01T00:00:00.000Z", tlp_level::red),
                      object(3, "2026-01-01T00:00:00.000Z", tlp_level::clear)});
    // A second version, a later copy of object 1 (the duplicate check says
    // no), and object 3 again without a version (a copy of its id, with a
    // version assigned).
    publish_request copy;
    copy.collection = c1;
    copy.publisher = "bob";
    copy.objects = {object(1, "2026-01-02T00:00:00.000Z", tlp_level::green),
                    object(1, "2026-01-01T00:00:00.000Z", tlp_level::amber),
                    object(3, "", tlp_level::green)};
    copy.duplicate_if = [](const object_record&) { return false; };
    copy.status.id = "status-b";
    copy.status.owner = "bob";
    copy.status.api_root = "api1";
    auto b = wait<publish_outcome>(
        [&](auto done) { s.publish(std::move(copy), entry("publish", "coll"), std::move(done)); });
    REQUIRE(b.added == 3);
    publish(s, c2, "carol", "", {object(5, "2026-03-01T00:00:00.000Z", tlp_level::amber)});
    // A pull, a checkpoint, a delete, a counter record: the log's kinds.
    audit_entry pull = entry("pull", "coll");
    pull.status = 200;
    pull.key = c1;
    for (std::size_t i = 0; i < a.added_positions.size(); ++i) {
      pull.delivered.add(a.added_positions[i], a.status.successes[i].id,
                         a.status.successes[i].version);
    }
    wait<std::uint64_t>([&](auto done) { s.record(std::move(pull), std::move(done)); });
    wait<formats::audit_checkpoint>([&](auto done) { s.checkpoint_now(std::move(done)); });
    delete_request del;
    del.collection = c1;
    del.positions = {a.added_positions[0]};
    CHECK(wait<std::size_t>([&](auto done) {
            s.remove(std::move(del), entry("delete", "coll"), std::move(done));
          }) == 1);
    audit_entry failures;
    failures.action = "auth-failure";
    failures.remote = "192.0.2.1";
    failures.status = 401;
    failures.suppressed = 3;
    failures.accounts = {{"mallory", 3}};
    wait<std::uint64_t>([&](auto done) { s.record(std::move(failures), std::move(done)); });
    // One over the whole log (closing then adds none).
    wait<formats::audit_checkpoint>([&](auto done) { s.checkpoint_now(std::move(done)); });

    {
      auto r = s.begin_read();
      for (collection_key c : {c1, c2}) {
        r->scan(c, 0, visibility{formats::tlp_level::red, {}}, [&](const object_record& v) {
          expected.versions.emplace_back(v);
          return true;
        });
      }
      for (const char* id : {"status-a", "status-b"}) {
        auto st = r->status(id);
        REQUIRE(st);
        expected.statuses.emplace(id, *st);
      }
    }
    auto size = s.audit_size();
    REQUIRE(size);
    for (std::uint64_t seq = 1; seq <= *size; ++seq) {
      auto json = s.audit_record_json(seq);
      REQUIRE(json);
      REQUIRE(*json);
      expected.records.push_back(**json);
    }
    auto latest = s.checkpoint();
    REQUIRE(latest);
    REQUIRE(*latest);
    expected.latest = **latest;
  }
  REQUIRE(expected.versions.size() == 6);  // 3 + 3 + 1, less the deleted one
  REQUIRE(expected.records.size() == 6);   // 3 publishes, the pull, the delete, the counter

  recording_sink sink;
  std::vector<dump_progress> reports;
  auto out =
      dump_lmdb_store(store_path, sink, [&](const dump_progress& p) { reports.push_back(p); });
  REQUIRE(out);

  // Collections first, by key, with their names as the server gave them.
  CHECK(sink.collections ==
        std::vector<std::pair<std::string, collection_key>>{{"api1/coll", c1}, {"api1/other", c2}});
  CHECK(sink.order.find_first_not_of('c') == 2);
  CHECK(sink.order.find('c', 2) == std::string::npos);

  // The live versions with their positions, publishers and flags (any order).
  auto by_position = [](const version_copy& x, const version_copy& y) {
    return std::pair(x.collection, x.date_added) < std::pair(y.collection, y.date_added);
  };
  std::sort(sink.versions.begin(), sink.versions.end(), by_position);
  CHECK(sink.versions == expected.versions);
  CHECK(std::any_of(sink.versions.begin(), sink.versions.end(),
                    [](const auto& v) { return v.later_copy && !v.id_copy; }));
  CHECK(std::any_of(sink.versions.begin(), sink.versions.end(),
                    [](const auto& v) { return v.later_copy && v.id_copy; }));

  // The statuses with a name (the third publish stored none), expanded as
  // the reader lists them, with when they were stored.
  REQUIRE(sink.statuses.size() == 2);
  for (const auto& [st, stored_at] : sink.statuses) {
    INFO(st.id);
    REQUIRE(expected.statuses.contains(st.id));
    check_same_status(st, expected.statuses.at(st.id));
    CHECK(stored_at > 0);
  }

  // The log byte for byte, in seq order, and its checkpoints oldest first.
  CHECK(sink.records == expected.records);
  REQUIRE(sink.checkpoints.size() >= 2);
  for (std::size_t i = 1; i < sink.checkpoints.size(); ++i) {
    CHECK(sink.checkpoints[i - 1].tree_size < sink.checkpoints[i].tree_size);
  }
  CHECK(formats::checkpoint_json(sink.checkpoints.back()) ==
        formats::checkpoint_json(expected.latest));

  // Progress ends at the totals.
  CHECK(out->versions == 6);
  CHECK(out->versions_total == 6);
  CHECK(out->records == 6);
  CHECK(out->records_total == 6);
  REQUIRE_FALSE(reports.empty());
  CHECK(reports.back().versions == 6);
  CHECK(reports.back().records == 6);
}

TEST_CASE("lmdb dump: a store in use, a missing store and a refusing sink are errors") {
  temp_dir dir;
  const std::string store_path = dir.sub("store");
  recording_sink sink;
  CHECK_FALSE(dump_lmdb_store(store_path, sink));

  lmdb_store_options o;
  o.path = store_path;
  o.key_path = dir.sub("audit-signing.key");
  auto opened = open_lmdb_store(o);
  REQUIRE(opened);
  auto c = (*opened)->collection("api1/coll");
  REQUIRE(c);
  publish(**opened, *c, "alice", "s",
          {object(1, "2026-01-01T00:00:00.000Z", formats::tlp_level::green)});
  // A running server holds the directory lock.
  auto busy = dump_lmdb_store(store_path, sink);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().message.find("in use") != std::string::npos);
  CHECK(sink.calls == 0);
  opened->reset();

  // The sink's refusal ends the transfer there.
  sink.fail_at = 1;
  auto refused = dump_lmdb_store(store_path, sink);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "the sink refused");
  CHECK(sink.calls == 2);
}
