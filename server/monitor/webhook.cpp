#include "server/monitor/webhook.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace cairn::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t k_max_token = 4096;

bool is_ctl_or_space(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

std::string authority_of(const webhook_url& u) {
  std::string host =
      u.host_is_ip && u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  if (u.port != 443) host += ":" + std::to_string(u.port);
  return host;
}

// One delivery attempt's verdict.
enum class verdict { delivered, retry, refused, aborted };
struct attempt_result {
  verdict v = verdict::retry;
  std::string reason;  // for the log
};

struct queued_alert {
  std::uint64_t seq = 0;
  std::string kind;
  std::string body;
  unsigned attempts = 0;
  clock_type::time_point since;
};

}  // namespace

result<webhook_url> parse_webhook_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (!iequals_prefix(url, scheme)) return fail("the webhook url must start with https://");
  if (std::ranges::any_of(url, is_ctl_or_space)) {
    return fail("the webhook url must not contain spaces or control characters");
  }
  std::string_view rest = url.substr(scheme.size());
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  webhook_url out;
  if (end != std::string_view::npos) {
    out.target = std::string(rest.substr(end));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return fail("the webhook url must not hold credentials (use token_file)");
  }
  std::string_view port;
  bool port_given = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("the webhook url has an unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    out.host_is_ip = true;
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("the webhook url has junk after its IPv6 address");
      port = after.substr(1);
      port_given = true;
    }
    error_code ec;
    const auto a = asio::ip::make_address_v6(out.host, ec);
    if (ec) return fail("the webhook url's IPv6 address is not valid");
    (void)a;
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      port_given = true;
    }
    error_code ec;
    (void)asio::ip::make_address_v4(out.host, ec);
    out.host_is_ip = !ec;
  }
  if (out.host.empty()) return fail("the webhook url has no host");
  if (port_given) {
    unsigned value = 0;
    if (port.empty() || port.size() > 5) return fail("the webhook url's port is not valid");
    for (const char c : port) {
      if (c < '0' || c > '9') return fail("the webhook url's port is not valid");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return fail("the webhook url's port is not valid");
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

result<std::string> read_webhook_token(const std::filesystem::path& token_file) {
  std::ifstream in(token_file, std::ios::binary);
  if (!in) return fail("cannot read the webhook token_file " + token_file.string());
  std::string line;
  line.resize(k_max_token + 1);
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<std::size_t>(in.gcount()));
  if (const auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > k_max_token) {
    return fail("the webhook token_file " + token_file.string() + " holds a line too long");
  }
  if (line.empty()) return fail("the webhook token_file " + token_file.string() + " is empty");
  if (std::ranges::any_of(line, is_ctl_or_space)) {
    return fail("the webhook token_file " + token_file.string() +
                " holds spaces or control characters in its first line");
  }
  return line;
}

result<webhook_settings> make_webhook_settings(std::string url, std::filesystem::path cacert,
                                               const std::filesystem::path& token_file) {
  if (auto u = parse_webhook_url(url); !u) return std::unexpected(u.error());
  webhook_settings s;
  s.url = std::move(url);
  s.cacert = std::move(cacert);
  if (!token_file.empty()) {
    auto token = read_webhook_token(token_file);
    if (!token) return std::unexpected(token.error());
    s.token = std::move(*token);
  }
  return s;
}

struct webhook_sink::impl {
  impl(const webhook_settings& s, webhook_url u, logger& l, webhook_tuning t)
      : settings(s), where(std::move(u)), log(l), tuning(t) {}

  webhook_settings settings;
  webhook_url where;
  logger& log;
  webhook_tuning tuning;
  std::string receiver;  // host:port, for the log (the URL's path may hold a secret)

  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};

  std::mutex mutex;
  std::condition_variable wake;      // the worker: an alert, or stop
  std::condition_variable finished;  // stop(): the worker is done
  std::deque<queued_alert> queue;
  bool stopping = false;
  bool done = false;
  bool stop_called = false;

  // Guards ioc.restart() against stop()'s ioc.stop(), so that an abandoned
  // attempt cannot start running again after it was told to stop.
  std::mutex ioc_mutex;
  bool aborting = false;

  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> dropped{0};
  std::thread thread;

  void drop(const queued_alert& q, std::string_view why) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    log.warn("webhook alert dropped", {{"seq", q.seq},
                                       {"kind", q.kind},
                                       {"receiver", receiver},
                                       {"attempts", q.attempts},
                                       {"reason", why}});
  }

  // Runs the io_context until the operations started are done; false when
  // stop() abandoned them.
  bool drive() {
    {
      std::lock_guard lock(ioc_mutex);
      if (aborting) return false;
      ioc.restart();
    }
    ioc.run();
    std::lock_guard lock(ioc_mutex);
    return !aborting;
  }

  attempt_result attempt(const queued_alert& q) {
    const auto timeout = tuning.io_timeout;
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    SSL* handle = stream.native_handle();
    if (!where.host_is_ip) {
      // SNI carries names only, never address literals (RFC 6066 3).
      SSL_set_tlsext_host_name(handle, where.host.c_str());
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(handle);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = where.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, where.host.c_str())
                                    : X509_VERIFY_PARAM_set1_host(param, where.host.c_str(), 0);
    if (ok != 1) return {verdict::refused, "cannot set up the host name check"};

    // Resolve, bounded by a timer.
    std::optional<error_code> status;
    tcp::resolver::results_type endpoints;
    {
      tcp::resolver resolver(ioc);
      asio::steady_timer timer(ioc);
      timer.expires_after(timeout);
      timer.async_wait([&](error_code ec) {
        if (!ec) resolver.cancel();
      });
      resolver.async_resolve(where.host, std::to_string(where.port),
                             [&](error_code ec, tcp::resolver::results_type r) {
                               status = ec;
                               endpoints = std::move(r);
                               timer.cancel();
                             });
      if (!drive() || !status) return {verdict::aborted, "stopped"};
      if (*status) return {verdict::retry, "cannot resolve the host: " + status->message()};
    }

    auto step = [&](auto&& start) -> std::optional<error_code> {
      status.reset();
      beast::get_lowest_layer(stream).expires_after(timeout);
      start([&](error_code ec, auto&&...) { status = ec; });
      if (!drive() || !status) return std::nullopt;
      return *status;
    };
    auto io_failure = [](std::string_view what, const error_code& ec) {
      if (ec == beast::error::timeout) return "timed out " + std::string(what);
      return std::string(what) + ": " + ec.message();
    };

    auto ec = step([&](auto h) { beast::get_lowest_layer(stream).async_connect(endpoints, h); });
    if (!ec) return {verdict::aborted, "stopped"};
    if (*ec) return {verdict::retry, io_failure("connecting", *ec)};

    ec = step([&](auto h) { stream.async_handshake(ssl::stream_base::client, h); });
    if (!ec) return {verdict::aborted, "stopped"};
    if (*ec) {
      const long verify = SSL_get_verify_result(handle);
      if (verify != X509_V_OK) {
        return {verdict::retry, std::string("the receiver's certificate was refused: ") +
                                    X509_verify_cert_error_string(verify)};
      }
      return {verdict::retry, io_failure("in the TLS handshake", *ec)};
    }

    http::request<http::string_body> req{http::verb::post, where.target, 11};
    req.set(http::field::host, authority_of(where));
    req.set(http::field::user_agent, "cairnd");
    req.set(http::field::content_type, "application/json");
    if (!settings.token.empty()) req.set(http::field::authorization, "Bearer " + settings.token);
    req.keep_alive(false);
    req.body() = q.body;
    req.prepare_payload();
    ec = step([&](auto h) { http::async_write(stream, req, h); });
    if (!ec) return {verdict::aborted, "stopped"};
    if (*ec) return {verdict::retry, io_failure("sending", *ec)};

    beast::flat_buffer buffer;
    // The status line decides; the body (whatever its size) is not read, and
    // the connection is not reused.
    http::response_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    ec = step([&](auto h) { http::async_read_header(stream, buffer, parser, h); });
    if (!ec) return {verdict::aborted, "stopped"};
    if (*ec) return {verdict::retry, io_failure("reading the answer", *ec)};
    const unsigned code = parser.get().result_int();

    // Closed without waiting for the receiver's close_notify (we said
    // Connection: close and have its answer): a receiver that keeps the
    // connection open must not hold up the next alert.
    if (code >= 200 && code < 300) return {verdict::delivered, {}};
    const std::string answered = "the receiver answered " + std::to_string(code);
    if (code >= 500 || code == 429) return {verdict::retry, answered};
    return {verdict::refused, answered};
  }

  void run() {
    unsigned failures = 0;  // consecutive, the receiver's
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) break;
      const auto now = clock_type::now();
      std::vector<queued_alert> expired;
      while (!queue.empty() && now - queue.front().since > tuning.max_age) {
        expired.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      if (!expired.empty()) {
        lock.unlock();
        for (const auto& q : expired) drop(q, "waited longer than the webhook's max age");
        lock.lock();
        continue;
      }
      queued_alert current = std::move(queue.front());
      queue.pop_front();
      lock.unlock();

      ++current.attempts;
      attempt_result r = attempt(current);
      switch (r.v) {
        case verdict::delivered:
          delivered.fetch_add(1, std::memory_order_relaxed);
          if (failures > 0) {
            log.info("webhook receiver reachable again",
                     {{"receiver", receiver}, {"failed_attempts", failures}});
          }
          failures = 0;
          break;
        case verdict::refused: drop(current, r.reason); break;
        case verdict::aborted:
          drop(current, "cairnd stopped before the alert was delivered");
          break;
        case verdict::retry:
          ++failures;
          log.warn("webhook delivery failed", {{"seq", current.seq},
                                               {"kind", current.kind},
                                               {"receiver", receiver},
                                               {"attempts", current.attempts},
                                               {"reason", r.reason}});
          break;
      }
      lock.lock();
      if (r.v != verdict::retry) {
        if (r.v == verdict::aborted) break;
        continue;
      }
      const bool out_of_attempts = current.attempts >= tuning.max_attempts;
      const bool too_old = clock_type::now() - current.since > tuning.max_age;
      if (stopping || out_of_attempts || too_old) {
        lock.unlock();
        drop(current, stopping          ? "cairnd is stopping"
                      : out_of_attempts ? "no more attempts left"
                                        : "waited longer than the webhook's max age");
        lock.lock();
        continue;
      }
      queue.push_front(std::move(current));
      auto wait = tuning.first_backoff;
      for (unsigned i = 1; i < failures && wait < tuning.max_backoff; ++i) wait *= 2;
      wait = std::min(wait, tuning.max_backoff);
      wake.wait_for(lock, wait, [&] { return stopping; });
    }
    // Stopped: whatever is left was never delivered.
    std::deque<queued_alert> left;
    left.swap(queue);
    lock.unlock();
    for (const auto& q : left) drop(q, "cairnd stopped before the alert was delivered");
    lock.lock();
    done = true;
    finished.notify_all();
  }
};

result<std::unique_ptr<webhook_sink>> webhook_sink::start(const webhook_settings& settings,
                                                          logger& log, webhook_tuning tuning) {
  auto where = parse_webhook_url(settings.url);
  if (!where) return std::unexpected(where.error());
  if (tuning.queue_capacity == 0) return fail("the webhook queue needs room for one alert");
  if (tuning.max_attempts == 0) tuning.max_attempts = 1;
  auto m = std::make_unique<impl>(settings, *where, log, tuning);
  m->receiver = where->host_is_ip && where->host.find(':') != std::string::npos
                    ? "[" + where->host + "]:" + std::to_string(where->port)
                    : where->host + ":" + std::to_string(where->port);
  SSL_CTX_set_min_proto_version(m->ctx.native_handle(), TLS1_2_VERSION);
  m->ctx.set_verify_mode(ssl::verify_peer);
  error_code ec;
  if (!settings.cacert.empty()) {
    m->ctx.load_verify_file(settings.cacert.string(), ec);
    if (ec) {
      return fail("cannot load the webhook cacert " + settings.cacert.string() + ": " +
                  ec.message());
    }
  } else {
    m->ctx.set_default_verify_paths(ec);
    if (ec) return fail("cannot load the system's trusted certificates: " + ec.message());
  }
  std::unique_ptr<webhook_sink> sink(new webhook_sink(std::move(m)));
  impl* raw = sink->impl_.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return sink;
}

webhook_sink::webhook_sink(std::unique_ptr<impl> m) : impl_(std::move(m)) {}

webhook_sink::~webhook_sink() {
  stop();
}

void webhook_sink::on_alert(const alert& a) {
  queued_alert q{a.seq, a.kind, alert_json(a), 0, clock_type::now()};
  std::string_view refused;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      refused = "cairnd is stopping";
    } else if (impl_->queue.size() >= impl_->tuning.queue_capacity) {
      refused = "the webhook queue is full";
    } else {
      impl_->queue.push_back(std::move(q));
      impl_->wake.notify_one();
      return;
    }
  }
  impl_->drop(q, refused);
}

void webhook_sink::stop() {
  {
    std::unique_lock lock(impl_->mutex);
    if (impl_->stop_called) return;
    impl_->stop_called = true;
    impl_->stopping = true;
    impl_->wake.notify_all();
    if (!impl_->finished.wait_for(lock, impl_->tuning.shutdown_grace,
                                  [&] { return impl_->done; })) {
      std::lock_guard ioc_lock(impl_->ioc_mutex);
      impl_->aborting = true;
      impl_->ioc.stop();
    }
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint64_t webhook_sink::delivered() const {
  return impl_->delivered.load(std::memory_order_relaxed);
}
std::uint64_t webhook_sink::dropped() const {
  return impl_->dropped.load(std::memory_order_relaxed);
}
std::size_t webhook_sink::queued() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queue.size();
}

}  // namespace cairn::server
