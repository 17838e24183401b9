#include "server/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "server/audit_service.hpp"
#include "server/exchange.hpp"
#include "server/listener.hpp"
#include "server/router.hpp"
#include "server/tls.hpp"

namespace cairn::server {

namespace asio = boost::asio;

namespace {

session_limits limits_of(const config& cfg) {
  session_limits l;
  l.handshake_timeout = std::chrono::seconds(cfg.limits.handshake_timeout_s);
  l.idle_timeout = std::chrono::seconds(cfg.limits.idle_timeout_s);
  l.request_timeout = std::chrono::seconds(cfg.limits.request_timeout_s);
  l.max_header_bytes = cfg.limits.max_header_bytes;
  return l;
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
  const auto limits = limits_of(*cfg);
  const auto max_connections = cfg->limits.max_connections;
  const auto per_address = cfg->limits.max_connections_per_address;
  const auto shutdown_timeout = std::chrono::seconds(cfg->limits.shutdown_timeout_s);
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
  l->set_limits(limits, max_connections, per_address);
  l->start();

  bool stopping = false;
  asio::steady_timer drain_timer(io);
  auto deadline = std::chrono::steady_clock::now();
  std::function<void()> drain = [&] {
    if (l->live_sessions() == 0 || std::chrono::steady_clock::now() >= deadline) {
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](boost::system::error_code) { drain(); });
  };

  // Counted auth failures reach the log within one interval, even when no
  // other event comes; the exchange writes the rest when it closes.
  asio::steady_timer audit_flush_timer(io);
  std::function<void()> flush_audit_counts = [&] {
    audit_flush_timer.expires_after(audit_limiter::flush_interval);
    audit_flush_timer.async_wait([&](boost::system::error_code e) {
      if (e) return;
      (*ex)->audit_limits().flush((*ex)->store());
      flush_audit_counts();
    });
  };
  flush_audit_counts();

  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code e, int sig) {
      if (e) return;
      if (sig == SIGHUP) {
        auto fresh = load_config(config_path);
        if (!fresh) {
          log.error("config reload refused; the old config stays",
                    {{"problems", fresh.error().message}});
        } else {
          const std::string sha = fresh->sha256;
          // The TLS context (certificate, client CA, CRL) is built once at
          // start; say so rather than let an operator believe a new CRL is
          // in force.
          const auto before = (*ex)->current();
          const auto& running = before->cfg->tls;
          const bool verifies_clients = running.client_ca.has_value();
          if (fresh->tls.cert != running.cert || fresh->tls.key != running.key ||
              fresh->tls.client_ca != running.client_ca || fresh->tls.crl != running.crl ||
              verifies_clients) {
            log.warn("tls settings and files are read at start only; restart to apply changes",
                     {{"client_ca", fresh->tls.client_ca ? fresh->tls.client_ca->string() : ""},
                      {"crl", fresh->tls.crl ? fresh->tls.crl->string() : ""}});
          }
          auto new_limits = limits_of(*fresh);
          const auto new_max = fresh->limits.max_connections;
          const auto new_per_address = fresh->limits.max_connections_per_address;
          if (auto r = (*ex)->apply(std::move(*fresh)); !r) {
            log.error("config reload failed; the old config stays",
                      {{"reason", r.error().message}});
          } else {
            l->set_limits(new_limits, new_max, new_per_address);
            log.info("config loaded", {{"path", config_path.string()}, {"sha256", sha}});
          }
        }
        return wait_signal();
      }
      if (stopping) return;
      stopping = true;
      log.info("stopping", {{"signal", sig}});
      l->stop();
      deadline = std::chrono::steady_clock::now() + shutdown_timeout;
      drain();
    });
  };
  wait_signal();

  log.info("listening",
           {{"address", listen.host},
            {"port", static_cast<unsigned>(l->port())},
            {"url", "https://" + listen.host + ":" + std::to_string(l->port()) + "/taxii2/"}});
  if (hooks.on_listening) hooks.on_listening(l->port());

  const unsigned n_threads = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  ex->reset();  // drains the writer: queued commits finish before exit
  log.info("stopped");
  return 0;
}

}  // namespace cairn::server
