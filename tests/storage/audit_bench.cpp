// The sharing record at scale, run by hand (not a test): builds a store with
// many published objects and a log of many pull records (partners pulling
// the collection page by page, some versions withheld by policy), then
// reports the record rate, the disk used per million delivered versions, and
// how long "who received object X" takes.
//
//   storage_audit_bench [--records N] [--objects N] [--page N] [--dir DIR] [--verify]
//                       [--queries-only]   (on a DIR built before)
//
// Figures only; nothing is asserted.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "formats/json.hpp"
#include "storage/audit_verifier.hpp"
#include "storage/lmdb_store.hpp"

using namespace cairn;
using namespace cairn::storage;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::string object_id(std::uint64_t n) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "indicator--%08llx-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(n * 7 + 1));
  return buf;
}

struct version {
  micros position;
  std::string id;
  std::string version;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t records = 1'000'000;
  std::uint64_t objects = 200'000;
  std::uint64_t page = 100;
  bool verify = false;
  bool queries_only = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--records") {
      records = std::stoull(next());
    } else if (a == "--objects") {
      objects = std::stoull(next());
    } else if (a == "--page") {
      page = std::stoull(next());
    } else if (a == "--dir") {
      dir = next();
    } else if (a == "--verify") {
      verify = true;
    } else if (a == "--queries-only") {
      queries_only = true;
    } else {
      std::fprintf(stderr,
                   "usage: storage_audit_bench [--records N] [--objects N] [--page N] [--dir DIR] "
                   "[--verify]\n");
      return 2;
    }
  }
  bool remove_dir = false;
  if (dir.empty()) {
    char tmpl[] = "/tmp/cairn-audit-bench-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    dir = tmpl;
    remove_dir = true;
  }

  lmdb_store_options so;
  so.path = dir + "/store";
  so.key_path = dir + "/audit-signing.key";
  so.public_key_path = dir + "/audit-signing.pub";
  auto store = open_lmdb_store(so);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  const collection_key c = *(*store)->collection("bench/indicators");

  // Publish in batches of 1,000 (each with its publish record).
  auto t0 = clock_type::now();
  for (std::uint64_t b = 0; b < objects && !queries_only; b += 1000) {
    publish_request r;
    r.collection = c;
    r.publisher = "publisher";
    for (std::uint64_t i = b; i < std::min(objects, b + 1000); ++i) {
      new_object o;
      o.id = object_id(i);
      o.type = "indicator";
      o.version = "2026-01-01T00:00:00.000Z";
      o.spec_version = "2.1";
      o.tlp = i % 10 == 0 ? formats::tlp_level::red : formats::tlp_level::green;
      o.json = R"({"type":"indicator","spec_version":"2.1","id":")" + o.id +
               R"(","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",)"
               R"("pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix",)"
               R"("valid_from":"2026-01-01T00:00:00Z"})";
      r.objects.push_back(std::move(o));
    }
    audit_entry e;
    e.action = "publish";
    e.account = "publisher";
    e.remote = "127.0.0.1";
    e.api_root = "bench";
    e.collection = "indicators";
    e.status = 202;
    std::promise<void> done;
    auto f = done.get_future();
    (*store)->publish(std::move(r), std::move(e),
                      [&](result<publish_outcome>) { done.set_value(); });
    f.wait();
  }
  std::printf("published %llu objects in %.1f s\n", static_cast<unsigned long long>(objects),
              seconds_since(t0));

  std::vector<version> all;
  {
    auto txn = (*store)->begin_read();
    txn->scan(c, 0, visibility{}, [&](const object_record& r) {
      all.push_back({r.date_added, std::string(r.id), std::string(r.version)});
      return true;
    });
  }
  const std::size_t before = (*store)->stats().used_bytes;

  // Partners pull the collection from the start, page by page; one version
  // in ten (red) is withheld from all but the first partner of each hundred.
  std::mt19937_64 rng(42);
  std::uint64_t delivered = 0;
  std::uint64_t made = 0;
  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::uint64_t> failed{0};
  const std::uint64_t pages_per_partner = (all.size() + page - 1) / page;
  t0 = clock_type::now();
  for (std::uint64_t partner = 0; made < records && !queries_only; ++partner) {
    const std::string account = "partner-" + std::to_string(partner);
    const bool cleared = partner % 100 == 0;
    for (std::uint64_t p = 0; p < pages_per_partner && made < records; ++p) {
      audit_entry e;
      e.action = "pull";
      e.account = account;
      e.remote = "10.0." + std::to_string(partner % 250) + ".1";
      e.api_root = "bench";
      e.collection = "indicators";
      e.status = 200;
      e.key = c;
      for (std::uint64_t i = p * page; i < std::min<std::uint64_t>(all.size(), (p + 1) * page);
           ++i) {
        if (!cleared && i % 10 == 0) continue;  // objects are in publish order: i % 10 == 0 is red
        e.delivered.add(all[i].position, all[i].id, all[i].version);
        ++delivered;
      }
      ++made;
      (*store)->record(std::move(e), [&](result<std::uint64_t> s) {
        if (!s) ++failed;
        ++committed;
      });
      // Bound what is queued.
      while (made - committed.load() > 4096)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  while (committed.load() < made) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double build = seconds_since(t0);
  if (queries_only) made = *(*store)->audit_size();
  const std::size_t after = (*store)->stats().used_bytes;
  std::printf(
      "pull records: %llu (%llu failed) carrying %llu versions, in %.1f s = %.0f records/s, "
      "%.0f versions/s\n",
      static_cast<unsigned long long>(made), static_cast<unsigned long long>(failed.load()),
      static_cast<unsigned long long>(delivered), build, made / build, delivered / build);
  std::printf(
      "disk: %.1f MB for the pull records = %.2f MB per million delivered versions, "
      "%.0f bytes per record\n",
      (after - before) / 1e6, (after - before) / 1e6 / (delivered / 1e6),
      static_cast<double>(after - before) / static_cast<double>(made));

  // Who received X: the query's time, for objects picked at random.
  std::vector<double> lookup;
  std::vector<double> first_page;
  std::vector<double> full;
  std::size_t matched = 0;
  for (int i = 0; i < 30; ++i) {
    const auto& x = all[rng() % all.size()];
    audit_query q;
    q.object = x.id;
    q.action = "pull";
    // Finding every record that carried X, rendering only the first.
    q.limit = 1;
    auto t = clock_type::now();
    if (!(*store)->audit_records(q)) return 1;
    lookup.push_back(seconds_since(t) * 1000);
    q.limit = 100;
    t = clock_type::now();
    auto pg = (*store)->audit_records(q);
    first_page.push_back(seconds_since(t) * 1000);
    if (!pg) {
      std::fprintf(stderr, "query failed: %s\n", pg.error().message.c_str());
      return 1;
    }
    // Every page: the whole answer.
    t = clock_type::now();
    std::size_t n = 0;
    q.limit = max_audit_limit;
    for (;;) {
      auto more = (*store)->audit_records(q);
      if (!more) return 1;
      n += more->records.size();
      if (!more->more) break;
      q.after = more->resume;
    }
    full.push_back(seconds_since(t) * 1000);
    matched += n;
  }
  std::sort(lookup.begin(), lookup.end());
  std::printf("who received X, finding the records (limit=1): p50 %.1f ms, max %.1f ms\n",
              lookup[lookup.size() / 2], lookup.back());
  std::sort(first_page.begin(), first_page.end());
  std::sort(full.begin(), full.end());
  std::printf(
      "who received X (object=X&action=pull) on %llu pull records: first page of 100 "
      "records p50 %.1f ms, max %.1f ms; the whole answer (%.0f records on average) p50 "
      "%.1f ms, max %.1f ms\n",
      static_cast<unsigned long long>(made), first_page[first_page.size() / 2], first_page.back(),
      static_cast<double>(matched) / full.size(), full[full.size() / 2], full.back());

  (*store)->close();
  store->reset();
  if (verify) {
    auto pem = std::ifstream(dir + "/audit-signing.pub");
    std::string text((std::istreambuf_iterator<char>(pem)), {});
    t0 = clock_type::now();
    auto v = verify_audit_log(dir + "/store", text);
    std::printf("cairnd audit verify: %s, %llu records in %.1f s\n",
                v && v->intact ? "intact" : "NOT intact",
                static_cast<unsigned long long>(v ? v->records : 0), seconds_since(t0));
  }
  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}
