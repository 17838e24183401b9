// The TLS surface of a running cairnd, probed with OpenSSL as an attacker's
// client would: only TLS 1.2 and 1.3, only ECDHE with AEAD suites under 1.2,
// and no 0-RTT early data. Every forbidden handshake must fail; a control
// handshake with an allowed setting must succeed, so that a broken probe
// cannot pass the test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "test_server.hpp"

using namespace cairn::testing;

namespace {

struct ctx_free {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct session_free {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;
using session_ptr = std::unique_ptr<SSL_SESSION, session_free>;

class socket_fd {
 public:
  explicit socket_fd(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~socket_fd() { ::close(fd_); }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// A client context that allows everything OpenSSL can still do, at security
// level 0, so that only the server decides.
ctx_ptr permissive_context(int min_version, int max_version) {
  ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  REQUIRE(ctx);
  SSL_CTX_set_security_level(ctx.get(), 0);
  REQUIRE(SSL_CTX_set_min_proto_version(ctx.get(), min_version) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(ctx.get(), max_version) == 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

struct handshake_result {
  bool ok = false;
  std::string version;
  std::string cipher;
};

handshake_result try_handshake(SSL_CTX* ctx, unsigned short port) {
  socket_fd s(port);
  ssl_ptr ssl(SSL_new(ctx));
  REQUIRE(ssl);
  SSL_set_fd(ssl.get(), s.get());
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  ERR_clear_error();
  handshake_result r;
  r.ok = SSL_connect(ssl.get()) == 1;
  if (r.ok) {
    r.version = SSL_get_version(ssl.get());
    r.cipher = SSL_get_cipher_name(ssl.get());
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  return r;
}

handshake_result try_tls12_cipher(unsigned short port, const std::string& cipher) {
  auto ctx = permissive_context(TLS1_2_VERSION, TLS1_2_VERSION);
  // "@SECLEVEL=0" keeps OpenSSL from dropping the weak suites on our side.
  if (SSL_CTX_set_cipher_list(ctx.get(), (cipher + ":@SECLEVEL=0").c_str()) != 1) {
    ERR_clear_error();
    return {};  // this OpenSSL cannot even offer it
  }
  return try_handshake(ctx.get(), port);
}

// Reads until the server closes or nothing more comes; a TLS 1.3 server sends
// its session tickets after the handshake, so this is where they arrive.
void drain(SSL* ssl) {
  char buf[4096];
  while (SSL_read(ssl, buf, sizeof buf) > 0) {
  }
  ERR_clear_error();
}

}  // namespace

TEST_CASE("TLS: only TLS 1.2 and 1.3 are offered", "[tls]") {
  test_server srv;
  SECTION("control: TLS 1.2 and TLS 1.3 succeed") {
    auto ctx12 = permissive_context(TLS1_2_VERSION, TLS1_2_VERSION);
    auto r12 = try_handshake(ctx12.get(), srv.port());
    CHECK(r12.ok);
    CHECK(r12.version == "TLSv1.2");
    auto ctx13 = permissive_context(TLS1_3_VERSION, TLS1_3_VERSION);
    auto r13 = try_handshake(ctx13.get(), srv.port());
    CHECK(r13.ok);
    CHECK(r13.version == "TLSv1.3");
  }
  SECTION("TLS 1.0, TLS 1.1 and SSL 3 fail") {
    for (int v : {SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION}) {
      INFO("protocol version 0x" << std::hex << v);
      auto ctx = permissive_context(v, v);
      SSL_CTX_set_cipher_list(ctx.get(), "ALL:@SECLEVEL=0");
      auto r = try_handshake(ctx.get(), srv.port());
      CHECK_FALSE(r.ok);
    }
  }
}

TEST_CASE("TLS 1.2: only ECDHE with AEAD suites", "[tls]") {
  test_server srv;
  // The server's key is ECDSA P-256; RSA-authenticated suites cannot be
  // chosen anyway, so the forbidden ECDSA forms are the ones that matter.
  SECTION("control: ECDHE-ECDSA AEAD suites succeed") {
    for (const char* good : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                             "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
      INFO(good);
      auto r = try_tls12_cipher(srv.port(), good);
      CHECK(r.ok);
      CHECK(r.cipher == good);
    }
  }
  SECTION("CBC, static RSA, DHE, anonymous, NULL and export suites fail") {
    for (const char* bad : {"AES128-SHA",
                            "AES256-SHA",
                            "AES128-GCM-SHA256",
                            "AES256-GCM-SHA384",
                            "AES128-SHA256",
                            "ECDHE-ECDSA-AES128-SHA",
                            "ECDHE-ECDSA-AES256-SHA",
                            "ECDHE-ECDSA-AES128-SHA256",
                            "ECDHE-ECDSA-AES256-SHA384",
                            "ECDHE-RSA-AES128-SHA",
                            "ECDHE-RSA-AES256-SHA384",
                            "DHE-RSA-AES128-GCM-SHA256",
                            "DHE-RSA-AES256-SHA",
                            "DHE-RSA-CHACHA20-POLY1305",
                            "ADH-AES128-GCM-SHA256",
                            "AECDH-AES128-SHA",
                            "ECDHE-ECDSA-NULL-SHA",
                            "NULL-SHA256",
                            "DES-CBC3-SHA",
                            "ECDHE-ECDSA-DES-CBC3-SHA",
                            "PSK-AES128-GCM-SHA256",
                            "ECDHE-ECDSA-CAMELLIA128-SHA256",
                            "ECDHE-ECDSA-ARIA128-GCM-SHA256",
                            "ECDHE-ECDSA-AES128-CCM",
                            "ECDHE-ECDSA-AES128-CCM8",
                            "RC4-SHA"}) {
      INFO(bad);
      auto r = try_tls12_cipher(srv.port(), bad);
      CHECK_FALSE(r.ok);
    }
  }
  SECTION("a client offering every suite gets an ECDHE AEAD one") {
    auto ctx = permissive_context(TLS1_2_VERSION, TLS1_2_VERSION);
    REQUIRE(SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0") == 1);
    auto r = try_handshake(ctx.get(), srv.port());
    REQUIRE(r.ok);
    CHECK(r.cipher.rfind("ECDHE-", 0) == 0);
    const bool aead = r.cipher.find("GCM") != std::string::npos ||
                      r.cipher.find("CHACHA20-POLY1305") != std::string::npos;
    CHECK(aead);
  }
}

TEST_CASE("TLS 1.3: CCM suites are not offered and 0-RTT early data is refused", "[tls]") {
  test_server srv;
  SECTION("TLS_AES_128_CCM suites fail") {
    for (const char* bad : {"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}) {
      INFO(bad);
      auto ctx = permissive_context(TLS1_3_VERSION, TLS1_3_VERSION);
      REQUIRE(SSL_CTX_set_ciphersuites(ctx.get(), bad) == 1);
      CHECK_FALSE(try_handshake(ctx.get(), srv.port()).ok);
    }
  }
  SECTION("early data") {
    auto ctx = permissive_context(TLS1_3_VERSION, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
    session_ptr session;
    {
      socket_fd s(srv.port());
      ssl_ptr ssl(SSL_new(ctx.get()));
      SSL_set_fd(ssl.get(), s.get());
      REQUIRE(SSL_connect(ssl.get()) == 1);
      const std::string req =
          "GET /cairn/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          "Connection: close\r\n\r\n";
      REQUIRE(SSL_write(ssl.get(), req.data(), static_cast<int>(req.size())) > 0);
      drain(ssl.get());
      session.reset(SSL_get1_session(ssl.get()));
    }
    REQUIRE(session);
    // The server never announces that it would take early data.
    CHECK(SSL_SESSION_get_max_early_data(session.get()) == 0);

    if (SSL_SESSION_is_resumable(session.get()) != 1) {
      // No ticket at all: 0-RTT is impossible, which is what is asked.
      SUCCEED("the server issued no resumable session");
      return;
    }
    // Pretend it did, and send early data anyway: the server must not accept it.
    REQUIRE(SSL_SESSION_set_max_early_data(session.get(), 16384) == 1);
    socket_fd s(srv.port());
    ssl_ptr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), s.get());
    REQUIRE(SSL_set_session(ssl.get(), session.get()) == 1);
    const std::string early = "GET /cairn/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    std::size_t written = 0;
    const bool sent = SSL_write_early_data(ssl.get(), early.data(), early.size(), &written) == 1;
    ERR_clear_error();
    const int handshake = SSL_connect(ssl.get());
    INFO("early data sent: " << sent << ", handshake: " << handshake);
    CHECK(SSL_get_early_data_status(ssl.get()) != SSL_EARLY_DATA_ACCEPTED);
    ERR_clear_error();
  }
}
