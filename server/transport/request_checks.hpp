#pragma once
// The checks the session applies to the raw bytes and the parsed head of a
// request before any of it reaches the router: what Beast 1.74 lets through
// but a front proxy might read differently (request smuggling, RFC 9112
// sections 2.2, 5, 6.1 and 6.3).
//
// Pure functions over bytes and a parsed header; no I/O, no state, any
// thread. A returned problem is a sentence meant for the client: the session
// answers it with 400 and closes the connection.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "server/transport/http.hpp"

namespace cairn::server {

// Where the head of a request ends in data: just past the first empty line,
// whether it ends in CRLF CRLF or in a bare LF LF (the latter so that
// raw_head_problem() sees it and refuses it). std::nullopt while the head is
// incomplete.
std::optional<std::size_t> find_head_end(std::string_view data);

// Problems in the raw bytes of a request head (request line and header
// fields, up to and including the empty line) that Beast would accept: a NUL
// byte, a bare CR or LF, obsolete line folding, white space in or after a
// field name (before the colon).
std::optional<std::string> raw_head_problem(std::string_view head);

// Problems in the framing of a parsed request head: Content-Length together
// with Transfer-Encoding, a Content-Length that is not a plain decimal number
// of at most 18 digits or conflicts with another, Transfer-Encoding in an
// HTTP/1.0 request, and any Transfer-Encoding other than a single "chunked".
std::optional<std::string> framing_problem(const request_header& h);

// Chunk extensions carry nothing this server uses, and Beast bounds them only
// by its buffer: longer ones are refused (RFC 9112 section 7.1.1 asks servers
// to limit them).
inline constexpr std::size_t max_chunk_extension_bytes = 256;
bool chunk_extension_too_long(std::string_view extension);

}  // namespace cairn::server
