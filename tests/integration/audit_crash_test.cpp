// Completeness of the sharing record under crashes: partners pull and
// publishers publish while cairnd is killed with SIGKILL at random moments
// and restarted. Every object version a client actually received must be in
// a pull record of that account, every acknowledged publish in a publish
// record, and the log must still verify.
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <tuple>

#include "formats/audit_record.hpp"
#include "formats/json.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

using received_set = std::set<std::tuple<std::string, std::string, std::string>>;
using version_set = std::set<std::pair<std::string, std::string>>;

// The restarts change the port: clients are made under a shared lock that
// the killer holds alone while it restarts the server.
struct crashing_server {
  test_server& srv;
  std::shared_mutex lock;

  std::optional<clients::taxii_client> client(const std::string& account) {
    std::shared_lock hold(lock);
    if (!srv.running()) return std::nullopt;
    auto o = srv.options(account);
    o.retries = 0;
    auto c = clients::taxii_client::make(o);
    if (!c) return std::nullopt;
    return std::move(*c);
  }
};

}  // namespace

TEST_CASE("audit under crashes: what clients received and published is always in the log") {
  server_setup setup = default_setup();
  setup.limits_json = R"("requests_per_second": 0, "page_size": 40)";
  test_server srv(setup);
  crashing_server cs{srv, {}};
  std::atomic<bool> done{false};
  std::mutex mutex;
  received_set received;     // account, id, version
  version_set acknowledged;  // id, version
  std::atomic<int> pages{0};
  std::atomic<int> publishes{0};

  auto publisher = [&](int seed) {
    std::mt19937 rng(seed);
    std::optional<clients::taxii_client> c;
    while (!done) {
      if (!c) c = cs.client("admin");
      if (!c) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::vector<std::string> objects;
      for (int i = 0, n = 1 + static_cast<int>(rng() % 20); i < n; ++i) {
        objects.push_back(make_indicator(random_stix_id("indicator"), "2026-02-01T00:00:00.000Z"));
      }
      auto st = c->add_objects("/api1/", "open", envelope(objects));
      if (!st) {
        c.reset();
        continue;
      }
      std::lock_guard hold(mutex);
      for (const auto& s : st->successes) acknowledged.emplace(s.id, s.version);
      ++publishes;
    }
  };

  auto puller = [&](const std::string& account) {
    std::optional<clients::taxii_client> c;
    std::string after;
    while (!done) {
      if (!c) c = cs.client(account);
      if (!c) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      clients::object_filters f;
      f.added_after = after;
      auto page = c->get_objects("/api1/", "open", f);
      if (!page) {
        c.reset();
        continue;
      }
      if (page->objects.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      std::lock_guard hold(mutex);
      for (const auto& o : page->objects) {
        auto d = formats::parse_json(o);  // no Catch assertions off the main thread
        if (!d) continue;
        received.emplace(account, std::string(d->root().get("id")->as_string()),
                         std::string(d->root().get("modified")->as_string()));
      }
      after = page->date_added_last;
      ++pages;
    }
  };

  std::vector<std::thread> workers;
  workers.emplace_back(publisher, 1);
  workers.emplace_back(publisher, 2);
  for (const char* a : {"reader", "bot", "admin"}) workers.emplace_back(puller, a);

  std::mt19937 rng(20261127);
  const int kills = 5;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + rng() % 900));
    std::unique_lock hold(cs.lock);
    CHECK(srv.stop(SIGKILL) == 128 + SIGKILL);
    srv.start();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  done = true;
  for (auto& t : workers) t.join();
  INFO("pages received " << pages << ", publishes acknowledged " << publishes);
  REQUIRE(pages > 0);
  REQUIRE(publishes > 0);

  // Read the whole log back as the auditor.
  auto auditor = srv.client("auditor");
  received_set recorded;
  version_set published;
  std::string next;
  for (int n = 0; n < 100000; ++n) {
    std::string target = "/cairn/v1/audit?limit=1000";
    if (!next.empty()) target += "&next=" + next;
    auto r = auditor.request("GET", target, {{"Accept", "application/json"}});
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto doc = formats::parse_json(r->body);
    REQUIRE(doc);
    auto records = doc->root().get("records");
    for (std::size_t i = 0; i < records->size(); ++i) {
      auto rec = formats::parse_audit_record(records->value_at(i));
      REQUIRE(rec);
      for (const auto& o : rec->objects) {
        if (rec->action == "pull") recorded.emplace(rec->account, o.id, o.version);
        if (rec->action == "publish") published.emplace(o.id, o.version);
      }
    }
    if (!doc->root().get("more")->as_bool()) break;
    next = std::string(doc->root().get("next")->as_string());
  }

  std::size_t missing_pulls = 0;
  for (const auto& r : received) missing_pulls += recorded.count(r) == 0;
  std::size_t missing_publishes = 0;
  for (const auto& v : acknowledged) missing_publishes += published.count(v) == 0;
  INFO(received.size() << " versions received, " << acknowledged.size() << " acknowledged");
  CHECK(missing_pulls == 0);
  CHECK(missing_publishes == 0);
  CHECK(received.size() > 0);

  // The killed server's log still verifies offline.
  REQUIRE(srv.stop(SIGTERM) == 0);
  const std::string cmd = std::string(CAIRN_BINARY_DIR) + "/server/cairnd audit verify --data " +
                          (srv.dir() / "data").string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[512];
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  INFO(out);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
