// The HTTP request path as a session drives it, minus the socket: our raw
// head checks (server/transport/request_checks.hpp), Beast's parser with the session's
// limits, our framing checks, the body limit, then the router (authentication,
// negotiation, routing, policy, the TAXII endpoints) over a real store in a
// temporary directory. Invariant: every request that reaches the router gets
// exactly one response, in time.
#include <unistd.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

#include "server/api/exchange.hpp"
#include "server/api/router.hpp"
#include "server/config/config.hpp"
#include "server/config/credentials.hpp"
#include "server/config/log.hpp"
#include "server/transport/request_checks.hpp"

using namespace cairn::server;

namespace {

constexpr std::size_t k_max_header_bytes = 16 * 1024;

struct fixture {
  std::ostream null_out{nullptr};
  logger log{null_out, log_level::error};
  std::unique_ptr<exchange> ex;
  std::unique_ptr<router> handler;
  std::string dir;

  // Runs at exit (libFuzzer ends with exit()): the store closes, its
  // directory goes.
  ~fixture() {
    handler.reset();
    ex.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  fixture() {
    // /dev/shm keeps the store's fsyncs cheap.
    const char* base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    dir = std::string(base) + "/cairn-fuzz-XXXXXX";
    if (!::mkdtemp(dir.data())) std::abort();
    // At the cost hash-secret writes: the config refuses cheaper hashes.
    // Wrong passwords are throttled after a few KDF runs, so fuzzing stays fast.
    auto hash = hash_secret("fuzz-password", scrypt_params{});
    if (!hash) std::abort();
    // Accounts as the seeds use them: admin:fuzz-password (Basic) and a token.
    const std::string text = R"({"listen": "127.0.0.1:0", "data_dir": "data",
      "tls": {"cert": "server.pem", "key": "server.key"},
      "limits": {"page_size": 50, "max_content_length": 65536},
      "discovery": {"title": "Fuzz", "default": "api1"},
      "api_roots": {"api1": {"title": "Root", "collections": [
        {"id": "2f1e4c3a-9b8d-4e7f-a6b5-1c2d3e4f5a6b", "title": "Intel", "alias": "intel"},
        {"id": "3a2b1c0d-8e7f-4a6b-9c5d-2e3f4a5b6c7d", "title": "Open", "alias": "open",
         "default_tlp": "clear"}]}},
      "accounts": [
        {"name": "admin", "password_hash": ")" +
                             *hash + R"(", "read": ["*"], "write": ["*"],
         "clearance": "red", "auditor": true},
        {"name": "bot", "token_hashes": [")" +
                             token_hash("cairn_fuzz_token_0123456789abcdef") +
                             R"("], "read": ["intel"], "write": [], "clearance": "green"}]})";
    auto cfg = parse_config(text, dir);
    if (!cfg) std::abort();
    auto opened = exchange::open(std::move(*cfg), log);
    if (!opened) std::abort();
    ex = std::move(*opened);
    handler = std::make_unique<router>(*ex);
  }
};

fixture& get_fixture() {
  static fixture f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = get_fixture();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto end = find_head_end(bytes);
  if (!end || *end > k_max_header_bytes) return 0;  // session: wait, or 431
  const auto head = bytes.substr(0, *end);
  if (raw_head_problem(head)) return 0;  // session: 400

  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(k_max_header_bytes));
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec || !parser.is_header_done()) return 0;  // session: 400
  if (framing_problem(parser.get().base())) return 0;
  peer_info peer;
  peer.remote_address = "127.0.0.1";
  auto verdict = f.handler->judge_head(parser.get().base(), peer);
  if (verdict.refusal) {  // the session sends it and closes, the body unread
    const unsigned status = verdict.refusal->result_int();
    if (status < 400 || status > 599) std::abort();
    return 0;
  }
  const std::uint64_t limit = verdict.body_limit;
  if (auto declared = parser.content_length(); declared && *declared > limit) return 0;  // 413
  parser.body_limit(limit);
  auto chunk_check = [](std::uint64_t, boost::beast::string_view extension,
                        boost::beast::error_code& e) {
    if (chunk_extension_too_long({extension.data(), extension.size()})) {
      e = http::error::bad_chunk_extension;
    }
  };
  parser.on_chunk_header(chunk_check);
  parser.eager(true);
  auto body = bytes.substr(*end);
  while (!parser.is_done()) {
    const auto used = parser.put(boost::asio::buffer(body.data(), body.size()), ec);
    if (ec) return 0;  // incomplete (the session would wait) or malformed (400)
    body.remove_prefix(used);
    if (used == 0) return 0;
  }

  auto answered = std::make_shared<std::promise<response>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  f.handler->handle(parser.release(), peer, std::move(verdict.context),
                    [answered, calls](response res) {
                      if (calls->fetch_add(1) != 0) std::abort();  // a second response
                      answered->set_value(std::move(res));
                    });
  auto future = answered->get_future();
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) std::abort();
  const auto res = future.get();
  const unsigned status = res.result_int();
  if (status < 200 || status > 599) std::abort();
  return 0;
}
