#include "server/app/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "server/api/audit_service.hpp"
#include "server/api/exchange.hpp"
#include "server/api/router.hpp"
#include "server/metrics/metrics_listener.hpp"
#include "server/metrics/server_metrics.hpp"
#include "server/monitor/alert_metrics.hpp"
#include "server/monitor/webhook.hpp"
#include "server/transport/listener.hpp"
#include "server/transport/tls.hpp"
#include "storage/lmdb_options.hpp"

namespace cairn::server {

namespace asio = boost::asio;

namespace {

// The listener's share of the limits; a reload changes them too.
void apply_limits(listener& l, const limits_config& limits) {
  session_limits s;
  s.handshake_timeout = std::chrono::seconds(limits.handshake_timeout_s);
  s.idle_timeout = std::chrono::seconds(limits.idle_timeout_s);
  s.request_timeout = std::chrono::seconds(limits.request_timeout_s);
  s.max_header_bytes = limits.max_header_bytes;
  l.set_limits(s, limits.max_connections, limits.max_connections_per_address);
}

// The TLS context (certificate, client CA, CRL) is built once at start; say
// so rather than let an operator believe a new CRL is in force.
void warn_tls_is_not_reloaded(const tls_config& fresh, const tls_config& running, logger& log) {
  const bool verifies_clients = running.client_ca.has_value();
  if (fresh.cert != running.cert || fresh.key != running.key ||
      fresh.client_ca != running.client_ca || fresh.crl != running.crl || verifies_clients) {
    log.warn("tls settings and files are read at start only; restart to apply changes",
             {{"client_ca", fresh.client_ca ? fresh.client_ca->string() : ""},
              {"crl", fresh.crl ? fresh.crl->string() : ""}});
  }
}

// The store is opened once at start (and the database password read then).
void warn_storage_is_not_reloaded(const config& fresh, const config& running, logger& log) {
  if (fresh.storage != running.storage || fresh.data_dir != running.data_dir) {
    log.warn("storage settings and data_dir are read at start only; restart to apply changes");
  }
}

// The metrics listener is opened once at start.
void warn_metrics_are_not_reloaded(const config& fresh, const config& running, logger& log) {
  const auto& a = fresh.metrics.listen;
  const auto& b = running.metrics.listen;
  if (a.has_value() != b.has_value() || (a && (a->host != b->host || a->port != b->port))) {
    log.warn("metrics.listen is read at start only; restart to apply changes");
  }
}

// What is read when the metrics are scraped rather than counted as it
// happens: the store's sizes and queue, the audit log's length, the live
// connections. All point at objects that outlive every scrape (the io
// threads have stopped before any of them goes).
void add_scraped_metrics(registry& reg, const storage::store& store, const listener& l) {
  using t = metric_type;
  reg.add_callback("cairn_store_bytes",
                   "Bytes the embedded store's data takes (the map's used pages).", t::gauge,
                   [&store]() -> std::optional<double> {
                     const auto used = store.stats().used_bytes;
                     if (used == 0) return std::nullopt;  // a database server: not known here
                     return static_cast<double>(used);
                   });
  reg.add_callback("cairn_store_capacity_bytes",
                   "The embedded store's current map size; it grows up to storage.max_map_size.",
                   t::gauge, [&store]() -> std::optional<double> {
                     const auto cap = store.stats().capacity_bytes;
                     if (cap == 0) return std::nullopt;  // no map: a database server
                     return static_cast<double>(cap);
                   });
  reg.add_callback("cairn_store_write_queue_depth",
                   "Writes waiting for the store's writer (publishes, deletes, audit records).",
                   t::gauge,
                   [&store] { return static_cast<double>(store.stats().write_queue_depth); });
  reg.add_callback("cairn_store_map_resizes_total", "Times the embedded store's map grew.",
                   t::counter, [&store] { return static_cast<double>(store.stats().map_resizes); });
  reg.add_callback("cairn_audit_records_total", "Records in the audit log (the sharing record).",
                   t::counter, [&store]() -> std::optional<double> {
                     auto n = store.audit_size();
                     if (!n) return std::nullopt;  // the database is away: no sample
                     return static_cast<double>(*n);
                   });
  reg.add_callback("cairn_connections_open",
                   "Open connections to the TAXII listener (TLS sessions and those not yet "
                   "past their first byte).",
                   t::gauge, [&l] { return static_cast<double>(l.live_connections()); });
  reg.add_callback("cairn_sessions_open", "TLS sessions open on the TAXII listener.", t::gauge,
                   [&l] { return static_cast<double>(l.live_sessions()); });
}

// The webhook's counters (contrib/prometheus-alerts.yml watches the drops).
void add_webhook_metrics(registry& reg, const std::shared_ptr<webhook_sink>& hook) {
  using t = metric_type;
  reg.add_callback("cairn_webhook_delivered_total", "Alerts the webhook receiver accepted.",
                   t::counter, [hook] { return static_cast<double>(hook->delivered()); });
  reg.add_callback("cairn_webhook_dropped_total",
                   "Alerts the webhook gave up on (queue full, refused, or out of retries).",
                   t::counter, [hook] { return static_cast<double>(hook->dropped()); });
  reg.add_callback("cairn_webhook_queue_depth", "Alerts waiting for the webhook receiver.",
                   t::gauge, [hook] { return static_cast<double>(hook->queued()); });
}

// SIGHUP: a good config applies to the next request on every connection; a
// bad one is refused with a logged error and the old config stays.
void reload(const std::filesystem::path& config_path, exchange& ex, listener& l, logger& log) {
  auto fresh = load_config(config_path);
  if (!fresh) {
    log.error("config reload refused; the old config stays", {{"problems", fresh.error().message}});
    return;
  }
  const std::string sha = fresh->sha256;
  warn_tls_is_not_reloaded(fresh->tls, ex.current()->cfg->tls, log);
  warn_storage_is_not_reloaded(*fresh, *ex.current()->cfg, log);
  warn_metrics_are_not_reloaded(*fresh, *ex.current()->cfg, log);
  if (fresh->monitoring.webhook != ex.current()->cfg->monitoring.webhook) {
    log.warn("monitoring.webhook is read at start only; restart to apply changes");
  }
  const auto limits = fresh->limits;
  if (auto r = ex.apply(std::move(*fresh)); !r) {
    log.error("config reload failed; the old config stays", {{"reason", r.error().message}});
    return;
  }
  apply_limits(l, limits);
  log.info("config loaded", {{"path", config_path.string()}, {"sha256", sha}});
}

// SIGINT/SIGTERM: stop accepting, then stop io once every session has ended
// or the shutdown timeout has passed.
class graceful_stop {
 public:
  graceful_stop(asio::io_context& io, listener& l, std::chrono::seconds timeout,
                std::shared_ptr<metrics_listener> metrics)
      : io_(io), listener_(l), metrics_(std::move(metrics)), timer_(io), timeout_(timeout) {}

  bool stopping() const { return stopping_; }
  void begin() {
    stopping_ = true;
    listener_.stop();
    if (metrics_) metrics_->stop();
    deadline_ = std::chrono::steady_clock::now() + timeout_;
    wait_for_sessions();
  }

 private:
  void wait_for_sessions() {
    if (listener_.live_sessions() == 0 || std::chrono::steady_clock::now() >= deadline_) {
      io_.stop();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(20));
    timer_.async_wait([this](boost::system::error_code) { wait_for_sessions(); });
  }

  asio::io_context& io_;
  listener& listener_;
  std::shared_ptr<metrics_listener> metrics_;  // null: none
  asio::steady_timer timer_;
  std::chrono::seconds timeout_;
  std::chrono::steady_clock::time_point deadline_;
  bool stopping_ = false;
};

// Counted auth failures reach the log within one interval, even when no
// other event comes; the exchange writes the rest when it closes.
class audit_count_flusher {
 public:
  audit_count_flusher(asio::io_context& io, exchange& ex) : ex_(ex), timer_(io) { schedule(); }

 private:
  void schedule() {
    timer_.expires_after(audit_limiter::flush_interval);
    timer_.async_wait([this](boost::system::error_code e) {
      if (e) return;
      ex_.audit_limits().flush(ex_.store());
      schedule();
    });
  }

  exchange& ex_;
  asio::steady_timer timer_;
};

// Runs io on every core (at least two threads) until it stops.
void run_threads(asio::io_context& io) {
  const unsigned n_threads = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
}

}  // namespace

int serve(const std::filesystem::path& config_path, logger& log, const serve_hooks& hooks) {
  auto cfg = load_config(config_path);
  if (!cfg) {
    log.error("config refused", {{"problems", cfg.error().message}});
    return 2;
  }
  log.info("config loaded", {{"path", config_path.string()}, {"sha256", cfg->sha256}});
  auto tls = make_server_context(cfg->tls);
  if (!tls) {
    log.error("TLS setup failed", {{"reason", tls.error().message}});
    return 1;
  }
  const auto listen = cfg->listen;
  const auto metrics_listen = cfg->metrics.listen;
  const auto limits = cfg->limits;
  // Declared before the exchange, so that they outlive its store (whose
  // writer reports commits here until it stops).
  registry metrics_registry;
  server_metrics metrics(metrics_registry);
  // Counts alerts (cairn_alerts_total{kind}): the monitor's add_sink() takes
  // it once the monitor runs in the exchange.
  auto alert_counter = std::make_shared<alert_metrics>(metrics);
  auto ex = exchange::open(std::move(*cfg), log);
  if (!ex) {
    log.error("store failed to open", {{"reason", ex.error().message}});
    return 1;
  }
  (*ex)->set_metrics(&metrics);
  (*ex)->store().observe_commits([&metrics](const storage::commit_sample& c) {
    metrics.commit_done(c.seconds, c.jobs, c.ok);
  });
  (*ex)->watch().add_sink(alert_counter);
  if (const auto& st = (*ex)->current()->cfg->storage; st.backend == storage_backend::lmdb) {
    // The ceiling the map may grow to: store usage alerts divide by it.
    const double max_bytes =
        static_cast<double>(st.max_map_size.value_or(storage::lmdb_store_options{}.max_map_size));
    metrics_registry.add_callback("cairn_store_max_bytes",
                                  "The most the embedded store may take (storage.max_map_size).",
                                  metric_type::gauge, [max_bytes] { return max_bytes; });
  }
  // The alert webhook: started once, told of every alert after its record
  // is durable, stopped after the monitor (which tells it) has stopped.
  std::shared_ptr<webhook_sink> hook;
  if (const auto& w = (*ex)->current()->cfg->monitoring.webhook) {
    auto settings = make_webhook_settings(w->url, w->cacert.value_or(std::filesystem::path{}),
                                          w->token_file.value_or(std::filesystem::path{}));
    result<std::unique_ptr<webhook_sink>> started =
        settings ? webhook_sink::start(*settings, log)
                 : result<std::unique_ptr<webhook_sink>>(std::unexpected(settings.error()));
    if (!started) {
      log.error("monitoring.webhook cannot start", {{"reason", started.error().message}});
      return 2;
    }
    hook = std::move(*started);
    (*ex)->watch().add_sink(hook);
    add_webhook_metrics(metrics_registry, hook);
  }

  asio::io_context io;
  router handler(**ex);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen.host, ec);
  if (ec) {
    log.error("listen address is not an IP address", {{"host", listen.host}});
    return 2;
  }
  std::optional<asio::ip::address> metrics_address;
  if (metrics_listen) {
    metrics_address = asio::ip::make_address(metrics_listen->host, ec);
    if (ec) {
      log.error("metrics.listen address is not an IP address", {{"host", metrics_listen->host}});
      return 2;
    }
  }
  auto lst = listener::open(io, **tls, handler, {address, listen.port});
  if (!lst) {
    log.error("listen failed", {{"reason", lst.error().message}});
    return 1;
  }
  auto l = *lst;
  apply_limits(*l, limits);
  l->set_metrics(&metrics);
  add_scraped_metrics(metrics_registry, (*ex)->store(), *l);
  std::shared_ptr<metrics_listener> ml;
  if (metrics_address) {
    auto opened =
        metrics_listener::open(io, metrics_registry, {*metrics_address, metrics_listen->port});
    if (!opened) {
      log.error("metrics listen failed", {{"reason", opened.error().message}});
      return 1;
    }
    ml = *opened;
  }
  l->start();
  if (ml) {
    ml->start();
    log.info("metrics listening", {{"address", metrics_listen->host},
                                   {"port", static_cast<unsigned>(ml->port())},
                                   {"url", "http://" + metrics_listen->host + ":" +
                                               std::to_string(ml->port()) + "/metrics"}});
  }

  graceful_stop stop(io, *l, std::chrono::seconds(limits.shutdown_timeout_s), ml);
  audit_count_flusher flusher(io, **ex);
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code e, int sig) {
      if (e) return;
      if (sig == SIGHUP) {
        reload(config_path, **ex, *l, log);
        return wait_signal();
      }
      if (stop.stopping()) return;
      log.info("stopping", {{"signal", sig}});
      stop.begin();
    });
  };
  wait_signal();

  log.info("listening",
           {{"address", listen.host},
            {"port", static_cast<unsigned>(l->port())},
            {"url", "https://" + listen.host + ":" + std::to_string(l->port()) + "/taxii2/"}});
  if (hooks.on_listening) hooks.on_listening(l->port());

  run_threads(io);
  (*ex)->store().observe_commits({});
  (*ex)->watch().stop();  // its last alerts reach the webhook before the webhook stops
  if (hook) hook->stop();
  ex->reset();  // drains the writer: queued commits finish before exit
  log.info("stopped");
  return 0;
}

}  // namespace cairn::server
