#include "clients/http.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <charconv>
#include <chrono>

#include "formats/hex.hpp"
#include "formats/json.hpp"

namespace cairn::clients {

namespace {

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One line of at most max characters, control characters replaced, so that a
// hostile or binary body cannot mess up the terminal.
std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  std::string_view t = formats::trim_ows(out);
  return std::string(t);
}

}  // namespace

std::string url_parts::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 443) h += ":" + std::to_string(port);
  return h;
}

std::string url_parts::to_string() const {
  return "https://" + authority() + path;
}

result<url_parts> parse_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.size() < scheme.size() || !iequals(url.substr(0, scheme.size()), scheme)) {
    if (url.size() >= 7 && iequals(url.substr(0, 7), "http://")) {
      return fail("the URL \"" + std::string(url) + "\" uses http://; TAXII 2.1 requires https://");
    }
    return fail("the URL \"" + std::string(url) + "\" must start with https://");
  }
  std::string_view rest = url.substr(scheme.size());
  const auto path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? "/" : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos) {
    return fail("the URL must not hold credentials; use --user and --password-file");
  }
  url_parts out;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("the URL has an unclosed '[' in its host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("the URL has text after its IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return fail("the URL \"" + std::string(url) + "\" has no host");
  if (!port_text.empty() || authority.ends_with(':')) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || p == 0 || p > 65535) {
      return fail("the URL has a bad port \"" + std::string(port_text) + "\"");
    }
    out.port = static_cast<std::uint16_t>(p);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(out.host, ec);
  out.host_is_ip = !ec;
  if (!out.host_is_ip) {
    out.host = formats::ascii_lower(out.host);
  } else if (out.host.find(':') != std::string::npos && out.host.find('%') != std::string::npos) {
    return fail("IPv6 zone identifiers are not supported in URLs");
  }
  const auto cut = path.find_first_of("?#");
  out.path = std::string(path.substr(0, cut));
  if (out.path.empty() || out.path.front() != '/') out.path.insert(out.path.begin(), '/');
  return out;
}

result<url_parts> resolve_reference(const url_parts& base, std::string_view reference) {
  if (reference.empty()) return fail("empty URL reference");
  if (reference.starts_with("//") || reference.find("..") != std::string_view::npos) {
    return fail("refusing URL reference \"" + std::string(reference) + "\"");
  }
  if (reference.front() == '/') {
    url_parts out = base;
    out.path = std::string(reference.substr(0, reference.find_first_of("?#")));
    return out;
  }
  if (reference.find("://") != std::string_view::npos) return parse_url(reference);
  // A bare name ("sharing/"), as some servers list API roots: relative to the
  // server root, since discovery always sits at /taxii2/.
  url_parts out = base;
  out.path = "/" + std::string(reference.substr(0, reference.find_first_of("?#")));
  return out;
}

std::optional<std::string> http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::string percent_encode(std::string_view text, std::string_view keep) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      formats::append_hex(out, static_cast<unsigned char>(c), formats::hex_case::upper);
    }
  }
  return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::int64_t now_seconds) {
  value = formats::trim_ows(value);
  if (all_digits(value)) {
    if (value.size() > 9) return std::chrono::seconds(999999999);  // caller bounds it
    std::int64_t n = 0;
    std::from_chars(value.data(), value.data() + value.size(), n);
    return std::chrono::seconds(n);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
  if (value.size() != 29 || value[3] != ',' || value[4] != ' ' || value[7] != ' ' ||
      value[11] != ' ' || value[16] != ' ' || value[19] != ':' || value[22] != ':' ||
      value.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    std::string_view s = value.substr(at, len);
    if (!all_digits(s)) return std::nullopt;
    int n = 0;
    std::from_chars(s.data(), s.data() + s.size(), n);
    return n;
  };
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto month_it = std::find(months.begin(), months.end(), value.substr(8, 3));
  const auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
             second = number(23, 2);
  if (month_it == months.end() || !day || !year || !hour || !minute || !second || *hour > 23 ||
      *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year(*year),
                           std::chrono::month(static_cast<unsigned>(month_it - months.begin() + 1)),
                           std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t at = duration_cast<seconds>(sys_days(ymd).time_since_epoch()).count() +
                          *hour * 3600 + *minute * 60 + *second;
  return seconds(std::max<std::int64_t>(0, at - now_seconds));
}

std::string_view reason_phrase(unsigned status) {
  const auto s =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  std::string_view text(s.data(), s.size());
  return text.starts_with("<") ? std::string_view{} : text;
}

std::string describe_error_response(unsigned status, std::string_view reason,
                                    std::string_view body) {
  std::string out = std::to_string(status);
  std::string_view phrase = reason.empty() ? reason_phrase(status) : reason;
  if (!phrase.empty()) out += " " + printable_excerpt(phrase, 80);

  std::string detail;
  formats::json_limits limits;
  limits.max_bytes = 1u << 20;
  limits.max_depth = 16;
  auto doc = formats::parse_json(body, limits);
  if (doc && doc->root().is_object()) {
    const auto root = doc->root();
    auto text_of = [&](std::string_view key) -> std::string {
      auto v = root.get(key);
      return v && v->is_string() ? printable_excerpt(v->as_string(), 400) : std::string{};
    };
    detail = text_of("title");
    const bool is_taxii_error = !detail.empty();
    // "403 Forbidden: Forbidden: ..." says nothing twice.
    if (iequals(detail, phrase)) detail.clear();
    const std::string description = text_of("description");
    if (!description.empty()) detail += detail.empty() ? description : ": " + description;
    if (detail.empty() && !is_taxii_error && root.size() > 0) {
      detail = printable_excerpt(root.dump(), 200);
    }
  } else if (!body.empty()) {
    detail = printable_excerpt(body, 200);
  }
  if (!detail.empty()) out += ": " + detail;

  switch (status) {
    case 401:
      out +=
          " (check --user with --password-file or CAIRN_PASSWORD, or --token-file or "
          "CAIRN_TOKEN)";
      break;
    case 406:
    case 415: out += " (is this a TAXII 2.1 server? check --url)"; break;
    case 413: out += " (the request body is larger than the server accepts)"; break;
    default: break;
  }
  return out;
}

}  // namespace cairn::clients
