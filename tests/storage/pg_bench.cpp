// Publish and pull rates of the PostgreSQL store, through storage::store
// directly (no TLS, no HTTP): a fresh database on the server of
// CAIRN_TEST_PG, requests of --batch objects with --inflight requests queued
// at once, then pages of --page objects read by --pullers threads, each page
// with its pull record (--no-record: without). Not a test: run by hand.
//
//   CAIRN_TEST_PG='host=... port=... user=...' storage_pg_bench
//       [--objects N] [--batch N] [--inflight N] [--page N] [--pullers N] [--no-record]
//       [--nodes N]   (N stores on the one database, as N cairnd would be: requests and
//                      pullers go round-robin to them)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "formats/ed25519.hpp"
#include "storage/postgres_store.hpp"
#include "support/files.hpp"
#include "support/pg.hpp"
#include "support/temp_dir.hpp"

using namespace cairn;
using namespace cairn::storage;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t objects = 100'000, batch = 100, inflight = 16, page = 1000, pullers = 2, nodes = 1;
  bool with_record = true;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] { return i + 1 < argc ? std::strtoull(argv[++i], nullptr, 10) : 0ULL; };
    if (!std::strcmp(argv[i], "--objects"))
      objects = next();
    else if (!std::strcmp(argv[i], "--batch"))
      batch = next();
    else if (!std::strcmp(argv[i], "--inflight"))
      inflight = next();
    else if (!std::strcmp(argv[i], "--page"))
      page = next();
    else if (!std::strcmp(argv[i], "--pullers"))
      pullers = next();
    else if (!std::strcmp(argv[i], "--nodes"))
      nodes = next();
    else if (!std::strcmp(argv[i], "--no-record"))
      with_record = false;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!objects || !batch || !inflight || !page || !pullers || !nodes) return 2;
  auto conninfo = testing::fresh_pg_database("pg_bench");
  if (!conninfo) {
    std::fprintf(stderr, "%s\n", conninfo.error().message.c_str());
    return 1;
  }
  testing::temp_dir dir("cairn-pg-bench");
  auto key = formats::ed25519_key::generate().value();
  pg_store_options o;
  o.conninfo = *conninfo;
  o.key_path = (dir / "audit-signing.key").string();
  o.pool_size = static_cast<unsigned>(pullers + 1);
  testing::write_file(o.key_path, key.private_pem());
  if (auto init = pg_init_schema(o, key.public_pem()); !init) {
    std::fprintf(stderr, "%s\n", init.error().message.c_str());
    return 1;
  }
  std::vector<std::unique_ptr<store>> node_stores;
  for (std::size_t n = 0; n < nodes; ++n) {
    auto opened = open_pg_store(o);
    if (!opened) {
      std::fprintf(stderr, "%s\n", opened.error().message.c_str());
      return 1;
    }
    node_stores.push_back(std::move(*opened));
  }
  const collection_key c = node_stores[0]->collection("bench/one").value();
  for (auto& n : node_stores) n->collection("bench/one").value();

  // Publish: at most `inflight` requests queued at once.
  std::mutex m;
  std::condition_variable cv;
  std::size_t queued = 0, failed = 0;
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t sent = 0; sent < objects; sent += batch) {
    store& s = *node_stores[(sent / batch) % nodes];
    publish_request r;
    r.collection = c;
    r.publisher = "bench";
    for (std::size_t i = sent; i < std::min(objects, sent + batch); ++i) {
      char id[64];
      std::snprintf(id, sizeof id, "indicator--%08zx-0000-4000-8000-000000000000", i);
      new_object obj;
      obj.id = id;
      obj.type = "indicator";
      obj.version = "2026-01-01T00:00:00.000Z";
      obj.spec_version = "2.1";
      obj.tlp = formats::tlp_level::green;
      obj.json = std::string(R"({"type":"indicator","spec_version":"2.1","id":")") + id +
                 R"(","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",)"
                 R"("pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix",)"
                 R"("valid_from":"2026-01-01T00:00:00Z"})";
      r.objects.push_back(std::move(obj));
    }
    audit_entry e;
    e.account = "bench";
    e.api_root = "bench";
    e.collection = "one";
    e.status = 202;
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return queued < inflight; });
      ++queued;
    }
    s.publish(std::move(r), std::move(e), [&](result<publish_outcome> out) {
      std::lock_guard lock(m);
      if (!out) ++failed;
      --queued;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return queued == 0; });
  }
  const double publish_s = seconds_since(started);
  store_stats st;
  for (auto& n : node_stores) {
    st.commits += n->stats().commits;
    st.jobs += n->stats().jobs;
  }
  std::printf(
      "publish: %zu objects in %.2f s = %.0f objects/s (%zu per request, %zu in flight; "
      "%llu commits for %llu jobs; %zu failed; %zu nodes)\n",
      objects, publish_s, objects / publish_s, batch, inflight,
      static_cast<unsigned long long>(st.commits), static_cast<unsigned long long>(st.jobs), failed,
      nodes);

  // Pull: every puller pages through the whole collection.
  std::atomic<std::size_t> pulled{0};
  const auto pull_started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < pullers; ++p) {
    threads.emplace_back([&, p] {
      store& s = *node_stores[p % nodes];
      micros after = 0;
      for (;;) {
        audit_entry e;
        e.action = "pull";
        e.account = "reader";
        e.api_root = "bench";
        e.collection = "one";
        e.status = 200;
        e.key = c;
        std::size_t n = 0;
        {
          auto r = s.begin_read();
          r->scan(c, after, {}, [&](const object_record& v) {
            after = v.date_added;
            if (with_record) e.delivered.add(v.date_added, v.id, v.version);
            return ++n < page;
          });
        }
        if (n == 0) break;
        pulled += n;
        if (with_record) {
          std::promise<void> done;
          s.record(std::move(e), [&](result<std::uint64_t>) { done.set_value(); });
          done.get_future().wait();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double pull_s = seconds_since(pull_started);
  std::printf("pull: %zu objects in %.2f s = %.0f objects/s (%zu pullers, pages of %zu, %s)\n",
              pulled.load(), pull_s, pulled / pull_s, pullers, page,
              with_record ? "a pull record per page" : "no pull record");
  for (auto& n : node_stores) n->close();
  return 0;
}
