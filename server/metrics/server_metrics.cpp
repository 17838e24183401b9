#include "server/metrics/server_metrics.hpp"

#include <array>

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "unknown"
#endif

namespace cairn::server {

namespace {

constexpr std::array<std::string_view, 7> k_methods = {"GET",    "HEAD",    "POST", "PUT",
                                                       "DELETE", "OPTIONS", "PATCH"};

// The five kinds of server/monitor/alert.hpp (that header is in a later
// part; the monitor's sink checks the two lists agree in its tests).
constexpr std::array<std::string_view, 5> k_alert_kinds = {
    "auth-failure-burst", "denied-burst", "new-address", "volume", "suspended-use"};

// Status codes as label values without allocating on the request path.
std::string_view code_label(unsigned code, std::array<char, 4>& buf) {
  if (code < 100 || code > 999) return "other";
  buf[0] = static_cast<char>('0' + code / 100);
  buf[1] = static_cast<char>('0' + code / 10 % 10);
  buf[2] = static_cast<char>('0' + code % 10);
  return std::string_view(buf.data(), 3);
}

}  // namespace

std::string_view method_label(std::string_view method) {
  for (auto m : k_methods) {
    if (m == method) return m;
  }
  return "other";
}

server_metrics::server_metrics(registry& r)
    : registry_(r),
      requests_(r.counter_family("cairn_http_requests_total",
                                 "HTTP requests answered, by route, method and status code.",
                                 {"route", "method", "code"}, 2048)),
      request_duration_(r.histogram_family(
          "cairn_http_request_duration_seconds",
          "Time from the first byte of a request to its response being handed to the connection.",
          {"route"}, latency_buckets(), 64)),
      published_(r.counter_family("cairn_objects_published_total",
                                  "Object versions stored by publishes, by collection id.",
                                  {"collection"}, 4096)),
      delivered_(r.counter_family(
          "cairn_objects_delivered_total",
          "Object versions delivered to accounts (as recorded in pull records), by account.",
          {"account"}, 8192)),
      auth_failures_(r.add_counter("cairn_auth_failures_total",
                                   "Failed authentications (wrong or unknown credentials, "
                                   "unusable Authorization headers, throttled attempts).")),
      alerts_(r.counter_family("cairn_alerts_total", "Alerts raised by the monitor, by kind.",
                               {"kind"}, 16)),
      tls_(r.counter_family("cairn_tls_handshakes_total",
                            "TLS handshakes on the TAXII listener, by result (ok or failed).",
                            {"result"}, 2)),
      tls_ok_(tls_.with({"ok"})),
      tls_failed_(tls_.with({"failed"})),
      commit_duration_(r.add_histogram(
          "cairn_commit_duration_seconds",
          "Duration of the store writer's commits (one transaction for a batch of writes).",
          latency_buckets())),
      commit_batch_(r.add_histogram("cairn_commit_batch_size",
                                    "Write jobs (publishes, deletes, audit records) per commit.",
                                    batch_buckets())),
      failed_commits_(r.add_counter("cairn_commit_failures_total",
                                    "Commits of the store writer that failed.")) {
  for (auto kind : k_alert_kinds) alerts_.with({kind});
  r.gauge_family("cairn_build_info", "The running cairnd's version (the value is always 1).",
                 {"version"}, 1)
      .with({CAIRN_VERSION})
      .set(1);
}

void server_metrics::request_done(std::string_view route, std::string_view method, unsigned code,
                                  std::chrono::steady_clock::duration took) {
  if (route.empty()) route = k_no_route;
  std::array<char, 4> buf{};
  requests_.with({route, method_label(method), code_label(code, buf)}).inc();
  request_duration_.with({route}).observe(std::chrono::duration<double>(took).count());
}

void server_metrics::alert_raised(std::string_view kind) {
  for (auto k : k_alert_kinds) {
    if (k == kind) return alerts_.with({k}).inc();
  }
  alerts_.with({"other"}).inc();
}

void server_metrics::commit_done(double seconds, std::size_t jobs, bool ok) {
  commit_duration_.observe(seconds);
  commit_batch_.observe(static_cast<double>(jobs));
  if (!ok) failed_commits_.inc();
}

}  // namespace cairn::server
