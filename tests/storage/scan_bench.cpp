// What a page costs a green partner over a collection of withheld (RED)
// versions, against an empty collection: the read path of the objects and
// manifest endpoints (begin a read txn, scan up to --limit versions the
// reader receives). Not a test: run by hand.
//
//   storage_scan_bench [--objects N] [--size BYTES] [--pages N] [--limit N] [--dir DIR]
//
// Two ways of reading are timed on the same store:
//   filter      every stored version read, the policy applied to each (how
//               the server read before the store kept levels apart; it gave
//               up after 200,000 versions examined)
//   visibility  read_txn::scan with the reader's visibility: only the levels
//               it may receive and its own versions are read

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <vector>

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

constexpr std::size_t k_max_examined = 200'000;  // the server's limit per page

struct page_result {
  std::size_t returned = 0;
  std::size_t read = 0;
  bool more = false;
};

page_result page(const object_store& store, collection_key c, bool use_visibility,
                 std::size_t limit) {
  const visibility green{formats::tlp_level::green, "partner"};
  page_result p;
  std::size_t examined = 0;
  auto txn = store.begin_read();
  auto take = [&](const object_record& r) {
    if (++examined > k_max_examined) {
      p.more = true;
      return false;
    }
    if (!use_visibility && r.tlp > green.max_level && r.publisher != green.publisher) return true;
    if (p.returned == limit) {
      p.more = true;
      return false;
    }
    ++p.returned;
    return true;
  };
  if (use_visibility) {
    txn.scan(c, 0, green, take);
  } else {
    txn.scan(c, 0, take);
  }
  p.read = txn.records_read();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t total = arg(argc, argv, "--objects", 200'000);
  const std::size_t size = arg(argc, argv, "--size", 800);
  const std::size_t pages = arg(argc, argv, "--pages", 50);
  const std::size_t limit = arg(argc, argv, "--limit", 1000);
  std::string dir = arg_text(argc, argv, "--dir", "");
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string pattern = "/var/tmp/cairn-scan-bench-XXXXXX";
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
  auto red = (*store)->collection("red");
  auto empty = (*store)->collection("empty");
  if (!red || !empty) return 1;

  std::mt19937_64 rng(7);
  std::size_t stored = 0;
  for (std::size_t done = 0; done < total; done += 1000) {
    publish_request r;
    r.collection = *red;
    r.publisher = "owner";
    for (std::size_t i = 0; i < 1000 && done + i < total; ++i) {
      new_object o;
      char id[80];
      std::snprintf(id, sizeof id, "indicator--%08llx-0000-4000-8000-%012llx",
                    static_cast<unsigned long long>(rng() & 0xffffffff),
                    static_cast<unsigned long long>(done + i));
      o.id = id;
      o.type = "indicator";
      o.version = "2026-11-01T00:00:00.000Z";
      o.spec_version = "2.1";
      o.tlp = formats::tlp_level::red;
      o.json = R"({"type":"indicator","id":")" + o.id + R"(","description":")";
      o.json.append(size > o.json.size() + 2 ? size - o.json.size() - 2 : 0, 'x');
      o.json += "\"}";
      r.objects.push_back(std::move(o));
    }
    std::promise<result<publish_outcome>> p;
    (*store)->publish(std::move(r),
                      [&](result<publish_outcome> out) { p.set_value(std::move(out)); });
    auto out = p.get_future().get();
    if (!out) {
      std::fprintf(stderr, "publish: %s\n", out.error().to_string().c_str());
      return 1;
    }
    stored += out->added;
  }
  std::printf(
      "collection of %zu RED versions (%zu bytes each), green reader, limit %zu, %zu pages\n",
      stored, size, limit, pages);

  for (const bool use_visibility : {false, true}) {
    for (const auto& [name, c] : {std::pair{"red", *red}, std::pair{"empty", *empty}}) {
      page_result last;
      page(**store, c, use_visibility, limit);  // warm
      const auto start = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < pages; ++i) last = page(**store, c, use_visibility, limit);
      const double us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count() /
          static_cast<double>(pages);
      std::printf(
          "%-10s %-5s collection: %10.1f us/page  (returned %zu, records read %zu, more %s)\n",
          use_visibility ? "visibility" : "filter", name, us, last.returned, last.read,
          last.more ? "true" : "false");
    }
  }
  store->reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
