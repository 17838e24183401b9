// Concurrent publish and pull against one cairnd, with config reloads in the
// middle: the workload for the ThreadSanitizer build (scripts/tsan.sh), and a
// plain correctness check in every other build. The server's own sanitizer
// reports land in its log (stderr), which must hold none; the test process's
// reports fail the test through the sanitizer's exit code.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

const std::string k_root = "/api1/";

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

}  // namespace

TEST_CASE("stress: concurrent publishers, pullers and reloads", "[stress]") {
  const bool long_form = env_int("CAIRN_LONG", 0) != 0;
  const int publishers = 6;
  const int pullers = 4;
  const int requests = env_int("CAIRN_STRESS_REQUESTS", long_form ? 200 : 25);
  const int per_request = 8;
  auto setup = default_setup();
  setup.limits_json = R"("page_size": 20)";
  test_server srv(setup);

  std::atomic<int> publishers_done{0};
  std::atomic<int> failures{0};
  std::mutex error_mutex;
  std::string first_error;
  auto note = [&](const std::string& what) {
    ++failures;
    std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = what;
  };
  std::atomic<long> pulled{0};
  std::mutex acked_mutex;
  std::set<std::string> acked;
  std::vector<std::thread> threads;
  // Made before the threads start: reload() rewrites the setup they come from.
  const clients::client_options publisher_options[] = {srv.options("bot"), srv.options("admin")};
  const clients::client_options puller_options[] = {srv.options("admin"), srv.options("reader")};

  for (int p = 0; p < publishers; ++p) {
    threads.emplace_back([&, p] {
      auto c = clients::taxii_client::make(publisher_options[p % 2]);
      if (!c) {
        note(c.error().message);
        ++publishers_done;
        return;
      }
      for (int r = 0; r < requests; ++r) {
        std::vector<std::string> objs;
        std::vector<std::string> ids;
        for (int i = 0; i < per_request; ++i) {
          ids.push_back(random_stix_id("indicator"));
          objs.push_back(make_indicator(ids.back(), "2021-05-01T00:00:00.000Z"));
        }
        auto s = c->add_objects(k_root, "intel", envelope(objs));
        if (!s || s->success_count != per_request) {
          note(s ? s->json : s.error().message);
          continue;
        }
        std::lock_guard lock(acked_mutex);
        acked.insert(ids.begin(), ids.end());
      }
      ++publishers_done;
    });
  }
  for (int p = 0; p < pullers; ++p) {
    threads.emplace_back([&, p] {
      auto c = clients::taxii_client::make(puller_options[p % 2]);
      if (!c) {
        note(c.error().message);
        return;
      }
      while (publishers_done < publishers) {
        clients::object_filters f;
        f.limit = 20;
        for (int page = 0; page < 20; ++page) {
          bool more = false;
          std::string next;
          if (p % 3 == 0) {
            auto m = c->manifest(k_root, "intel", f);
            if (!m) {
              note(m.error().message);
              break;
            }
            more = m->more;
            next = m->next;
          } else {
            auto e = c->get_objects(k_root, "intel", f);
            if (!e) {
              note(e.error().message);
              break;
            }
            pulled += static_cast<long>(e->objects.size());
            more = e->more;
            next = e->next;
          }
          if (!more) break;
          f.next = next;
        }
        if (auto l = c->collections(k_root); !l) note(l.error().message);
      }
    });
  }
  // Reloads while all that runs: the config snapshot is swapped under load.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto offset = srv.log_text().size();
    srv.reload(setup);
    CHECK(srv.wait_for_log("config loaded", offset));
  }
  for (auto& t : threads) t.join();
  INFO("first failure: " << first_error);
  // A server that stopped under load says why in its log (a sanitizer report).
  INFO("server log:\n" << (failures == 0 ? std::string("(not shown)") : srv.log_text()));
  CHECK(failures == 0);
  CHECK(static_cast<int>(acked.size()) == publishers * requests * per_request);

  // Every acknowledged object can be read back.
  auto admin = srv.client("admin");
  std::set<std::string> stored;
  clients::object_filters f;
  f.limit = 20;
  for (;;) {
    auto m = admin.manifest(k_root, "intel", f);
    REQUIRE(m);
    for (const auto& e : m->objects) stored.insert(e.id);
    if (!m->more) break;
    f.next = m->next;
  }
  for (const auto& id : acked) CHECK(stored.count(id) == 1);

  const int exit_status = srv.stop(SIGTERM);
  const auto log = srv.log_text();
  CHECK(log.find("ThreadSanitizer") == std::string::npos);
  CHECK(log.find("AddressSanitizer") == std::string::npos);
  CHECK(log.find("runtime error") == std::string::npos);
  CHECK(exit_status == 0);
  WARN("stress: " << acked.size() << " objects published by " << publishers << " threads, "
                  << pulled.load() << " objects pulled by " << pullers << " threads");
}
