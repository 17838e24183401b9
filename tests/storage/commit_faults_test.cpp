// Injected commit failures (the before_commit seam of storage/faults.hpp,
// standing for a failed write or fsync) under concurrent group commits: a job
// whose done() reports success is on disk, a job whose done() reports failure
// left nothing behind, and every job gets exactly one answer.
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/faults.hpp"
#include "storage/object_store.hpp"
#include "tests/storage/temp_dir.hpp"

using namespace cairn;
using namespace cairn::storage;
using cairn::storage::testing::temp_dir;

namespace {

std::string object_id(int thread, int n) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "indicator--%08x-0000-4000-8000-%012x", thread, n);
  return buf;
}

std::string status_id(int thread, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08x-1111-4000-8000-%012x", thread, n);
  return buf;
}

new_object make_object(const std::string& id) {
  new_object o;
  o.id = id;
  o.type = "indicator";
  o.version = "2026-01-01T00:00:00.000Z";
  o.spec_version = "2.1";
  o.tlp = formats::tlp_level::green;
  o.json = R"({"type":"indicator","id":")" + id + R"(","modified":"2026-01-01T00:00:00.000Z"})";
  return o;
}

std::set<std::string> stored_ids(object_store& store, collection_key c) {
  std::set<std::string> ids;
  store.begin_read().scan(c, 0, [&](const object_record& r) {
    ids.insert(std::string(r.id));
    return true;
  });
  return ids;
}

}  // namespace

TEST_CASE("commit faults: no acknowledgement for a failed commit under concurrent publishing",
          "[storage][faults]") {
  constexpr int k_threads = 8;
  constexpr int k_requests = 150;
  constexpr int k_objects = 3;
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  std::mt19937 fault_rng(20261127);
  std::mutex fault_mutex;
  std::atomic<int> injected{0};
  // About a third of the commits fail, with the errors a disk gives.
  faults->before_commit = [&]() -> int {
    std::lock_guard lock(fault_mutex);
    const auto roll = fault_rng() % 9;
    if (roll >= 3) return 0;
    ++injected;
    return roll == 0 ? EIO : roll == 1 ? ENOSPC : EDQUOT;
  };
  store_options options;
  options.path = dir.sub("store");
  options.faults = faults;

  std::mutex results_mutex;
  std::set<std::string> acked_objects;
  std::set<std::string> failed_objects;
  std::set<std::string> acked_statuses;
  std::set<std::string> failed_statuses;
  std::atomic<int> answers{0};
  collection_key c = 0;
  std::uint64_t failed_commits = 0;
  {
    auto store = object_store::open(options);
    REQUIRE(store);
    auto key = (*store)->collection("faults");
    REQUIRE(key);
    c = *key;
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        for (int n = 0; n < k_requests; ++n) {
          publish_request r;
          r.collection = c;
          r.publisher = "acme";
          std::vector<std::string> ids;
          for (int i = 0; i < k_objects; ++i) {
            ids.push_back(object_id(t, n * k_objects + i));
            r.objects.push_back(make_object(ids.back()));
          }
          r.status.id = status_id(t, n);
          r.status.owner = "acme";
          r.status.api_root = "sharing";
          r.status.request_timestamp = 1;
          auto answered = std::make_shared<std::promise<bool>>();
          auto done = answered->get_future();
          (*store)->publish(std::move(r),
                            [&, ids, answered, sid = status_id(t, n)](result<publish_outcome> out) {
                              {
                                std::lock_guard lock(results_mutex);
                                for (const auto& id : ids)
                                  (out ? acked_objects : failed_objects).insert(id);
                                (out ? acked_statuses : failed_statuses).insert(sid);
                              }
                              ++answers;
                              answered->set_value(out.has_value());
                            });
          // Some threads wait for their answer, some pipeline: batches mix.
          if (t % 2 == 0) done.wait();
        }
      });
    }
    for (auto& th : threads) th.join();
    (*store)->close();
    failed_commits = (*store)->stats().failed_commits;
  }
  REQUIRE(answers == k_threads * k_requests);
  CHECK(injected > 0);
  CHECK(failed_commits == static_cast<std::uint64_t>(injected.load()));
  CHECK(!acked_objects.empty());
  CHECK(!failed_objects.empty());

  // Reopened without faults: exactly the acknowledged objects and statuses.
  options.faults.reset();
  auto store = object_store::open(options);
  REQUIRE(store);
  const auto stored = stored_ids(**store, c);
  CHECK(stored == acked_objects);
  auto txn = (*store)->begin_read();
  std::size_t acked_status_missing = 0;
  std::size_t failed_status_present = 0;
  for (const auto& s : acked_statuses) acked_status_missing += !txn.status(s).has_value();
  for (const auto& s : failed_statuses) failed_status_present += txn.status(s).has_value();
  CHECK(acked_status_missing == 0);
  CHECK(failed_status_present == 0);
  WARN("commit faults: " << injected.load() << " injected failures, " << acked_objects.size()
                         << " objects acknowledged, " << failed_objects.size() << " refused");
}
