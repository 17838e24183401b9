#include "server/transport/request_checks.hpp"

#include <algorithm>
#include <vector>

#include "formats/ascii.hpp"

namespace cairn::server {

using formats::ascii_lower;
using formats::trim_ows;

std::optional<std::size_t> find_head_end(std::string_view data) {
  const auto crlf = data.find("\r\n\r\n");
  const auto lf = data.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::nullopt;
  return std::min(crlf == std::string_view::npos ? data.npos : crlf + 4,
                  lf == std::string_view::npos ? data.npos : lf + 2);
}

std::optional<std::string> raw_head_problem(std::string_view head) {
  bool line_start = true;
  bool in_name = false;
  bool first_line = true;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const char c = head[i];
    if (c == '\0') return "a NUL byte in the request head";
    if (c == '\r') {
      if (i + 1 >= head.size() || head[i + 1] != '\n') return "a bare CR in the request head";
      continue;
    }
    if (c == '\n') {
      if (i == 0 || head[i - 1] != '\r') return "a bare LF in the request head";
      line_start = true;
      first_line = false;
      in_name = false;
      continue;
    }
    if (line_start) {
      line_start = false;
      if (!first_line && (c == ' ' || c == '\t')) return "obsolete line folding in a header";
      in_name = !first_line;
    }
    if (in_name) {
      if (c == ':') {
        in_name = false;
      } else if (c == ' ' || c == '\t') {
        return "white space in a header name";
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> framing_problem(const request_header& h) {
  std::optional<std::string> content_length;
  int te_count = 0;
  std::string te;
  for (const auto& field : h) {
    // Compared without case, with no lower-case copy of every name.
    const std::string_view name(field.name_string().data(), field.name_string().size());
    const std::string_view value(field.value().data(), field.value().size());
    if (formats::iequals(name, "content-length")) {
      const auto v = std::string(trim_ows(value));
      if (content_length && *content_length != v) return "conflicting Content-Length headers";
      if (v.empty() || v.size() > 18 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return "a Content-Length that is not a decimal number";
      }
      content_length = v;
    } else if (formats::iequals(name, "transfer-encoding")) {
      ++te_count;
      if (!te.empty()) te += ',';
      te += ascii_lower(value);
    }
  }
  if (te_count == 0) return std::nullopt;
  if (content_length) return "both Content-Length and Transfer-Encoding";
  if (h.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  // The only coding accepted is a single "chunked".
  std::vector<std::string> codings;
  std::size_t start = 0;
  while (start <= te.size()) {
    auto comma = te.find(',', start);
    auto c = trim_ows(
        std::string_view(te).substr(start, comma == std::string::npos ? te.npos : comma - start));
    if (!c.empty()) codings.emplace_back(c);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (codings.size() != 1 || codings[0] != "chunked") {
    return "a Transfer-Encoding other than a single 'chunked'";
  }
  return std::nullopt;
}

bool chunk_extension_too_long(std::string_view extension) {
  return extension.size() > max_chunk_extension_bytes;
}

}  // namespace cairn::server
