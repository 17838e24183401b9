// Publish throughput of the object store: durable commits, requests of
// --batch objects of about --size bytes, --inflight requests queued at once
// (as concurrent publishers would), random UUIDv4 ids. Not a test: run by hand.
//
//   storage_publish_bench [--objects N] [--batch N] [--size BYTES] [--inflight N] [--dir DIR]
//                         [--every N]   (also print the rate of each N objects)
//                         [--levels N]  (TLP levels drawn at random from the first N, from
//                                        clear; default 1: every object TLP:GREEN)

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "formats/time.hpp"
#include "storage/object_store.hpp"

using namespace cairn;
using namespace cairn::storage;

namespace {

std::string random_uuid(std::mt19937_64& rng) {
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

new_object make_object(std::mt19937_64& rng, std::size_t size, std::size_t levels) {
  new_object o;
  o.id = "indicator--" + random_uuid(rng);
  o.type = "indicator";
  o.version = "2026-11-01T00:00:00.000Z";
  o.spec_version = "2.1";
  o.tlp = levels <= 1 ? formats::tlp_level::green
                      : static_cast<formats::tlp_level>(rng() % std::min<std::size_t>(levels, 5));
  o.json = R"({"type":"indicator","spec_version":"2.1","id":")" + o.id +
           R"(","created":"2026-11-01T00:00:00.000Z","modified":"2026-11-01T00:00:00.000Z",)"
           R"("pattern_type":"stix","pattern":"[ipv4-addr:value = '198.51.100.1']",)"
           R"("valid_from":"2026-11-01T00:00:00Z","description":")";
  while (o.json.size() + 2 < size) o.json += static_cast<char>('a' + rng() % 26);
  o.json += "\"}";
  return o;
}

std::size_t arg(int argc, char** argv, const char* name, std::size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

std::string arg_text(int argc, char** argv, const char* name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t total = arg(argc, argv, "--objects", 200'000);
  const std::size_t batch = arg(argc, argv, "--batch", 1000);
  const std::size_t size = arg(argc, argv, "--size", 800);
  const std::size_t inflight = arg(argc, argv, "--inflight", 4);
  const std::size_t every = arg(argc, argv, "--every", 0);
  const std::size_t levels = arg(argc, argv, "--levels", 1);
  std::string dir = arg_text(argc, argv, "--dir", "");
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string pattern = "/var/tmp/cairn-bench-XXXXXX";
    if (!::mkdtemp(pattern.data())) return 1;
    dir = pattern;
  }

  store_options options;
  options.path = dir + "/data";
  auto store = object_store::open(options);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().to_string().c_str());
    return 1;
  }
  auto c = (*store)->collection("bench");
  if (!c) return 1;

  std::mt19937_64 rng(42);
  std::vector<publish_request> requests;
  for (std::size_t done = 0; done < total; done += batch) {
    publish_request r;
    r.collection = *c;
    r.publisher = "bench";
    r.status.id = random_uuid(rng);
    r.status.owner = "bench";
    r.status.api_root = "sharing";
    for (std::size_t i = 0; i < batch && done + i < total; ++i) {
      r.objects.push_back(make_object(rng, size, levels));
    }
    requests.push_back(std::move(r));
  }

  std::mutex m;
  std::condition_variable cv;
  std::size_t running = 0;
  std::size_t added = 0;
  std::size_t failed = 0;
  const auto before = (*store)->stats();
  const auto start = std::chrono::steady_clock::now();
  auto segment_start = start;
  std::size_t segment_end = every;
  for (auto& r : requests) {
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return running < inflight; });
      ++running;
    }
    (*store)->publish(std::move(r), [&](result<publish_outcome> out) {
      std::lock_guard lock(m);
      --running;
      if (out) {
        added += out->added;
      } else {
        ++failed;
      }
      if (every && added >= segment_end) {
        const auto now = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(now - segment_start).count();
        std::printf("  objects %zu..%zu: %.0f objects/s\n", segment_end - every, segment_end,
                    every / s);
        segment_start = now;
        segment_end += every;
      }
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return running == 0; });
  }
  const double publish_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto after = (*store)->stats();

  std::size_t scanned = 0;
  std::size_t bytes = 0;
  const auto scan_start = std::chrono::steady_clock::now();
  {
    auto r = (*store)->begin_read();
    r.scan(*c, 0, [&](const object_record& rec) {
      ++scanned;
      bytes += rec.json.size();
      return true;
    });
  }
  const double scan_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scan_start).count();

  std::printf(
      "published %zu objects (%zu failed requests) in %.2f s: %.0f objects/s, %zu commits\n", added,
      failed, publish_s, added / publish_s, after.commits - before.commits);
  std::printf("scanned %zu objects (%.1f MB) in %.3f s: %.0f objects/s\n", scanned, bytes / 1e6,
              scan_s, scanned / scan_s);
  std::printf("store: %.1f MB used, map %.1f MB\n", (*store)->used_bytes() / 1e6,
              (*store)->map_size() / 1e6);
  store->reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return failed == 0 ? 0 : 1;
}
