#include "server/api/console_service.hpp"

#include <chrono>

#include "console/assets.hpp"
#include "formats/ascii.hpp"
#include "formats/json.hpp"
#include "formats/time.hpp"
#include "formats/tlp.hpp"
#include "server/api/query.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

namespace {

using console::console_asset;

// The Set-Cookie value: the cookie with every flag (an empty token and no
// seconds left clear it).
std::string session_cookie(std::string_view token, std::int64_t max_age) {
  std::string out(k_session_cookie);
  out += '=';
  out += token;
  out += "; Path=/; Max-Age=";
  out += std::to_string(max_age);
  out += "; Secure; HttpOnly; SameSite=Strict";
  return out;
}

// Does an If-None-Match value name this strong tag ("*" or a list of tags;
// a weak tag matches too, RFC 9110 13.1.2 weak comparison)?
bool none_match(std::string_view header, std::string_view etag) {
  header = formats::trim_ows(header);
  if (header == "*") return true;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto tag = formats::trim_ows(header.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

boost::beast::string_view beast_view(std::string_view s) {
  return {s.data(), s.size()};
}

response serve(const request_header& req, const console_asset& a, std::string_view cache_control) {
  const unsigned version = req.version();
  const auto inm = req[http::field::if_none_match];
  response res;
  res.version(version);
  if (!inm.empty() && none_match(std::string_view(inm.data(), inm.size()), a.etag)) {
    res.result(http::status::not_modified);
  } else {
    res.result(http::status::ok);
    res.set(http::field::content_type, beast_view(a.content_type));
    res.body().assign(a.body.data(), a.body.size());
  }
  res.set(http::field::etag, beast_view(a.etag));
  res.set(http::field::cache_control, beast_view(cache_control));
  console_service::add_security_headers(res);
  return res;
}

response with_headers(response res) {
  console_service::add_security_headers(res);
  return res;
}

response bad_request(std::string_view why, unsigned version) {
  return with_headers(error_response(http::status::bad_request, why, version));
}

struct sign_in_form {
  std::string account;
  std::string password;
};

// The body as a form or as JSON. Error texts never quote what was sent (it
// may hold a password).
std::expected<sign_in_form, std::string> parse_sign_in(const request& req) {
  const auto ct_field = req[http::field::content_type];
  const auto ct = formats::ascii_lower(formats::trim_ows(
      std::string_view(ct_field.data(), ct_field.size())
          .substr(0, std::string_view(ct_field.data(), ct_field.size()).find(';'))));
  const std::string_view body = req.body();
  if (body.size() > console_service::max_sign_in_body) {
    return std::unexpected("the sign-in body is larger than " +
                           std::to_string(console_service::max_sign_in_body) + " bytes");
  }
  sign_in_form form;
  bool has_account = false;
  bool has_password = false;
  if (ct == "application/x-www-form-urlencoded") {
    auto pairs = parse_query_string(body);
    if (!pairs) {
      return std::unexpected(
          "the sign-in form is not valid application/x-www-form-urlencoded (a field appears "
          "twice, or a %-escape is malformed)");
    }
    for (auto& [name, value] : *pairs) {
      if (name == "account") {
        form.account = std::move(value);
        has_account = true;
      } else if (name == "password") {
        form.password = std::move(value);
        has_password = true;
      } else {
        return std::unexpected("the sign-in form has fields account and password only, not '" +
                               formats::json_escape(name.substr(0, 64)) + "'");
      }
    }
  } else if (ct == "application/json") {
    formats::json_limits limits;
    limits.max_depth = 2;
    limits.max_members = 16;
    auto doc = formats::parse_json(body, limits);
    if (!doc || !doc->root().is_object()) {
      return std::unexpected(
          "the sign-in body is not a JSON object {\"account\": ..., \"password\": ...}");
    }
    const auto root = doc->root();
    for (std::size_t i = 0; i < root.size(); ++i) {
      const auto key = root.key_at(i);
      const auto value = root.value_at(i);
      if (key != "account" && key != "password") {
        return std::unexpected("the sign-in body has members account and password only, not '" +
                               formats::json_escape(key.substr(0, 64)) + "'");
      }
      if (!value.is_string()) return std::unexpected(std::string(key) + " must be a string");
      if (key == "account") {
        form.account = value.as_string();
        has_account = true;
      } else {
        form.password = value.as_string();
        has_password = true;
      }
    }
  } else {
    return std::unexpected(
        "the sign-in body must be application/x-www-form-urlencoded or application/json");
  }
  if (!has_account || form.account.empty()) return std::unexpected("the account name is missing");
  if (!has_password || form.password.empty()) return std::unexpected("the password is missing");
  if (form.account.size() > console_service::max_account_bytes) {
    return std::unexpected("the account name is longer than " +
                           std::to_string(console_service::max_account_bytes) + " bytes");
  }
  if (form.password.size() > console_service::max_password_bytes) {
    return std::unexpected("the password is longer than " +
                           std::to_string(console_service::max_password_bytes) + " bytes");
  }
  return form;
}

formats::micros to_micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The session's description (sign-in and GET answer the same).
response describe(const account& who, const console_session& s, unsigned version) {
  formats::json_writer w;
  w.begin_object()
      .member("signed_in", true)
      .member("account", who.name)
      .member("auditor", who.auditor)
      .member("clearance", formats::tlp_name(who.clearance))
      .member("csrf_token", s.csrf_token)
      .member("expires", formats::format_taxii_time(to_micros(s.expires)))
      .end_object();
  auto res = json_response(http::status::ok, w.take(), version);
  res.set(http::field::cache_control, "no-store");
  return with_headers(std::move(res));
}

}  // namespace

void console_service::add_security_headers(response& res) {
  res.set("Content-Security-Policy", "default-src 'self'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set(http::field::strict_transport_security, "max-age=31536000");
}

response console_service::index(const request_header& req) {
  const auto* a = console::find_console_asset("index.html");
  if (!a) {
    return with_headers(
        error_response(http::status::not_found, "this build has no console", req.version()));
  }
  return serve(req, *a, "no-cache");
}

response console_service::asset(const request_header& req, std::string_view bundle,
                                std::string_view file) {
  const auto* a = bundle == console::console_bundle() && file != "index.html"
                      ? console::find_console_asset(file)
                      : nullptr;
  if (!a) {
    return with_headers(error_response(
        http::status::not_found,
        bundle == console::console_bundle()
            ? "no console file by this name"
            : "no console bundle by this name (the page that asked for it is out of date: reload "
              "/cairn/console/)",
        req.version()));
  }
  return serve(req, *a, "public, max-age=31536000, immutable");
}

response console_service::no_session(unsigned version) {
  auto res = json_response(http::status::ok, R"({"signed_in":false})", version);
  res.set(http::field::cache_control, "no-store");
  return with_headers(std::move(res));
}

response console_service::unauthorized(std::string_view why, unsigned version) {
  auto res = error_response(http::status::unauthorized, why, version);
  res.set(http::field::www_authenticate, "Session realm=\"cairn\"");
  return with_headers(std::move(res));
}

response console_service::sign_in(exchange& ex, const snapshot& snap, const request& req,
                                  const password_check& check) {
  const unsigned version = req.version();
  // A sign-in posted by another site's page would sign the browser in to
  // that site's choice of account (login CSRF); browsers send Origin with
  // every POST.
  const auto origin = req[http::field::origin];
  const auto host = req[http::field::host];
  if (!origin.empty() && !is_own_origin(std::string_view(origin.data(), origin.size()),
                                        std::string_view(host.data(), host.size()))) {
    return with_headers(error_response(http::status::forbidden,
                                       "a sign-in must come from this server's own console page",
                                       version));
  }
  auto form = parse_sign_in(req);
  if (!form) return bad_request(form.error(), version);
  auto who = check(form->account, form->password);
  if (!who) return with_headers(std::move(who.error()));
  auto fp = snap.fingerprints.find((*who)->name);
  if (fp == snap.fingerprints.end()) {
    return unauthorized("unknown account or wrong credentials", version);
  }
  auto created = ex.sessions().create((*who)->name, fp->second);
  if (!created) {
    return with_headers(
        error_response(http::status::service_unavailable, created.error().message, version));
  }
  auto res = describe(**who, created->session, version);
  // Max-Age: the seconds left, all of the lifetime at sign-in.
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(created->session.expires -
                                                                     created->session.created);
  res.set(http::field::set_cookie, session_cookie(created->token, left.count()));
  return res;
}

response console_service::session(exchange& ex, const account& who, const console_session& s,
                                  const request& req) {
  const unsigned version = req.version();
  if (req.method() == http::verb::delete_) {
    const auto cookie = req[http::field::cookie];
    if (auto token = session_cookie_value(std::string_view(cookie.data(), cookie.size()))) {
      ex.sessions().end(*token);
    }
    response res{http::status::no_content, version};
    res.set(http::field::set_cookie, session_cookie("", 0));
    res.set(http::field::cache_control, "no-store");
    return with_headers(std::move(res));
  }
  return describe(who, s, version);
}

}  // namespace cairn::server
