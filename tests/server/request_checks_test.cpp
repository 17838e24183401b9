#include "server/request_checks.hpp"

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>
#include <string>

using namespace cairn::server;

namespace {

// Parses a head with Beast as the session does and returns its framing problem.
std::optional<std::string> framing_of(const std::string& head) {
  http::request_parser<http::string_body> p;
  p.eager(false);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(head), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(p.is_header_done());
  return framing_problem(p.get().base());
}

}  // namespace

TEST_CASE("find_head_end: CRLF CRLF, bare LF LF, incomplete") {
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody") == std::size_t{27});
  CHECK(find_head_end("GET / HTTP/1.1\nHost: a\n\nbody") == std::size_t{24});
  CHECK_FALSE(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n"));
  CHECK_FALSE(find_head_end(""));
  // The earlier of the two ends wins, so that a bare-LF head is seen whole.
  CHECK(find_head_end("GET / HTTP/1.1\n\nX: y\r\n\r\n") == std::size_t{16});
}

TEST_CASE("raw_head_problem: what Beast would let through") {
  CHECK_FALSE(raw_head_problem("GET / HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n"));
  CHECK(raw_head_problem(std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 25)) ==
        "a NUL byte in the request head");
  CHECK(raw_head_problem("GET / HTTP/1.1\nHost: a\n\n") == "a bare LF in the request head");
  CHECK(raw_head_problem("\nGET / HTTP/1.1\r\n\r\n") == "a bare LF in the request head");
  CHECK(raw_head_problem("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n") == "a bare CR in the request head");
  CHECK(raw_head_problem("GET / HTTP/1.1\r\nX: a\r") == "a bare CR in the request head");
  CHECK(raw_head_problem("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n") ==
        "obsolete line folding in a header");
  CHECK(raw_head_problem("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n") ==
        "obsolete line folding in a header");
  CHECK(raw_head_problem("GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n") ==
        "white space in a header name");
  CHECK(raw_head_problem("GET / HTTP/1.1\r\nContent Length: 1\r\n\r\n") ==
        "white space in a header name");
  // White space in a value or in the request line is not the name's business.
  CHECK_FALSE(raw_head_problem("GET /a%20b HTTP/1.1\r\nX:  a b\t\r\n\r\n"));
}

TEST_CASE("framing_problem: smuggling forms are refused, plain framing passes") {
  const std::string start = "POST /x HTTP/1.1\r\nHost: a\r\n";
  CHECK_FALSE(framing_of(start + "Content-Length: 5\r\n\r\n"));
  CHECK_FALSE(framing_of(start + "Transfer-Encoding: chunked\r\n\r\n"));
  CHECK_FALSE(framing_of(start + "Transfer-Encoding: Chunked \r\n\r\n"));
  CHECK_FALSE(framing_of(start + "\r\n"));
  CHECK(framing_of(start + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        "both Content-Length and Transfer-Encoding");
  CHECK(framing_of(start + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") ==
        "both Content-Length and Transfer-Encoding");
  for (const char* te : {"gzip", "gzip, chunked", "chunked, chunked", "chunked, gzip", "identity",
                         "xchunked", ",", "chunked;q=1"}) {
    INFO(te);
    CHECK(framing_of(start + "Transfer-Encoding: " + te + "\r\n\r\n") ==
          "a Transfer-Encoding other than a single 'chunked'");
  }
  CHECK(framing_of(start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        "a Transfer-Encoding other than a single 'chunked'");
  CHECK(framing_of("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        "Transfer-Encoding in an HTTP/1.0 request");
}

TEST_CASE("chunk_extension_too_long: up to max_chunk_extension_bytes") {
  CHECK_FALSE(chunk_extension_too_long(""));
  CHECK_FALSE(chunk_extension_too_long(";name=value"));
  CHECK_FALSE(chunk_extension_too_long(std::string(max_chunk_extension_bytes, 'x')));
  CHECK(chunk_extension_too_long(std::string(max_chunk_extension_bytes + 1, 'x')));
}
