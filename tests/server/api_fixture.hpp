#pragma once
// The API layer without TLS and without LMDB, for unit tests: an exchange on
// an in-memory store (storage/memory_store.hpp) with a clock and a commit
// fault the test sets, and its router, driven the way a session drives it
// (judge_head, then handle). The data folder holds only the page-token key.

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "formats/time.hpp"
#include "server/api/exchange.hpp"
#include "server/api/router.hpp"
#include "storage/memory_store.hpp"
#include "support/temp_dir.hpp"

namespace cairn::server::test {

// 2026-11-27T10:00:00Z: where the fixture's clock starts.
formats::micros api_epoch();

// One request as a client sends it: a bearer token when token is not empty,
// and for a body the TAXII media type.
struct api_request {
  http::verb method = http::verb::get;
  std::string target;
  std::string token;
  std::string body;
  // More header fields (set after the defaults above, so they may replace
  // Accept).
  std::vector<std::pair<http::field, std::string>> headers{};
};

class api_fixture {
 public:
  // config_json: a configuration as cairnd reads it (its data_dir is
  // replaced by a temporary folder).
  explicit api_fixture(const std::string& config_json);
  ~api_fixture();
  api_fixture(const api_fixture&) = delete;
  api_fixture& operator=(const api_fixture&) = delete;

  // The answer to one request: the head's refusal, or what handle() sends.
  // Fails the test when no answer comes.
  response call(const api_request& r);
  // The head's verdict alone.
  head_verdict judge(http::verb method, const std::string& target, const std::string& token,
                     const std::string& accept = {}, const std::string& content_type = {});

  // The store's clock: date_added and audit times (publishing's status
  // request_timestamp is the real time).
  std::atomic<formats::micros> now{api_epoch()};
  // An errno value that fails the next commit (ENOSPC, EIO, ...); 0: none.
  std::atomic<int> fault{0};

  storage::memory_store& store() { return *store_; }
  exchange& ex() { return *ex_; }

 private:
  cairn::testing::temp_dir dir_{"cairn-api"};
  std::ostringstream log_stream_;
  logger log_{log_stream_};
  storage::memory_store* store_ = nullptr;  // owned by ex_
  std::unique_ptr<exchange> ex_;
  std::unique_ptr<router> router_;
};

// The request's peer in every call.
inline const peer_info k_api_peer{"10.0.0.1", {}};

}  // namespace cairn::server::test
