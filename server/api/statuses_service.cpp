#include "server/api/statuses_service.hpp"

#include <charconv>

#include "formats/base64.hpp"
#include "formats/json.hpp"
#include "formats/time.hpp"
#include "server/api/exchange.hpp"
#include "server/api/query.hpp"
#include "server/auth/accounts.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

namespace {

// A token is far shorter: anything longer is refused before it is decoded.
constexpr std::size_t k_max_token_bytes = 1024;

response bad_request(std::string_view why, unsigned version) {
  return error_response(http::status::bad_request, why, version);
}

// The MAC binds the account and the status id; the position is the
// request_timestamp.
std::string binding_of(std::string_view owner, std::string_view id) {
  std::string b = "statuses\n";
  b += owner;
  b += '\n';
  b += id;
  return b;
}

}  // namespace

// "<page token over the request_timestamp>.<base64url of the status id>":
// the codec's alphabet has no '.'.
std::string statuses_token(const page_token_codec& codec, std::string_view owner,
                           const storage::status_cursor& after) {
  std::string token = codec.encode(after.request_timestamp, binding_of(owner, after.id));
  token += '.';
  token += formats::base64_encode(after.id, formats::base64_alphabet::url,
                                  formats::base64_padding::none);
  return token;
}

std::optional<storage::status_cursor> read_statuses_token(const page_token_codec& codec,
                                                          std::string_view owner,
                                                          std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto id = formats::base64_decode(token.substr(dot + 1), formats::base64_alphabet::url,
                                   formats::base64_padding::none);
  if (!id || id->empty()) return std::nullopt;
  auto at = codec.decode(token.substr(0, dot), binding_of(owner, *id));
  if (!at) return std::nullopt;
  return storage::status_cursor{*at, std::move(*id)};
}

void statuses_service::list(exchange& ex, const account& who, const request& req,
                            std::string_view query, respond_fn respond) {
  const unsigned version = req.version();
  if (req.method() != http::verb::get) {
    auto res =
        error_response(http::status::method_not_allowed, "this endpoint allows GET", version);
    res.set(http::field::allow, "GET");
    return respond(std::move(res));
  }
  auto params = parse_query_string(query);
  if (!params) return respond(bad_request(params.error().message, version));
  std::size_t limit = default_limit;
  std::optional<storage::status_cursor> after;
  for (const auto& [k, v] : *params) {
    if (k == "limit") {
      unsigned long n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < 1 ||
          n > storage::max_status_page) {
        return respond(bad_request(
            "limit must be an integer from 1 to " + std::to_string(storage::max_status_page),
            version));
      }
      limit = n;
    } else if (k == "next") {
      if (v.size() <= k_max_token_bytes) after = read_statuses_token(ex.tokens(), who.name, v);
      if (!after) {
        return respond(bad_request(
            "next is not a token this endpoint gave this account (start again without it)",
            version));
      }
    } else {
      return respond(bad_request(
          "unknown parameter '" + k.substr(0, 64) + "' (statuses takes limit and next)", version));
    }
  }

  auto rd = ex.store().begin_read();
  const storage::status_page page = rd->owned_statuses(who.name, after, limit);
  if (rd->last_error()) {
    // A database that cannot be reached: 503 with Retry-After.
    return respond(error_response(http::status::service_unavailable,
                                  "the store could not be read: " + rd->last_error()->message,
                                  version));
  }
  rd.reset();

  formats::json_writer w;
  w.begin_object().key("statuses").begin_array();
  for (const auto& s : page.statuses) {
    w.begin_object()
        .member("id", std::string_view(s.id))
        .member("api_root", std::string_view(s.api_root))
        .member("request_timestamp", formats::format_taxii_time(s.request_timestamp))
        .member("status", s.complete() ? "complete" : "pending")
        .member("total_count", static_cast<std::int64_t>(s.total()))
        .member("success_count", static_cast<std::int64_t>(s.successes))
        .member("failure_count", static_cast<std::int64_t>(s.failures))
        .member("pending_count", static_cast<std::int64_t>(s.pendings))
        .end_object();
  }
  w.end_array().member("more", page.more);
  if (page.more) w.member("next", statuses_token(ex.tokens(), who.name, page.resume));
  w.end_object();
  respond(json_response(http::status::ok, w.take(), version));
}

}  // namespace cairn::server
