#include "server/app/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "server/api/audit_service.hpp"
#include "server/api/exchange.hpp"
#include "server/api/router.hpp"
#include "server/transport/listener.hpp"
#include "server/transport/tls.hpp"

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
  graceful_stop(asio::io_context& io, listener& l, std::chrono::seconds timeout)
      : io_(io), listener_(l), timer_(io), timeout_(timeout) {}

  bool stopping() const { return stopping_; }
  void begin() {
    stopping_ = true;
    listener_.stop();
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
  const auto limits = cfg->limits;
  auto ex = exchange::open(std::move(*cfg), log);
  if (!ex) {
    log.error("store failed to open", {{"reason", ex.error().message}});
    return 1;
  }

  asio::io_context io;
  router handler(**ex);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen.host, ec);
  if (ec) {
    log.error("listen address is not an IP address", {{"host", listen.host}});
    return 2;
  }
  auto lst = listener::open(io, **tls, handler, {address, listen.port});
  if (!lst) {
    log.error("listen failed", {{"reason", lst.error().message}});
    return 1;
  }
  auto l = *lst;
  apply_limits(*l, limits);
  l->start();

  graceful_stop stop(io, *l, std::chrono::seconds(limits.shutdown_timeout_s));
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
  ex->reset();  // drains the writer: queued commits finish before exit
  log.info("stopped");
  return 0;
}

}  // namespace cairn::server
