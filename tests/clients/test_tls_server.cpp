#include "tests/clients/test_tls_server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace cairn::clients::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string test_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

struct test_tls_server::impl {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  handler on_request;
  std::atomic<bool> stopping{false};
  std::thread accept_thread;
  std::mutex mutex;
  std::vector<std::thread> threads;
  std::vector<int> fds;
};

test_tls_server::test_tls_server(const test_pki& pki, handler h, const std::string& client_ca_file)
    : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.on_request = std::move(h);
  m.ctx.use_certificate_chain(asio::buffer(pki.cert_pem));
  m.ctx.use_private_key(asio::buffer(pki.key_pem), ssl::context::pem);
  if (!client_ca_file.empty()) {
    m.ctx.load_verify_file(client_ca_file);
    m.ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  m.acceptor.open(ep.protocol());
  m.acceptor.set_option(tcp::acceptor::reuse_address(true));
  m.acceptor.bind(ep);
  m.acceptor.listen();

  m.accept_thread = std::thread([this] {
    auto& m = *impl_;
    for (;;) {
      tcp::socket socket(m.ioc);
      boost::system::error_code ec;
      m.acceptor.accept(socket, ec);
      if (m.stopping) return;
      if (ec) continue;
      const std::size_t number = ++connections_;
      std::lock_guard lock(m.mutex);
      m.fds.push_back(socket.native_handle());
      m.threads.emplace_back([this, number, s = std::move(socket)]() mutable {
        auto& m = *impl_;
        boost::system::error_code ec;
        const int fd = s.native_handle();
        ssl::stream<tcp::socket> stream(std::move(s), m.ctx);
        // Forget the descriptor before the stream closes it, so that stop()
        // never shuts down a number the OS has handed out again.
        struct forget {
          impl& m;
          int fd;
          ~forget() {
            std::lock_guard lock(m.mutex);
            std::erase(m.fds, fd);
          }
        } guard{m, fd};
        stream.handshake(ssl::stream_base::server, ec);
        if (ec) return;
        beast::flat_buffer buffer;
        for (;;) {
          http::request<http::string_body> req;
          http::read(stream, buffer, req, ec);
          if (ec) return;
          ++requests_;
          test_request tr;
          tr.method = std::string(req.method_string());
          tr.target = std::string(req.target());
          for (const auto& f : req) {
            tr.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
          }
          tr.body = req.body();
          tr.connection = number;
          test_reply reply = m.on_request(tr);
          http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
          for (const auto& [k, v] : reply.headers) res.set(k, v);
          res.body() = reply.body;
          res.prepare_payload();
          http::write(stream, res, ec);
          if (ec || reply.close_silently) {
            stream.next_layer().close(ec);
            return;
          }
        }
      });
    }
  });
}

test_tls_server::~test_tls_server() {
  stop();
}

unsigned short test_tls_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string test_tls_server::url(const std::string& path, const std::string& host) const {
  return "https://" + host + ":" + std::to_string(port()) + path;
}

void test_tls_server::stop() {
  auto& m = *impl_;
  if (m.stopping.exchange(true)) return;
  // Wake the blocking accept with a connection of our own.
  {
    boost::system::error_code ec;
    tcp::socket wake(m.ioc);
    wake.connect(m.acceptor.local_endpoint(), ec);
  }
  m.accept_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m.mutex);
    for (int fd : m.fds) ::shutdown(fd, SHUT_RDWR);
    threads.swap(m.threads);
  }
  for (auto& t : threads) t.join();
}

}  // namespace cairn::clients::testing
