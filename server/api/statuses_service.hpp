#pragma once
// GET /cairn/v1/statuses?limit=N&next=T (INTERFACE.md "The console"): the
// calling account's own publish statuses, newest first, as summaries (the
// counts of TAXII's status resource, not its lists: those are read through
// GET /{root}/status/{id}/). Any authenticated account; only the statuses it
// owns; limit 1..100 (default 20); `next` is opaque, bound to the account.
//
// Threads: any I/O thread. One read of the store's status index per call.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "server/transport/http.hpp"
#include "storage/store.hpp"

namespace cairn::server {

class exchange;
struct account;
class page_token_codec;

class statuses_service {
 public:
  static constexpr std::size_t default_limit = 20;

  static void list(exchange& ex, const account& who, const request& req, std::string_view query,
                   respond_fn respond);
};

// The `next` token of a listing that goes on after `after` for the account
// named `owner`, and its reading (std::nullopt for a token that was not made
// for this account, or was altered).
std::string statuses_token(const page_token_codec& codec, std::string_view owner,
                           const storage::status_cursor& after);
std::optional<storage::status_cursor> read_statuses_token(const page_token_codec& codec,
                                                          std::string_view owner,
                                                          std::string_view token);

}  // namespace cairn::server
