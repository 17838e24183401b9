#include "clients/lean_get.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "formats/ascii.hpp"
#include "formats/hex.hpp"

namespace cairn::clients {

namespace {

constexpr std::size_t max_head_bytes = 64 * 1024;
constexpr std::size_t kept_error_bytes = 4096;

// The value of header `name` in a response head (names case-insensitive), or
// nothing. head holds the lines after the status line.
std::optional<std::string_view> header_value(std::string_view head, std::string_view name) {
  while (!head.empty()) {
    const auto end = head.find("\r\n");
    const std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view{} : head.substr(end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon != name.size()) continue;
    if (!formats::iequals(line.substr(0, colon), name)) continue;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  }
  return std::nullopt;
}

std::string ssl_error_text() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return errno != 0 ? std::strerror(errno) : "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

struct lean_get_connection::impl {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string where;
  std::chrono::milliseconds timeout{};
  std::array<char, 64 * 1024> buffer{};

  ~impl() { close(); }
  void close() {
    if (ssl) SSL_free(ssl);
    ssl = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  // What went wrong with the last SSL_read or SSL_write that returned n.
  error io_error(const char* what, int n) {
    const int e = SSL_get_error(ssl, n);
    std::string why;
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && n == 0)) {
      why = "the server closed the connection";
    } else if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      why = "timed out after " + std::to_string(timeout.count()) + " ms";
    } else {
      why = ssl_error_text();
    }
    close();
    return error{std::string(what) + " " + where + ": " + why};
  }
};

lean_get_connection::lean_get_connection(std::unique_ptr<impl> m) : impl_(std::move(m)) {}
lean_get_connection::lean_get_connection(lean_get_connection&&) noexcept = default;
lean_get_connection& lean_get_connection::operator=(lean_get_connection&&) noexcept = default;
lean_get_connection::~lean_get_connection() = default;

bool lean_get_connection::is_open() const {
  return impl_ && impl_->ssl != nullptr;
}

result<lean_get_connection> lean_get_connection::open(const url_parts& where,
                                                      std::shared_ptr<const tls_context> tls,
                                                      std::chrono::milliseconds timeout) {
  auto m = std::make_unique<impl>();
  m->timeout = timeout;
  m->where = where.authority();

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(where.port);
  if (int rc = getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return fail("cannot resolve " + where.host + ": " + gai_strerror(rc));
  }
  std::string last = "no address";
  for (addrinfo* a = found; a && m->fd < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    // On Linux the send timeout bounds connect() too.
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      m->fd = fd;
    } else {
      last = std::strerror(errno);
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (m->fd < 0) return fail("cannot connect to " + m->where + ": " + last);

  m->ssl = SSL_new(tls->native_handle());
  if (!m->ssl || SSL_set_fd(m->ssl, m->fd) != 1)
    return fail("cannot set up TLS: " + ssl_error_text());
  // Whole records from one read where the socket has them: fewer system calls.
  SSL_set_read_ahead(m->ssl, 1);
  if (!where.host_is_ip) SSL_set_tlsext_host_name(m->ssl, where.host.c_str());
  if (tls->verify_host()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(m->ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = where.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, where.host.c_str())
                                    : X509_VERIFY_PARAM_set1_host(param, where.host.c_str(), 0);
    if (ok != 1) return fail("cannot set up the host name check for " + where.host);
  }
  if (SSL_connect(m->ssl) != 1) {
    const long verify = SSL_get_verify_result(m->ssl);
    if (verify != X509_V_OK) {
      return fail("the certificate of " + m->where +
                  " was refused: " + X509_verify_cert_error_string(verify));
    }
    return fail("TLS handshake with " + m->where + " failed: " + ssl_error_text());
  }
  if (!tls->pin().empty()) {
    X509* cert = SSL_get1_peer_certificate(m->ssl);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const bool hashed = cert && X509_digest(cert, EVP_sha256(), digest, &n) == 1;
    X509_free(cert);
    const std::string got = hashed ? formats::hex_encode(digest, n) : std::string{};
    if (got != tls->pin()) {
      return fail("the certificate of " + m->where + " has SHA-256 fingerprint " + got +
                  ", not the pinned " + tls->pin());
    }
  }
  return lean_get_connection(std::move(m));
}

result<lean_get_connection::answer> lean_get_connection::get(std::string_view head) {
  impl& m = *impl_;
  if (!m.ssl) return fail("the connection to " + m.where + " is closed");
  while (!head.empty()) {
    const int n = SSL_write(m.ssl, head.data(), static_cast<int>(head.size()));
    if (n <= 0) return std::unexpected(m.io_error("writing to", n));
    head.remove_prefix(static_cast<std::size_t>(n));
  }

  // The head, up to the blank line; what follows it is body.
  std::string response_head;
  std::string early_body;  // body bytes read together with the head
  for (;;) {
    const int n = SSL_read(m.ssl, m.buffer.data(), static_cast<int>(m.buffer.size()));
    if (n <= 0) return std::unexpected(m.io_error("reading a response from", n));
    const std::size_t searched_from = response_head.size() < 3 ? 0 : response_head.size() - 3;
    response_head.append(m.buffer.data(), static_cast<std::size_t>(n));
    const auto end = response_head.find("\r\n\r\n", searched_from);
    if (end != std::string::npos) {
      early_body = response_head.substr(end + 4);
      response_head.resize(end + 2);
      break;
    }
    if (response_head.size() > max_head_bytes) {
      m.close();
      return fail("the response head from " + m.where + " is larger than 64 KiB");
    }
  }

  answer out;
  // "HTTP/1.1 200 OK"
  const std::string_view status_line =
      std::string_view(response_head).substr(0, response_head.find("\r\n"));
  const auto space = status_line.find(' ');
  if (!status_line.starts_with("HTTP/1.") || space == std::string_view::npos ||
      std::from_chars(status_line.data() + space + 1, status_line.data() + status_line.size(),
                      out.status)
              .ec != std::errc{}) {
    m.close();
    return fail("not an HTTP/1.1 response from " + m.where);
  }
  const std::string_view fields = std::string_view(response_head).substr(status_line.size() + 2);
  if (header_value(fields, "Transfer-Encoding")) {
    m.close();
    return fail("a chunked response from " + m.where +
                " (the get phase reads responses with Content-Length only)");
  }
  std::size_t length = 0;
  if (out.status != 204 && out.status != 304) {
    const auto cl = header_value(fields, "Content-Length");
    if (!cl || std::from_chars(cl->data(), cl->data() + cl->size(), length).ec != std::errc{}) {
      m.close();
      return fail("a response without a valid Content-Length from " + m.where);
    }
  }
  const bool ok = out.status >= 200 && out.status < 300;
  auto take = [&](const char* p, std::size_t n) {
    out.body_bytes += n;
    if (!ok && out.body_start.size() < kept_error_bytes) {
      out.body_start.append(p, std::min(n, kept_error_bytes - out.body_start.size()));
    }
  };
  if (early_body.size() > length) {
    m.close();
    return fail("more bytes than Content-Length from " + m.where);
  }
  take(early_body.data(), early_body.size());
  while (out.body_bytes < length) {
    const int n = SSL_read(m.ssl, m.buffer.data(), static_cast<int>(m.buffer.size()));
    if (n <= 0) return std::unexpected(m.io_error("reading a response from", n));
    if (out.body_bytes + static_cast<std::size_t>(n) > length) {
      m.close();
      return fail("more bytes than Content-Length from " + m.where);
    }
    take(m.buffer.data(), static_cast<std::size_t>(n));
  }
  if (const auto c = header_value(fields, "Connection"); c && formats::iequals(*c, "close")) {
    m.close();
  }
  return out;
}

}  // namespace cairn::clients
