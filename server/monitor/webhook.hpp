#pragma once
// The alert webhook (INTERFACE.md, "Monitoring the exchange itself",
// monitoring.webhook): each alert is POSTed as alert_json() over HTTPS to
// the configured URL, with `Authorization: Bearer <token>` and
// `Content-Type: application/json`.
//
// Trust: the receiver's certificate must chain to `cacert` (a PEM file; the
// system's default trust paths when it is empty) and name the URL's host
// (SNI is sent for host names; the X509 host or IP check applies to both).
// A refused certificate means nothing is sent.
//
// Never blocking a request: on_alert() copies the alert into a bounded queue
// and returns; one thread of the sink's own (with its own io_context) sends
// them in order. A connection error, a timeout, a refused certificate, 5xx
// and 429 are retried with exponential back-off (the receiver's: consecutive
// failures double the wait up to a ceiling, a success resets it); an alert
// that has been tried max_attempts times or waited longer than max_age is
// dropped, as is one answered with any other 4xx, and one that finds the queue
// full. Each drop is counted (dropped()) and logged at warn with the alert's
// seq and kind. The token is never logged.
//
// stop() (and the destructor) gives the queue up to shutdown_grace to drain
// without further back-off, then abandons what is left (counted as dropped)
// and joins the thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "formats/error.hpp"
#include "server/config/log.hpp"
#include "server/monitor/alert.hpp"

namespace cairn::server {

// What the daemon fills from monitoring.webhook.
struct webhook_settings {
  std::string url;               // https://host[:port]/path[?query]
  std::filesystem::path cacert;  // PEM bundle; empty: the system's default paths
  std::string token;             // the bearer token itself (read_webhook_token)
};

// How hard the sink tries; the defaults suit production, tests shorten them.
struct webhook_tuning {
  std::size_t queue_capacity = 1000;
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
  unsigned max_attempts = 20;  // about 15 minutes of a receiver being down
  std::chrono::milliseconds max_age{3'600'000};
  std::chrono::milliseconds io_timeout{10'000};  // connect, handshake, request and answer
  std::chrono::milliseconds shutdown_grace{5000};
};

// The parts of a webhook URL. Only https is accepted.
struct webhook_url {
  std::string host;  // without brackets for an IPv6 literal
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
  bool host_is_ip = false;
};
result<webhook_url> parse_webhook_url(std::string_view url);

// The token in token_file: its first line, without the line end; refuses a
// missing or empty file and characters that cannot go in a header value.
// The error names the file, never its content.
result<std::string> read_webhook_token(const std::filesystem::path& token_file);

// The settings from the config's monitoring.webhook keys (cacert and
// token_file resolved like the config's other paths; empty token_file: no
// Authorization header): checks the URL and reads the token.
result<webhook_settings> make_webhook_settings(std::string url, std::filesystem::path cacert,
                                               const std::filesystem::path& token_file);

class webhook_sink final : public alert_sink {
 public:
  // Checks the URL and loads cacert (errors name what is wrong), then starts
  // the sending thread. log must outlive the sink.
  static result<std::unique_ptr<webhook_sink>> start(const webhook_settings& settings, logger& log,
                                                     webhook_tuning tuning = {});
  ~webhook_sink() override;
  webhook_sink(const webhook_sink&) = delete;
  webhook_sink& operator=(const webhook_sink&) = delete;

  // Queues the alert (or drops it when the queue is full); never waits on
  // the network.
  void on_alert(const alert& a) override;

  // Bounded: see the header comment. Idempotent.
  void stop();

  // Counters for the metrics (cairn_webhook_*): cheap, any thread.
  std::uint64_t delivered() const;
  std::uint64_t dropped() const;
  std::size_t queued() const;

  struct impl;

 private:
  explicit webhook_sink(std::unique_ptr<impl> m);
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::server
