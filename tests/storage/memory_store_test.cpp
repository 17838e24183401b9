// What the in-memory store does beyond the seam's contract
// (store_contract_test.cpp): its options, fault hook and close().

#include "storage/memory_store.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>

namespace cairn::storage {
namespace {

new_object some_object(int n) {
  new_object o;
  o.id = "indicator--0000000" + std::to_string(n) + "-0000-4000-8000-000000000000";
  o.type = "indicator";
  o.version = "2026-01-01T00:00:00.000Z";
  o.spec_version = "2.1";
  o.json = "{}";
  return o;
}

result<publish_outcome> publish_one(memory_store& s, collection_key c, int n,
                                    std::string status_id = {}) {
  publish_request r;
  r.collection = c;
  r.publisher = "alice";
  r.objects = {some_object(n)};
  r.status.id = std::move(status_id);
  audit_entry e;
  e.collection = "one";
  std::promise<result<publish_outcome>> p;
  s.publish(std::move(r), std::move(e), [&](result<publish_outcome> o) { p.set_value(o); });
  return p.get_future().get();
}

TEST_CASE("memory_store: collection keys stop at max_collections", "[store][memory]") {
  memory_store_options o;
  o.max_collections = 2;
  auto s = memory_store::open(o).value();
  CHECK(s->collection("a").value() == 1);
  CHECK(s->collection("b").value() == 2);
  auto third = s->collection("c");
  REQUIRE_FALSE(third);
  CHECK(third.error().message == "too many collections (max_collections is 2)");
  CHECK(s->collection("a").value() == 1);
}

TEST_CASE("memory_store: fail_next_writes fails that many commits", "[store][memory]") {
  auto s = memory_store::open().value();
  const collection_key c = s->collection("one").value();
  s->fail_next_writes(2);
  auto first = publish_one(*s, c, 1);
  REQUIRE_FALSE(first);
  CHECK(first.error().message.starts_with("commit failed"));
  CHECK_FALSE(publish_one(*s, c, 2));
  CHECK(publish_one(*s, c, 3));
  CHECK(s->audit_size().value() == 1);
  const store_stats st = s->stats();
  CHECK(st.failed_commits == 2);
  CHECK(st.commits == 2);  // the collection and the third publish
  CHECK(st.jobs == 4);
}

TEST_CASE("memory_store: expired statuses are purged by later publishes", "[store][memory]") {
  micros now = 1'000'000;
  memory_store_options o;
  o.clock = [&now] { return now; };
  o.status_retention = micros{1} * 3600 * 1'000'000;  // raised to the 24 h minimum
  auto s = memory_store::open(o).value();
  const collection_key c = s->collection("one").value();
  REQUIRE(publish_one(*s, c, 1, "s-1"));
  now += micros{2} * 3600 * 1'000'000;
  CHECK(s->begin_read()->status("s-1"));
  now += micros{24} * 3600 * 1'000'000;
  REQUIRE(publish_one(*s, c, 2, "s-2"));
  CHECK(s->stats().statuses_purged == 1);
  CHECK(s->begin_read()->status("s-2"));
}

TEST_CASE("memory_store: close() signs a last checkpoint and refuses writes", "[store][memory]") {
  auto s = memory_store::open().value();
  const collection_key c = s->collection("one").value();
  REQUIRE(publish_one(*s, c, 1));
  CHECK_FALSE(s->checkpoint().value());
  s->close();
  s->close();  // idempotent
  auto last = s->checkpoint().value();
  REQUIRE(last);
  CHECK(last->tree_size == 1);

  // After close, done() runs at once on the calling thread.
  bool called = false;
  const auto caller = std::this_thread::get_id();
  s->publish({}, {}, [&](result<publish_outcome> r) {
    called = true;
    CHECK(std::this_thread::get_id() == caller);
    CHECK_FALSE(r);
  });
  CHECK(called);
  CHECK_FALSE(s->collection("two"));
  // Reads go on.
  int seen = 0;
  s->begin_read()->scan(c, 0, {}, [&](const object_record&) { return ++seen > 0; });
  CHECK(seen == 1);
}

}  // namespace
}  // namespace cairn::storage
