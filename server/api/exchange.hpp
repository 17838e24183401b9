#pragma once
// The running exchange: the store (objects, statuses and the audit log, through
// the storage seam), the current configuration snapshot
// (swapped whole on reload, so a request sees one consistent config), and the
// secrets the server keeps in its data directory.
//
// Threading: current() from any thread; apply() from the control thread only.

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "formats/error.hpp"
#include "server/api/query.hpp"
#include "server/auth/accounts.hpp"
#include "server/auth/sessions.hpp"
#include "server/config/config.hpp"
#include "server/config/log.hpp"
#include "server/metrics/server_metrics.hpp"
#include "server/monitor/monitor.hpp"
#include "storage/control.hpp"
#include "storage/store.hpp"

namespace cairn::server {

class audit_limiter;  // server/api/audit_limits.hpp
class export_etags;   // server/api/export_etags.hpp

// The bodies of the resources that depend on the configuration alone,
// serialised once per snapshot rather than per request: discovery, each API
// root, and each collection for each combination of the caller's rights
// (exchange::apply builds them; the snapshot's config owns the keys).
struct resource_bodies {
  std::string discovery;
  std::unordered_map<const api_root_config*, std::string> api_roots;
  // Indexed by can_read * 2 + can_write.
  std::unordered_map<const collection_config*, std::array<std::string, 4>> collections;
};

struct snapshot {
  std::shared_ptr<const config> cfg;
  std::shared_ptr<const account_table> accounts;
  // "<api root>/<collection id>" -> store key
  std::map<std::string, storage::collection_key, std::less<>> keys;
  // account name -> account_fingerprint() of its entry: a console session
  // made under another fingerprint no longer authenticates.
  std::map<std::string, std::string, std::less<>> fingerprints;
  resource_bodies bodies;  // of *cfg

  std::optional<storage::collection_key> key_of(std::string_view root,
                                                std::string_view collection_id) const;
};

class exchange {
 public:
  // Opens the store cfg names (server/api/backend.hpp; the audit signing
  // key in cfg.data_dir/audit-signing.key) and its control store, and
  // applies cfg.
  static result<std::unique_ptr<exchange>> open(config cfg, logger& log);
  // The same with a store already open (the API tests pass an in-memory
  // one); cfg.data_dir holds the page-token key. Without a control store,
  // suspensions by alerts last until the exchange closes.
  static result<std::unique_ptr<exchange>> open(
      config cfg, logger& log, std::unique_ptr<storage::store> store,
      std::unique_ptr<storage::control_store> control = nullptr, monitor::options watch = {});
  ~exchange();

  std::shared_ptr<const snapshot> current() const {
    std::lock_guard lock(current_mutex_);
    return current_;
  }

  // Builds a snapshot from cfg (assigning store keys to new collections) and
  // makes it current, and records the load (a config record with the file's
  // SHA-256). Requests already running keep the old one. Console sessions of
  // accounts removed or changed end.
  result<void> apply(config cfg);

  storage::store& store() { return *store_; }
  audit_limiter& audit_limits() { return *audit_limits_; }
  export_etags& export_cache() { return *export_cache_; }
  // The detectors and the suspensions (server/monitor/monitor.hpp).
  server::monitor& watch() { return *monitor_; }
  // The console's sessions (server/auth/sessions.hpp).
  session_store& sessions() { return *sessions_; }
  const page_token_codec& tokens() const { return *tokens_; }
  logger& log() { return log_; }
  // Where publishes, deliveries and failed authentications are counted
  // (null: nowhere). Set before serving; m must outlive the exchange's use.
  void set_metrics(server_metrics* m) { metrics_ = m; }
  server_metrics* metrics() const { return metrics_; }

 private:
  explicit exchange(logger& log);  // out of line: audit_limiter is incomplete here
  logger& log_;
  // Declared before the store: stopped before the store closes (its last
  // alerts need the store), destroyed after it (the store's last callbacks
  // may still tell it of records).
  std::unique_ptr<server::monitor> monitor_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<audit_limiter> audit_limits_;
  std::unique_ptr<export_etags> export_cache_;
  std::unique_ptr<page_token_codec> tokens_;
  std::unique_ptr<session_store> sessions_ = std::make_unique<session_store>();
  // A mutex, not std::atomic<std::shared_ptr>: g++ 12's atomic shared_ptr
  // takes a lock ThreadSanitizer cannot see, which it reports as a race on
  // every reload. The critical section is one reference count.
  mutable std::mutex current_mutex_;
  std::shared_ptr<const snapshot> current_;
  server_metrics* metrics_ = nullptr;
};

// Reads the secret file at path (creating it with 32 random bytes, mode 0600,
// when missing).
result<std::string> load_or_create_secret(const std::string& path);

}  // namespace cairn::server
