#pragma once
// A small in-memory TAXII 2.1 server behind test_tls_server, for testing the
// `cairn` commands without cairnd: one API root "/api1/" with one collection
// (alias "ind"), Basic auth, paging by `next` or by `added_after` only, and
// knobs to inject faults (pending statuses, failed objects, dropped
// connections). Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/clients/test_tls_server.hpp"

namespace cairn::clients::testing {

inline constexpr const char* fake_collection_id = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

class fake_taxii {
 public:
  struct stored {
    std::int64_t date_added = 0;  // microseconds
    std::string id;
    std::string version;
    std::string json;
  };

  // Knobs (set before or between requests).
  std::atomic<std::int64_t> max_content_length{10 << 20};
  std::atomic<int> page_size{1000};
  std::atomic<bool> use_next{true};       // false: more without next (added_after paging)
  std::atomic<int> pending_polls{0};      // status answers pending this many times
  std::atomic<int> drop_pages_after{-1};  // >= 0: page requests beyond this many fail
  std::atomic<int> pages_served{0};
  std::function<void(int pages_served)> on_page;  // called after each page is built
  std::string user = "acme";
  std::string password = "pw";
  std::set<std::string> refuse_ids;  // POSTed objects with these ids fail

  test_reply handle(const test_request& req);

  std::vector<stored> objects() const;
  std::vector<std::size_t> post_sizes() const;  // body size of each POST
  void add_object(const std::string& json);     // as if posted
  // Query strings of /cairn/v1/audit, and of /cairn/v1/alerts after "alerts:".
  std::vector<std::string> audit_queries() const;

 private:
  test_reply objects_page(const test_request& req, const std::string& query);
  test_reply post(const test_request& req);
  void store(const std::string& id, const std::string& version, const std::string& json);

  mutable std::mutex mutex_;
  std::vector<stored> objects_;
  std::vector<std::size_t> post_sizes_;
  std::vector<std::string> audit_queries_;
  std::int64_t clock_ = 1'700'000'000'000'000;
  int status_polls_ = 0;
  std::string last_status_json_;
};

}  // namespace cairn::clients::testing
