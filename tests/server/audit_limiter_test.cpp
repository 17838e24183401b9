// The auth-failure budget: failures beyond it are counted, and each flush
// writes the counts as counter records that name the accounts they count.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "formats/audit_record.hpp"
#include "formats/json.hpp"
#include "server/api/audit_service.hpp"
#include "tests/storage/audit_fixture.hpp"
#include "tests/storage/temp_dir.hpp"

using namespace cairn;
using namespace cairn::server;
using cairn::storage::testing::audit_fixture;
using cairn::storage::testing::temp_dir;
using namespace std::chrono_literals;

namespace {

// Every record once n are in the log (the limiter writes without waiting).
std::vector<formats::audit_record> records_once(storage::store& log, std::uint64_t n) {
  for (int i = 0; i < 500 && *log.audit_size() < n; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(*log.audit_size() == n);
  storage::audit_query q;
  q.limit = 1000;
  auto page = log.audit_records(q);
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

using counts = std::map<std::string, std::uint64_t>;

}  // namespace

// Before: flush() wrote only the windows whose minute had ended, and a
// counter held a number without any account name.
TEST_CASE("audit limiter: each flush writes what was counted, naming the accounts") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  auth_failure_budget budget;
  budget.per_address = 2;
  budget.max_named = 2;
  audit_limiter limiter(budget);
  const auto t0 = audit_limiter::clock::now();
  const std::string a = "192.0.2.1";
  limiter.auth_failure(fx.seam(), a, "alice", 401, t0);
  limiter.auth_failure(fx.seam(), a, "", 401, t0);  // the budget: written one by one
  limiter.auth_failure(fx.seam(), a, "alice", 401, t0 + 1s);
  limiter.auth_failure(fx.seam(), a, "bob", 401, t0 + 1s);
  limiter.auth_failure(fx.seam(), a, "", 401, t0 + 1s);       // no known name
  limiter.auth_failure(fx.seam(), a, "carol", 429, t0 + 2s);  // a third name: under "*"
  limiter.auth_failure(fx.seam(), a, "bob", 401, t0 + 2s);
  limiter.auth_failure(fx.seam(), a, std::string(65, 'x'), 401, t0 + 2s);  // too long: "*"

  // Within the minute, with no further failure.
  limiter.flush(fx.seam(), t0 + 5s);
  auto records = records_once(fx.seam(), 3);
  CHECK(records[0].account == "alice");
  CHECK(records[0].suppressed == 0);
  CHECK(records[1].account.empty());
  const auto& counter = records[2];
  CHECK(counter.action == "auth-failure");
  CHECK(counter.remote == a);
  CHECK(counter.account.empty());
  CHECK(counter.suppressed == 6);
  CHECK(counter.accounts == counts{{"alice", 1}, {"bob", 2}, {"*", 2}});
  CHECK(counter.status == 401);  // the last one's

  // Nothing new, nothing written; new failures in the same minute are
  // counted again (the budget is spent) and written at the next flush.
  limiter.flush(fx.seam(), t0 + 10s);
  limiter.auth_failure(fx.seam(), a, "bob", 401, t0 + 11s);
  limiter.flush(fx.seam(), t0 + 15s);
  records = records_once(fx.seam(), 4);
  CHECK(records[3].suppressed == 1);
  CHECK(records[3].accounts == counts{{"bob", 1}});

  // A new minute: the budget is back.
  limiter.auth_failure(fx.seam(), a, "bob", 401, t0 + 61s);
  limiter.flush(fx.seam(), t0 + 65s);
  records = records_once(fx.seam(), 5);
  CHECK(records[4].suppressed == 0);
  CHECK(records[4].account == "bob");

  // The account filter finds the counters that name the account.
  storage::audit_query q;
  q.account = "bob";
  auto page = fx.seam().audit_records(q);
  REQUIRE(page);
  CHECK(page->records.size() == 3);  // two counters and the one written at +61 s
}

TEST_CASE("audit limiter: a flush writes a bounded number of counter records") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  auth_failure_budget budget;
  budget.per_address = 0;  // everything is counted
  budget.max_counters = 2;
  budget.max_addresses = 4;
  audit_limiter limiter(budget);
  const auto t0 = audit_limiter::clock::now();
  // Failures per address: .1 x3, .2 x2, .3 x1, .4 x1, then .5 and .6 beyond
  // the table (shared "*" window).
  int n = 0;
  for (auto [address, times] : std::vector<std::pair<std::string, int>>{{"192.0.2.1", 3},
                                                                        {"192.0.2.2", 2},
                                                                        {"192.0.2.3", 1},
                                                                        {"192.0.2.4", 1},
                                                                        {"192.0.2.5", 1},
                                                                        {"192.0.2.6", 1}}) {
    for (int i = 0; i < times; ++i) {
      limiter.auth_failure(fx.seam(), address, "acct" + std::to_string(n++ % 3), 401, t0);
    }
  }
  limiter.flush(fx.seam(), t0 + 5s);
  auto records = records_once(fx.seam(), 3);
  std::map<std::string, std::uint64_t> by_remote;
  std::uint64_t total = 0;
  for (const auto& r : records) {
    by_remote[r.remote] += r.suppressed;
    total += r.suppressed;
    std::uint64_t named = 0;
    for (const auto& [name, k] : r.accounts) named += k;
    CHECK(named == r.suppressed);
  }
  CHECK(by_remote == counts{{"192.0.2.1", 3}, {"192.0.2.2", 2}, {"*", 4}});
  CHECK(total == 9);
}

// Before: the budget was kept per full address, so six addresses of one IPv6
// /64 got six records written one by one (and a rotating client one budget
// per address); now they share the budget of their /64.
TEST_CASE("audit limiter: IPv6 addresses of one /64 share one budget") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  auth_failure_budget budget;
  budget.per_address = 2;
  audit_limiter limiter(budget);
  const auto t0 = audit_limiter::clock::now();
  for (int i = 1; i <= 6; ++i) {
    limiter.auth_failure(fx.seam(), "2001:db8:1:2::" + std::to_string(i), "alice", 401, t0);
  }
  limiter.auth_failure(fx.seam(), "2001:db8:1:3::1", "alice", 401, t0);  // another /64
  limiter.flush(fx.seam(), t0 + 5s);
  auto records = records_once(fx.seam(), 4);
  CHECK(records[0].remote == "2001:db8:1:2::1");  // written ones keep the full address
  CHECK(records[1].remote == "2001:db8:1:2::2");
  CHECK(records[2].remote == "2001:db8:1:3::1");
  CHECK(records[3].remote == "2001:db8:1:2::/64");
  CHECK(records[3].suppressed == 4);
  CHECK(records[3].accounts == counts{{"alice", 4}});
}
