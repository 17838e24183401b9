#include "server/transport/responses.hpp"

#include <catch2/catch.hpp>

using cairn::errc;
using cairn::server::http_status_for;
namespace http = cairn::server::http;

TEST_CASE("http_status_for: each error code has one status") {
  CHECK(http_status_for(errc::invalid_input) == http::status::bad_request);
  CHECK(http_status_for(errc::too_many) == http::status::bad_request);
  CHECK(http_status_for(errc::not_found) == http::status::not_found);
  CHECK(http_status_for(errc::storage_full) == http::status::insufficient_storage);
  CHECK(http_status_for(errc::unavailable) == http::status::service_unavailable);
  CHECK(http_status_for(errc::io) == http::status::internal_server_error);
  CHECK(http_status_for(errc::internal) == http::status::internal_server_error);
}

TEST_CASE("http_status_for: a client's mistake is never a 5xx, the server's never a 4xx") {
  for (errc c : {errc::invalid_input, errc::too_many, errc::not_found}) {
    const auto s = static_cast<unsigned>(http_status_for(c));
    CHECK((s >= 400 && s < 500));
  }
  for (errc c : {errc::storage_full, errc::unavailable, errc::io, errc::internal}) {
    const auto s = static_cast<unsigned>(http_status_for(c));
    CHECK(s >= 500);
  }
}

TEST_CASE("error_response: the status chosen for a code goes out as a TAXII error resource") {
  auto res = cairn::server::error_response(http_status_for(errc::storage_full),
                                           "the objects could not be stored", 11);
  CHECK(res.result_int() == 507);
  CHECK(res.body().find("\"http_status\":\"507\"") != std::string::npos);
  CHECK(res.body().find("the objects could not be stored") != std::string::npos);
}

TEST_CASE("every 503 says when to retry, other answers do not") {
  using cairn::server::error_response;
  using cairn::server::json_response;
  using cairn::server::taxii_response;
  auto retry = [](const cairn::server::response& res) {
    const auto v = res[http::field::retry_after];
    return std::string(v.data(), v.size());
  };
  const std::string seconds = std::to_string(cairn::server::k_retry_after_seconds);
  CHECK(retry(error_response(http_status_for(errc::unavailable), "database unreachable", 11)) ==
        seconds);
  CHECK(retry(json_response(http::status::service_unavailable, R"({"status":"degraded"})", 11)) ==
        seconds);
  CHECK(retry(taxii_response(http::status::service_unavailable, "{}", 11)) == seconds);
  CHECK(retry(error_response(http::status::insufficient_storage, "full", 11)).empty());
  CHECK(retry(error_response(http::status::internal_server_error, "bug", 11)).empty());
  CHECK(retry(json_response(http::status::ok, R"({"status":"ok"})", 11)).empty());
}
