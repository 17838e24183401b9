#include "server/transport/request_checks.hpp"

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>
#include <string>

using namespace cairn::server;

namespace {

// Builds the parsed head of a request from its text ("Name: value" lines after
// the request line) and returns its framing problem. The header is built by
// hand rather than by Beast's parser: Beast 1.74 itself refuses some of these
// forms (Content-Length with Transfer-Encoding), and framing_problem() must
// refuse them whatever the parser lets through.
std::optional<std::string> framing_of(const std::string& head) {
  request_header h;
  h.version(head.find(" HTTP/1.0\r\n") != std::string::npos ? 10 : 11);
  std::size_t pos = head.find("\r\n") + 2;
  for (auto eol = head.find("\r\n", pos); eol != std::string::npos && eol != pos;
       pos = eol + 2, eol = head.find("\r\n", pos)) {
    const std::string line = head.substr(pos, eol - pos);
    const auto colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    h.insert(line.substr(0, colon), value);
  }
  return framing_problem(h);
}

// Whether Beast's parser, as the session runs it, accepts the head.
bool beast_accepts(const std::string& head) {
  http::request_parser<http::string_body> p;
  p.eager(false);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(head), ec);
  return !ec && p.is_header_done();
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
  CHECK(framing_of(start + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n") ==
        "conflicting Content-Length headers");
  CHECK(framing_of(start + "Content-Length: +5\r\n\r\n") ==
        "a Content-Length that is not a decimal number");
}

TEST_CASE("plain framing passes Beast's parser, smuggling forms are refused by one layer or both") {
  const std::string start = "POST /x HTTP/1.1\r\nHost: a\r\n";
  CHECK(beast_accepts(start + "Content-Length: 5\r\n\r\n"));
  CHECK(beast_accepts(start + "Transfer-Encoding: chunked\r\n\r\n"));
  // Either layer refusing is enough; the session answers both with 400.
  for (const char* framing : {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                              "Content-Length: 5\r\nContent-Length: 6\r\n"}) {
    INFO(framing);
    const auto head = start + framing + "\r\n";
    CHECK((!beast_accepts(head) || framing_of(head).has_value()));
  }
}

TEST_CASE("chunk_extension_too_long: up to max_chunk_extension_bytes") {
  CHECK_FALSE(chunk_extension_too_long(""));
  CHECK_FALSE(chunk_extension_too_long(";name=value"));
  CHECK_FALSE(chunk_extension_too_long(std::string(max_chunk_extension_bytes, 'x')));
  CHECK(chunk_extension_too_long(std::string(max_chunk_extension_bytes + 1, 'x')));
}
