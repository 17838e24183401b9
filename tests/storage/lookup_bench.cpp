// What a lookup costs the LMDB store on a large collection: N indicators
// whose patterns compare one IPv4 address each (a value shared by a handful
// of them), some also a /24 network, then lookups of random stored addresses
// (an exact probe and 32 prefix probes each, the versions read, policy
// applied). Not a test: run by hand.
//
//   storage_lookup_bench [--objects N] [--lookups N] [--share N] [--dir DIR]
//
// Prints the time to store and index, and lookup latency percentiles.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "formats/observables.hpp"
#include "storage/object_store.hpp"

using namespace cairn;
using namespace cairn::storage;

namespace {

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

// The address of indicator i: `share` indicators share each address.
std::string address_of(std::size_t i, std::size_t share) {
  const std::size_t a = i / share;
  return "10." + std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 8) & 0xff) + "." +
         std::to_string(a & 0xff);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t total = arg(argc, argv, "--objects", 1'000'000);
  const std::size_t lookups = arg(argc, argv, "--lookups", 20'000);
  const std::size_t share = std::max<std::size_t>(1, arg(argc, argv, "--share", 4));
  std::string dir = arg_text(argc, argv, "--dir", "");
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string pattern = "/var/tmp/cairn-lookup-bench-XXXXXX";
    if (!::mkdtemp(pattern.data())) return 1;
    dir = pattern;
  }
  store_options options;
  options.path = dir + "/data";
  options.map_size = std::size_t{4} << 30;
  auto store = object_store::open(options);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().to_string().c_str());
    return 1;
  }
  auto c = (*store)->collection("indicators");
  if (!c) return 1;

  using clock = std::chrono::steady_clock;
  const auto load_start = clock::now();
  constexpr std::size_t batch = 2000;
  std::vector<std::future<result<publish_outcome>>> pending;
  for (std::size_t done = 0; done < total; done += batch) {
    publish_request r;
    r.collection = *c;
    r.publisher = "owner";
    for (std::size_t i = done; i < done + batch && i < total; ++i) {
      new_object o;
      char id[80];
      std::snprintf(id, sizeof id, "indicator--00000000-0000-4000-8000-%012llx",
                    static_cast<unsigned long long>(i));
      o.id = id;
      o.type = "indicator";
      o.version = "2026-01-01T00:00:00.000Z";
      o.spec_version = "2.1";
      o.tlp = i % 5 == 0 ? formats::tlp_level::red : formats::tlp_level::green;
      const std::string address = address_of(i, share);
      std::string pattern = "[ipv4-addr:value = '" + address + "']";
      if (i % 10 == 0) {
        pattern = "[ipv4-addr:value = '" + address + "' OR ipv4-addr:value = '" +
                  address.substr(0, address.rfind('.')) + ".0/24']";
      }
      o.json = R"({"type":"indicator","spec_version":"2.1","id":")" + o.id +
               R"(","pattern_type":"stix","pattern":")" + pattern +
               R"(","valid_from":"2026-01-01T00:00:00Z"})";
      o.observables = formats::observables_of(o.json);
      r.objects.push_back(std::move(o));
    }
    auto p = std::make_shared<std::promise<result<publish_outcome>>>();
    pending.push_back(p->get_future());
    (*store)->publish(std::move(r), [p](result<publish_outcome> out) { p->set_value(out); });
    if (pending.size() >= 8) {
      for (auto& f : pending) {
        if (!f.get()) {
          std::fprintf(stderr, "publish failed\n");
          return 1;
        }
      }
      pending.clear();
    }
  }
  for (auto& f : pending) {
    if (!f.get()) return 1;
  }
  const double load_s = std::chrono::duration<double>(clock::now() - load_start).count();
  std::printf("stored and indexed %zu indicators in %.1f s (%.0f/s)\n", total, load_s,
              static_cast<double>(total) / load_s);

  std::mt19937_64 rng(11);
  // Wall time, and the thread's CPU time (what a lookup costs apart from
  // waiting for a core on a busy machine).
  std::vector<double> micros_taken, cpu_taken;
  micros_taken.reserve(lookups);
  cpu_taken.reserve(lookups);
  auto cpu_now = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  };
  std::size_t matches = 0;
  const visibility green{formats::tlp_level::green, "partner"};
  const std::vector<collection_key> cs{*c};
  for (std::size_t n = 0; n < lookups; ++n) {
    const std::string address = address_of(rng() % total, share);
    const auto start = clock::now();
    const double cpu_start = cpu_now();
    auto txn = (*store)->begin_read();
    txn.lookup(cs, formats::observable_kind::ipv4, address, green,
               [&](const observable_hit&, const object_record&) {
                 ++matches;
                 return true;
               });
    cpu_taken.push_back(cpu_now() - cpu_start);
    micros_taken.push_back(std::chrono::duration<double, std::micro>(clock::now() - start).count());
  }
  std::sort(micros_taken.begin(), micros_taken.end());
  std::sort(cpu_taken.begin(), cpu_taken.end());
  auto pct = [&](const std::vector<double>& v, double p) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(lookups)))];
  };
  std::printf("%zu lookups, %.1f matches each: p50 %.1f us, p99 %.1f us, max %.1f us\n", lookups,
              static_cast<double>(matches) / static_cast<double>(lookups), pct(micros_taken, 0.50),
              pct(micros_taken, 0.99), micros_taken.back());
  std::printf("thread CPU time per lookup: p50 %.1f us, p99 %.1f us\n", pct(cpu_taken, 0.50),
              pct(cpu_taken, 0.99));
  (*store)->close();
  store->reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
