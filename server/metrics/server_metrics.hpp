#pragma once
// The server's own metrics (INTERFACE.md, "Monitoring the exchange itself"):
// one registry and the families that the transport, the API and the store
// update. Parts that may run without metrics (tests, the API on its own)
// hold a nullable pointer to this.
//
// Label values come from bounded sets only: route names of the route table,
// the HTTP methods below, status codes, account names and collection ids of
// the config, alert kinds. No secret, no object id and no raw request path
// ever becomes a label.
//
// Thread-safe: every member may be updated from any thread (atomics only).

#include <chrono>
#include <string_view>

#include "server/metrics/registry.hpp"

namespace cairn::server {

// The route label of a request that matched no route (or was refused before
// its head could be read).
inline constexpr std::string_view k_no_route = "none";

class server_metrics {
 public:
  // Registers the families in r, which must outlive this.
  explicit server_metrics(registry& r);

  registry& metrics_registry() { return registry_; }

  // One HTTP request answered. route: the route table's name for it (or
  // k_no_route); method: the request's method (others than the usual ones
  // count as "other"); code: the response's status.
  void request_done(std::string_view route, std::string_view method, unsigned code,
                    std::chrono::steady_clock::duration took);

  // One TLS handshake finished (ok) or failed (including timeouts).
  void tls_handshake(bool ok) { (ok ? tls_ok_ : tls_failed_).inc(); }

  // objects new versions stored in a collection (its id).
  void published(std::string_view collection_id, std::uint64_t objects) {
    published_.with({collection_id}).inc(objects);
  }
  // objects delivered to an account (pull records' object versions).
  void delivered(std::string_view account, std::uint64_t objects) {
    delivered_.with({account}).inc(objects);
  }
  void auth_failure() { auth_failures_.inc(); }
  // An alert of this kind (one of the five; anything else counts as "other").
  void alert_raised(std::string_view kind);

  // One commit of the store's writer: how long it took and how many write
  // jobs it carried.
  void commit_done(double seconds, std::size_t jobs, bool ok);

 private:
  registry& registry_;
  family<counter>& requests_;
  family<histogram>& request_duration_;
  family<counter>& published_;
  family<counter>& delivered_;
  counter& auth_failures_;
  family<counter>& alerts_;
  family<counter>& tls_;
  counter& tls_ok_;
  counter& tls_failed_;
  histogram& commit_duration_;
  histogram& commit_batch_;
  counter& failed_commits_;
};

// The method label for a request method: GET, HEAD, POST, PUT, DELETE,
// OPTIONS, PATCH as they are, "other" for anything else.
std::string_view method_label(std::string_view method);

}  // namespace cairn::server
