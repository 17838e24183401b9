#include "clients/raw_connection.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>

#include "formats/hex.hpp"

namespace cairn::clients {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct tls_context::impl {
  // Mutable: Asio wants a non-const context to build a stream; connections
  // never change it.
  mutable ssl::context ctx{ssl::context::tls_client};
  bool verify_host = true;
  std::string pin;  // normalised; non-empty means pinning replaces PKIX
};

tls_context::tls_context(std::unique_ptr<impl> m) : impl_(std::move(m)) {}
tls_context::~tls_context() = default;
SSL_CTX* tls_context::native_handle() const {
  return impl_->ctx.native_handle();
}
bool tls_context::verify_host() const {
  return impl_->verify_host;
}
const std::string& tls_context::pin() const {
  return impl_->pin;
}

std::string normalize_fingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
    out += c;
  }
  return out.size() == 64 ? out : std::string{};
}

result<std::shared_ptr<const tls_context>> tls_context::make(const client_options& options) {
  auto m = std::make_unique<impl>();
  SSL_CTX* native = m->ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return fail("cannot set the minimum TLS version");
  }
  m->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  error_code ec;
  if (options.insecure) {
    m->verify_host = false;
    m->ctx.set_verify_mode(ssl::verify_none);
  } else if (!options.pinned_cert_sha256.empty()) {
    m->pin = normalize_fingerprint(options.pinned_cert_sha256);
    if (m->pin.empty()) {
      return fail("the pinned certificate fingerprint must be 64 hex digits (SHA-256)");
    }
    m->verify_host = false;
    // The chain may be self-signed: the fingerprint, checked after the
    // handshake, is the whole trust decision.
    m->ctx.set_verify_mode(ssl::verify_peer);
    m->ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  } else {
    m->ctx.set_verify_mode(ssl::verify_peer);
    if (!options.cacert_file.empty()) {
      m->ctx.load_verify_file(options.cacert_file, ec);
      if (ec) {
        return fail("cannot load CA certificates from " + options.cacert_file + ": " +
                    ec.message());
      }
    } else {
      m->ctx.set_default_verify_paths(ec);
      if (ec) return fail("cannot load the system trust store: " + ec.message());
    }
  }
  if (!options.client_cert_file.empty() || !options.client_key_file.empty()) {
    if (options.client_cert_file.empty() || options.client_key_file.empty()) {
      return fail("a client certificate needs both --cert and --key");
    }
    m->ctx.use_certificate_chain_file(options.client_cert_file, ec);
    if (ec) {
      return fail("cannot load the client certificate " + options.client_cert_file + ": " +
                  ec.message());
    }
    m->ctx.use_private_key_file(options.client_key_file, ssl::context::pem, ec);
    if (ec) {
      // OpenSSL checks the key against the certificate as it loads it.
      const auto code = static_cast<unsigned long>(ec.value());
      if (ec.category() == asio::error::get_ssl_category() && ERR_GET_LIB(code) == ERR_LIB_X509 &&
          (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH ||
           ERR_GET_REASON(code) == X509_R_KEY_TYPE_MISMATCH)) {
        return fail("the client key " + options.client_key_file +
                    " does not match the certificate " + options.client_cert_file);
      }
      return fail("cannot load the client key " + options.client_key_file + ": " + ec.message());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      return fail("the client key " + options.client_key_file + " does not match the certificate " +
                  options.client_cert_file);
    }
  }
  return std::shared_ptr<const tls_context>(std::make_shared<tls_context>(std::move(m)));
}

namespace {

// Records how an asynchronous operation ended, whatever its signature.
struct completion {
  error_code* ec;
  std::size_t* n;
  void operator()(error_code e) const { *ec = e; }
  void operator()(error_code e, std::size_t k) const {
    *ec = e;
    *n = k;
  }
  template <class Endpoint>
  void operator()(error_code e, const Endpoint&) const {
    *ec = e;
  }
};

}  // namespace

struct raw_connection::impl {
  asio::io_context ioc{1};
  std::shared_ptr<const tls_context> tls;
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
  std::size_t body_limit;
  std::string where;  // "host:port" for messages
  bool open = false;
  bool peer_closed = false;

  impl(std::shared_ptr<const tls_context> t, const client_options& options)
      : tls(std::move(t)),
        stream(ioc, tls->get().ctx),
        timeout(std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout)),
        body_limit(options.max_response_bytes) {}

  // Runs one asynchronous operation to completion under the timeout; on
  // expiry beast::tcp_stream closes the socket and the operation ends with
  // beast::error::timeout.
  template <class Start>
  error_code run(Start&& start, std::size_t* bytes = nullptr) {
    error_code result = asio::error::would_block;
    std::size_t n = 0;
    beast::get_lowest_layer(stream).expires_after(timeout);
    start(completion{&result, &n});
    ioc.restart();
    ioc.run();
    if (bytes) *bytes = n;
    return result;
  }

  static bool is_close(const error_code& ec) {
    return ec == asio::error::eof || ec == ssl::error::stream_truncated ||
           ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe;
  }

  void drop() {
    error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
    open = false;
  }

  cairn::error io_error(std::string_view what, const error_code& ec) {
    drop();
    if (ec == beast::error::timeout) {
      return error{"timed out " + std::string(what) + " " + where + " after " +
                   std::to_string(timeout.count()) + " ms"};
    }
    if (is_close(ec)) {
      peer_closed = true;
      return error{std::string(what) + " " + where + ": the server closed the connection"};
    }
    return error{std::string(what) + " " + where + ": " + ec.message()};
  }
};

raw_connection::raw_connection(std::unique_ptr<impl> m) : impl_(std::move(m)) {}
raw_connection::raw_connection(raw_connection&&) noexcept = default;
raw_connection& raw_connection::operator=(raw_connection&&) noexcept = default;
raw_connection::~raw_connection() {
  if (impl_) impl_->drop();
}

result<raw_connection> raw_connection::open(const client_options& options) {
  auto where = parse_url(options.url);
  if (!where) return std::unexpected(where.error());
  return open(*where, options);
}

result<raw_connection> raw_connection::open(const url_parts& where, const client_options& options,
                                            std::shared_ptr<const tls_context> tls,
                                            bool* permanent) {
  if (permanent) *permanent = true;
  if (!tls) {
    auto made = tls_context::make(options);
    if (!made) return std::unexpected(made.error());
    tls = std::move(*made);
  }
  auto m = std::make_unique<impl>(tls, options);
  m->where = where.host_is_ip && where.host.find(':') != std::string::npos
                 ? "[" + where.host + "]:" + std::to_string(where.port)
                 : where.host + ":" + std::to_string(where.port);
  const auto& settings = tls->get();
  SSL* ssl_handle = m->stream.native_handle();
  if (!where.host_is_ip) {
    // SNI carries names only, never address literals (RFC 6066 3).
    SSL_set_tlsext_host_name(ssl_handle, where.host.c_str());
  }
  if (settings.verify_host) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = where.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, where.host.c_str())
                                    : X509_VERIFY_PARAM_set1_host(param, where.host.c_str(), 0);
    if (ok != 1) return fail("cannot set up the host name check for " + where.host);
  }

  // From here on, failures are network trouble unless they are about trust.
  if (permanent) *permanent = false;
  tcp::resolver resolver(m->ioc);
  tcp::resolver::results_type endpoints;
  error_code ec = m->run([&](auto handler) {
    resolver.async_resolve(where.host, std::to_string(where.port),
                           [&endpoints, handler](error_code e, tcp::resolver::results_type r) {
                             endpoints = std::move(r);
                             handler(e);
                           });
  });
  if (ec) {
    if (permanent) *permanent = ec == asio::error::host_not_found;
    return fail("cannot resolve " + where.host + ": " + ec.message());
  }
  ec = m->run(
      [&](auto handler) { beast::get_lowest_layer(m->stream).async_connect(endpoints, handler); });
  if (ec) {
    if (ec == beast::error::timeout) return fail("timed out connecting to " + m->where);
    return fail("cannot connect to " + m->where + ": " + ec.message());
  }
  beast::get_lowest_layer(m->stream).socket().set_option(tcp::no_delay(true), ec);

  ec = m->run([&](auto handler) { m->stream.async_handshake(ssl::stream_base::client, handler); });
  if (ec) {
    const long verify = SSL_get_verify_result(ssl_handle);
    m->drop();
    if (verify != X509_V_OK) {
      if (permanent) *permanent = true;
      std::string msg = "the certificate of " + m->where +
                        " was refused: " + X509_verify_cert_error_string(verify);
      if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        msg += " (the certificate is not for \"" + where.host + "\")";
      } else {
        msg += " (use --cacert FILE for a private CA, or --pin SHA256)";
      }
      return fail(msg);
    }
    if (ec == beast::error::timeout) return fail("timed out in the TLS handshake with " + m->where);
    // Alerts from the server (protocol version, client certificate required)
    // will not go away on retry either.
    if (ec.category() == asio::error::get_ssl_category() && permanent) *permanent = true;
    return fail("TLS handshake with " + m->where + " failed: " + ec.message());
  }
  if (!settings.pin.empty()) {
    raw_connection conn(std::move(m));
    const std::string got = conn.peer_certificate_sha256();
    if (got != settings.pin) {
      if (permanent) *permanent = true;
      return fail("the certificate of " + conn.impl_->where + " has SHA-256 fingerprint " + got +
                  ", not the pinned " + settings.pin);
    }
    conn.impl_->open = true;
    return conn;
  }
  m->open = true;
  return raw_connection(std::move(m));
}

result<void> raw_connection::write(std::string_view bytes) {
  if (!impl_->open) return fail("the connection to " + impl_->where + " is closed");
  error_code ec = impl_->run([&](auto handler) {
    asio::async_write(impl_->stream, asio::buffer(bytes.data(), bytes.size()), handler);
  });
  if (ec) return std::unexpected(impl_->io_error("writing to", ec));
  return {};
}

result<http_response> raw_connection::read_response(bool no_body) {
  if (!impl_->open && impl_->buffer.size() == 0) {
    return fail("the connection to " + impl_->where + " is closed");
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(impl_->body_limit);
  parser.header_limit(64 * 1024);
  if (no_body) parser.skip(true);
  error_code ec = impl_->run(
      [&](auto handler) { http::async_read(impl_->stream, impl_->buffer, parser, handler); });
  if (ec) {
    if (ec == http::error::body_limit) {
      impl_->drop();
      return fail("the response from " + impl_->where + " is larger than " +
                  std::to_string(impl_->body_limit) + " bytes");
    }
    return std::unexpected(impl_->io_error("reading a response from", ec));
  }
  auto& msg = parser.get();
  http_response out;
  out.status = msg.result_int();
  out.reason = std::string(msg.reason());
  for (const auto& field : msg) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.keep_alive = msg.keep_alive();
  out.body = std::move(msg.body());
  return out;
}

result<http_response> raw_connection::read_response_to(const body_sink& sink) {
  if (!impl_->open && impl_->buffer.size() == 0) {
    return fail("the connection to " + impl_->where + " is closed");
  }
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(64 * 1024);
  // The sink bounds what it keeps; a non-2xx body is bounded below.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  error_code ec = impl_->run([&](auto handler) {
    http::async_read_header(impl_->stream, impl_->buffer, parser, handler);
  });
  if (ec) return std::unexpected(impl_->io_error("reading a response from", ec));
  http_response out;
  {
    const auto& msg = parser.get();
    out.status = msg.result_int();
    out.reason = std::string(msg.reason());
    for (const auto& field : msg) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
  }
  const bool streamed = out.ok();
  std::vector<char> piece(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    ec = impl_->run(
        [&](auto handler) { http::async_read(impl_->stream, impl_->buffer, parser, handler); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return std::unexpected(impl_->io_error("reading a response from", ec));
    const std::size_t n = piece.size() - parser.get().body().size;
    if (n == 0) continue;
    if (streamed) {
      if (auto r = sink(std::string_view(piece.data(), n)); !r) {
        impl_->drop();
        return std::unexpected(r.error());
      }
    } else {
      if (out.body.size() + n > impl_->body_limit) {
        impl_->drop();
        return fail("the response from " + impl_->where + " is larger than " +
                    std::to_string(impl_->body_limit) + " bytes");
      }
      out.body.append(piece.data(), n);
    }
  }
  out.keep_alive = parser.get().keep_alive();
  return out;
}

result<std::string> raw_connection::read_available(std::chrono::milliseconds wait) {
  std::string out;
  if (impl_->buffer.size() > 0) {
    out = beast::buffers_to_string(impl_->buffer.data());
    impl_->buffer.consume(impl_->buffer.size());
  }
  if (!impl_->open) return out;
  auto& m = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char chunk[16384];
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    error_code result = asio::error::would_block;
    std::size_t n = 0;
    beast::get_lowest_layer(m.stream).expires_never();
    m.stream.async_read_some(asio::buffer(chunk), [&](error_code ec, std::size_t k) {
      result = ec;
      n = k;
    });
    m.ioc.restart();
    m.ioc.run_for(left);
    if (result == asio::error::would_block) {
      // Quiet for the rest of the wait: cancel the read; the TLS state keeps
      // any partial record, so the connection remains usable.
      beast::get_lowest_layer(m.stream).socket().cancel();
      m.ioc.restart();
      m.ioc.run();
      out.append(chunk, n);
      break;
    }
    out.append(chunk, n);
    if (result) {
      if (impl::is_close(result) || result == ssl::error::stream_truncated) {
        m.peer_closed = true;
        m.drop();
        break;
      }
      return std::unexpected(m.io_error("reading from", result));
    }
  }
  return out;
}

bool raw_connection::peer_closed() const {
  return impl_->peer_closed;
}
bool raw_connection::is_open() const {
  return impl_ && impl_->open;
}
void raw_connection::close() {
  if (impl_) impl_->drop();
}
void raw_connection::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout = timeout;
}

std::string raw_connection::peer_certificate_sha256() const {
  X509* cert = SSL_get0_peer_certificate(impl_->stream.native_handle());
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return formats::hex_encode(md, len);
}

std::string raw_connection::tls_version() const {
  return SSL_get_version(impl_->stream.native_handle());
}

}  // namespace cairn::clients
