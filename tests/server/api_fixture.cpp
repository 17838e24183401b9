#include "api_fixture.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>

#include "formats/taxii.hpp"

namespace cairn::server::test {

formats::micros api_epoch() {
  static const formats::micros t = formats::parse_rfc3339("2026-11-27T10:00:00Z").value();
  return t;
}

api_fixture::api_fixture(const std::string& config_json) {
  auto cfg = parse_config(config_json, "/");
  if (!cfg) {
    for (const auto& p : cfg.error()) UNSCOPED_INFO(p.pointer << ": " << p.message);
  }
  REQUIRE(cfg);
  cfg->data_dir = dir_.path();
  storage::memory_store_options options;
  options.clock = [this] { return now.load(); };
  options.before_commit = [this] { return fault.exchange(0); };
  auto store = storage::memory_store::open(std::move(options));
  REQUIRE(store);
  store_ = store->get();
  auto opened = exchange::open(std::move(*cfg), log_, std::move(*store));
  REQUIRE(opened);
  ex_ = std::move(*opened);
  router_ = std::make_unique<router>(*ex_);
  // The config record is queued, not yet stored: wait for a write queued
  // after it (writes run in order), so that a test's first fault is its own.
  auto signed_ = std::make_shared<std::promise<void>>();
  store_->checkpoint_now([signed_](auto) { signed_->set_value(); });
  REQUIRE(signed_->get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
}

// The router goes before the exchange it uses; the exchange closes the store.
api_fixture::~api_fixture() {
  router_.reset();
  ex_.reset();
}

head_verdict api_fixture::judge(http::verb method, const std::string& target,
                                const std::string& token, const std::string& accept,
                                const std::string& content_type) {
  request_header h;
  h.method(method);
  h.target(target);
  h.version(11);
  if (!token.empty()) h.set(http::field::authorization, "Bearer " + token);
  if (!accept.empty()) h.set(http::field::accept, accept);
  if (!content_type.empty()) h.set(http::field::content_type, content_type);
  return router_->judge_head(h, k_api_peer);
}

response api_fixture::call(const api_request& r) {
  request req{r.method, r.target, 11};
  if (!r.token.empty()) req.set(http::field::authorization, "Bearer " + r.token);
  req.set(http::field::accept, std::string(formats::taxii_media_type));
  for (const auto& [name, value] : r.headers) req.set(name, value);
  if (!r.body.empty()) {
    req.set(http::field::content_type, std::string(formats::taxii_media_type));
    req.body() = r.body;
    req.prepare_payload();
  }
  auto verdict = router_->judge_head(req.base(), k_api_peer);
  if (verdict.refusal) return std::move(*verdict.refusal);
  // The transport refuses a longer body before handle() sees it.
  REQUIRE(req.body().size() <= verdict.body_limit);
  // The answer may come from the store's writer thread, and must come once.
  auto answered = std::make_shared<std::promise<response>>();
  auto future = answered->get_future();
  router_->handle(std::move(req), k_api_peer, std::move(verdict.context),
                  [answered](response res) { answered->set_value(std::move(res)); });
  // A guard against a hang, not a measurement.
  REQUIRE(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  return future.get();
}

}  // namespace cairn::server::test
