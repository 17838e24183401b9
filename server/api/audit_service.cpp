#include "server/api/audit_service.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"
#include "formats/time.hpp"
#include "server/api/audit_reports.hpp"
#include "server/api/audit_scope.hpp"
#include "server/api/exchange.hpp"
#include "server/api/query.hpp"
#include "server/auth/accounts.hpp"
#include "server/auth/throttle.hpp"
#include "server/monitor/alert.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

namespace {

namespace merkle = formats::merkle;

constexpr std::size_t k_max_collection_bytes = 256;

// Benchmark switch (never for production): write the pull record after the
// response instead of before it, to measure what recording first costs.
bool record_after_response() {
  static const bool on = [] {
    const char* v = std::getenv("CAIRN_BENCH_AUDIT_AFTER_RESPONSE");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return on;
}

response bad_request(std::string_view why, unsigned version) {
  return error_response(http::status::bad_request, why, version);
}

std::optional<std::uint64_t> parse_count(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The integer parameter key of p into out; false when absent or malformed.
bool count_param(const std::map<std::string, std::string>& p, const char* key, std::uint64_t& out) {
  auto it = p.find(key);
  if (it == p.end()) return false;
  auto v = parse_count(it->second);
  if (!v) return false;
  out = *v;
  return true;
}

std::string hex_list(const std::vector<merkle::digest>& hashes) {
  std::string out = "[";
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += merkle::to_hex(hashes[i]);
    out += '"';
  }
  out += ']';
  return out;
}

void records(exchange& ex, const snapshot& snap, const account& who, const request& req,
             std::string_view query, const respond_fn& respond) {
  const unsigned version = req.version();
  auto p = audit_params(
      query, {"object", "account", "collection", "action", "since", "until", "limit", "next"});
  if (!p) return respond(bad_request(p.error().message, version));
  storage::audit_query q;
  auto take = [&](const char* k, std::string& out) {
    if (auto it = p->find(k); it != p->end()) out = it->second;
  };
  take("object", q.object);
  take("account", q.account);
  take("action", q.action);
  if (!q.action.empty() && !formats::is_audit_action(q.action)) {
    return respond(
        bad_request("action must be one of publish, pull, delete, denied, "
                    "auth-failure, config, alert",
                    version));
  }
  // An auditor with a read list sees the records of those collections and
  // those that name none; other collections do not exist for it, here as in
  // TAXII, so a filter naming one finds no record (and no error says more).
  q.scope = audit_scope_of(snap, who);
  bool out_of_scope = false;
  if (auto it = p->find("collection"); it != p->end()) {
    auto filter = audit_collection_of(snap, who, it->second);
    if (!filter) return respond(bad_request(filter.error().message, version));
    q.collection = std::move(filter->id);
    out_of_scope = filter->out_of_scope;
  }
  if (auto window = audit_time_window(*p, q.since, q.until); !window) {
    return respond(bad_request(window.error().message, version));
  }
  if (auto it = p->find("limit"); it != p->end()) {
    auto n = parse_count(it->second);
    if (!n || *n == 0) return respond(bad_request("limit must be a positive integer", version));
    q.limit = static_cast<std::size_t>(std::min<std::uint64_t>(*n, storage::max_audit_limit));
  }
  // next is bound to the account and the filters, like TAXII's.
  std::string binding = who.name + "\n/cairn/v1/audit";
  for (const char* k : {"object", "account", "collection", "action", "since", "until"}) {
    binding += '\n';
    if (auto it = p->find(k); it != p->end()) binding += it->second;
  }
  if (auto it = p->find("next"); it != p->end()) {
    auto after = ex.tokens().decode(it->second, binding);
    if (!after || *after < 0) {
      return respond(bad_request(
          "next: this token was not issued for this query and account (send the same filters)",
          version));
    }
    q.after = static_cast<std::uint64_t>(*after);
  }

  if (out_of_scope)
    return respond(json_response(http::status::ok, R"({"records":[],"more":false})", version));
  auto page = ex.store().audit_records(q);
  if (!page) {
    return respond(
        error_response(http_status_for(page.error().code), page.error().message, version));
  }
  std::size_t bytes = 64;
  for (const auto& r : page->records) bytes += r.size() + 1;
  std::string body;
  body.reserve(bytes);
  body += "{\"records\":[";
  for (std::size_t i = 0; i < page->records.size(); ++i) {
    if (i > 0) body += ',';
    body += page->records[i];
  }
  body += "],\"more\":";
  body += page->more ? "true" : "false";
  if (page->more) {
    body += ",\"next\":\"";
    body += ex.tokens().encode(static_cast<micros>(page->resume), binding);
    body += '"';
  }
  body += '}';
  respond(json_response(http::status::ok, std::move(body), version));
}

// GET /cairn/v1/alerts: the alert records, newest last, as alert_json()
// entries. Alerts name no collection, so every auditor sees all of them.
void alert_records(exchange& ex, const account& who, const request& req, std::string_view query,
                   const respond_fn& respond) {
  const unsigned version = req.version();
  auto p = audit_params(query, {"since", "until", "kind", "account", "limit", "next"});
  if (!p) return respond(bad_request(p.error().message, version));
  storage::audit_query q;
  q.action = "alert";
  if (auto it = p->find("kind"); it != p->end()) {
    if (!formats::is_alert_kind(it->second)) {
      std::string kinds;
      for (const auto k : formats::alert_kinds)
        kinds += (kinds.empty() ? "" : ", ") + std::string(k);
      return respond(bad_request("kind must be one of " + kinds, version));
    }
    q.kind = it->second;
  }
  if (auto it = p->find("account"); it != p->end()) q.account = it->second;
  if (auto window = audit_time_window(*p, q.since, q.until); !window) {
    return respond(bad_request(window.error().message, version));
  }
  if (auto it = p->find("limit"); it != p->end()) {
    auto n = parse_count(it->second);
    if (!n || *n == 0) return respond(bad_request("limit must be a positive integer", version));
    q.limit = static_cast<std::size_t>(std::min<std::uint64_t>(*n, storage::max_audit_limit));
  }
  // next is bound to the account and the filters, as /cairn/v1/audit's.
  std::string binding = who.name + "\n/cairn/v1/alerts";
  for (const char* k : {"kind", "account", "since", "until"}) {
    binding += '\n';
    if (auto it = p->find(k); it != p->end()) binding += it->second;
  }
  if (auto it = p->find("next"); it != p->end()) {
    auto after = ex.tokens().decode(it->second, binding);
    if (!after || *after < 0) {
      return respond(bad_request(
          "next: this token was not issued for this query and account (send the same filters)",
          version));
    }
    q.after = static_cast<std::uint64_t>(*after);
  }

  auto page = ex.store().audit_records(q);
  if (!page) {
    return respond(
        error_response(http_status_for(page.error().code), page.error().message, version));
  }
  std::string body = "{\"alerts\":[";
  for (std::size_t i = 0; i < page->records.size(); ++i) {
    auto doc = formats::parse_json(page->records[i]);
    auto r = doc ? formats::parse_audit_record(doc->root()) : result<formats::audit_record>();
    if (!doc || !r || r->action != "alert") {
      return respond(error_response(http::status::internal_server_error,
                                    "the audit log returned a record that is not an alert",
                                    version));
    }
    alert a;
    a.seq = r->seq;
    a.time = std::move(r->time);
    a.kind = std::move(r->kind);
    a.account = std::move(r->account);
    a.remote = std::move(r->remote);
    a.detail = std::move(r->detail);
    a.evidence = std::move(r->evidence);
    if (i > 0) body += ',';
    body += alert_json(a);
  }
  body += "],\"more\":";
  body += page->more ? "true" : "false";
  if (page->more) {
    body += ",\"next\":\"";
    body += ex.tokens().encode(static_cast<micros>(page->resume), binding);
    body += '"';
  }
  body += '}';
  respond(json_response(http::status::ok, std::move(body), version));
}

void checkpoint(exchange& ex, const request& req, const respond_fn& respond) {
  const unsigned version = req.version();
  auto send = [respond, version](result<formats::audit_checkpoint> c) {
    if (!c) {
      // An empty log has none yet: one comes with the first record.
      const errc code = c.error().code == errc::not_found ? errc::unavailable : c.error().code;
      return respond(error_response(http_status_for(code),
                                    "no audit checkpoint: " + c.error().message, version));
    }
    respond(json_response(http::status::ok, formats::checkpoint_json(*c), version));
  };
  if (ex.audit_limits().fresh_checkpoint_allowed()) {
    // Signs one covering the whole log if it grew; answered after the commit.
    return ex.store().checkpoint_now(std::move(send));
  }
  auto latest = ex.store().checkpoint();
  if (!latest) return send(std::unexpected(latest.error()));
  if (!*latest) return send(fail(errc::not_found, "the log is empty"));
  send(std::move(**latest));
}

void proof(exchange& ex, const request& req, std::string_view query, const respond_fn& respond) {
  const unsigned version = req.version();
  auto p = audit_params(query, {"seq", "tree_size"});
  if (!p) return respond(bad_request(p.error().message, version));
  std::uint64_t seq = 0;
  std::uint64_t size = 0;
  if (!count_param(*p, "seq", seq) || !count_param(*p, "tree_size", size)) {
    return respond(
        bad_request("seq and tree_size must be given as non-negative integers", version));
  }
  auto n = ex.store().audit_size();
  if (!n)
    return respond(error_response(http_status_for(n.error().code), n.error().message, version));
  if (seq == 0 || seq > size || size > *n) {
    return respond(bad_request("an inclusion proof needs 1 <= seq <= tree_size <= " +
                                   std::to_string(*n) + " (the log's size)",
                               version));
  }
  auto path = ex.store().inclusion_proof(seq, size);
  if (!path) {
    return respond(
        error_response(http_status_for(path.error().code), path.error().message, version));
  }
  respond(json_response(http::status::ok,
                        "{\"seq\":" + std::to_string(seq) + ",\"tree_size\":" +
                            std::to_string(size) + ",\"audit_path\":" + hex_list(*path) + "}",
                        version));
}

void consistency(exchange& ex, const request& req, std::string_view query,
                 const respond_fn& respond) {
  const unsigned version = req.version();
  auto p = audit_params(query, {"from", "to"});
  if (!p) return respond(bad_request(p.error().message, version));
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  if (!count_param(*p, "from", from) || !count_param(*p, "to", to)) {
    return respond(bad_request("from and to must be given as non-negative integers", version));
  }
  auto n = ex.store().audit_size();
  if (!n)
    return respond(error_response(http_status_for(n.error().code), n.error().message, version));
  if (from == 0 || from > to || to > *n) {
    return respond(bad_request(
        "a consistency proof needs 1 <= from <= to <= " + std::to_string(*n) + " (the log's size)",
        version));
  }
  auto path = ex.store().consistency_proof(from, to);
  if (!path) {
    return respond(
        error_response(http_status_for(path.error().code), path.error().message, version));
  }
  respond(json_response(http::status::ok,
                        "{\"from\":" + std::to_string(from) + ",\"to\":" + std::to_string(to) +
                            ",\"proof\":" + hex_list(*path) + "}",
                        version));
}

}  // namespace

// ---- audit_service --------------------------------------------------------------

void audit_service::handle(exchange& ex, const snapshot& snap, const account& who,
                           const request& req, const peer_info& peer, std::string_view endpoint,
                           std::string_view query, respond_fn respond) {
  const unsigned version = req.version();
  if (!who.auditor) {
    denied(ex, who, peer, {}, {}, 403);
    return respond(error_response(http::status::forbidden,
                                  "account '" + who.name + "' is not an auditor", version));
  }
  if (endpoint != "" && endpoint != "checkpoint" && endpoint != "proof" &&
      endpoint != "consistency" && endpoint != "exposure" && endpoint != "stats") {
    return respond(error_response(http::status::not_found, "no such endpoint", version));
  }
  if (req.method() != http::verb::get) {
    auto res =
        error_response(http::status::method_not_allowed, "this endpoint allows GET", version);
    res.set(http::field::allow, "GET");
    return respond(std::move(res));
  }
  if (endpoint.empty()) return records(ex, snap, who, req, query, respond);
  if (endpoint == "checkpoint") return checkpoint(ex, req, respond);
  if (endpoint == "proof") return proof(ex, req, query, respond);
  if (endpoint == "exposure") return audit_exposure(ex, snap, who, req, query, respond);
  if (endpoint == "stats") return audit_stats(ex, snap, who, req, query, respond);
  consistency(ex, req, query, respond);
}

void audit_service::alerts(exchange& ex, const account& who, const request& req,
                           const peer_info& peer, std::string_view query, respond_fn respond) {
  const unsigned version = req.version();
  if (!who.auditor) {
    denied(ex, who, peer, {}, {}, 403);
    return respond(error_response(http::status::forbidden,
                                  "account '" + who.name + "' is not an auditor", version));
  }
  if (req.method() != http::verb::get) {
    auto res =
        error_response(http::status::method_not_allowed, "this endpoint allows GET", version);
    res.set(http::field::allow, "GET");
    return respond(std::move(res));
  }
  alert_records(ex, who, req, query, respond);
}

storage::audit_entry audit_service::entry(const taxii_call& c, std::string action, int status) {
  storage::audit_entry e;
  e.action = std::move(action);
  e.account = c.who.name;
  e.remote = c.remote;
  e.api_root = std::string(c.root);
  if (c.collection) e.collection = c.collection->id;
  e.status = status;
  e.key = c.key;
  return e;
}

void audit_service::pull(taxii_call& c, response (*endpoint)(const taxii_call& c)) {
  storage::audit_delivery delivered;
  c.delivered = &delivered;
  response res = endpoint(c);
  c.delivered = nullptr;
  if (delivered.empty() || res.result() != http::status::ok) return c.respond(std::move(res));

  storage::audit_entry e = entry(c, "pull", static_cast<int>(res.result_int()));
  const std::uint64_t objects = delivered.size();
  e.delivered = std::move(delivered);
  // The volume detector hears of the delivery with its record's seq.
  monitor* watch = c.ex.watch().enabled() ? &c.ex.watch() : nullptr;
  auto tell = [watch, objects, account = e.account, remote = e.remote](std::uint64_t seq) mutable {
    if (watch) watch->delivered(std::move(account), std::move(remote), objects, seq);
  };
  if (record_after_response()) {
    if (auto* m = c.ex.metrics()) m->delivered(c.who.name, objects);
    c.respond(std::move(res));
    return c.ex.store().record(std::move(e),
                               [tell = std::move(tell)](result<std::uint64_t> seq) mutable {
                                 if (const auto n = seq_of(seq)) tell(n);
                               });
  }
  const unsigned version = c.req.version();
  auto held = std::make_shared<response>(std::move(res));
  c.ex.store().record(std::move(e), [respond = c.respond, held, version, tell = std::move(tell),
                                     metrics = c.ex.metrics(), objects,
                                     account = c.who.name](result<std::uint64_t> seq) mutable {
    if (const auto n = seq_of(seq)) tell(n);
    if (seq && metrics) metrics->delivered(account, objects);
    if (!seq) {
      return respond(error_response(
          http_status_for(seq.error().code),
          "the delivery could not be recorded, so nothing was sent: " + seq.error().message,
          version));
    }
    respond(std::move(*held));
  });
}

void audit_service::denied(exchange& ex, const account& who, const peer_info& peer,
                           std::string_view api_root, std::string_view collection_id, int status) {
  storage::audit_entry e;
  e.action = "denied";
  e.account = who.name;
  e.remote = peer.remote_address;
  e.api_root = std::string(api_root);
  e.collection = std::string(collection_id.substr(0, k_max_collection_bytes));
  e.status = status;
  auto* watch = &ex.watch();
  ex.store().record(std::move(e), [watch, account = who.name, remote = peer.remote_address](
                                      result<std::uint64_t> seq) mutable {
    if (const auto n = seq_of(seq)) watch->denied(std::move(account), std::move(remote), n);
  });
}

void audit_service::suspended(exchange& ex, const account& who, const peer_info& peer) {
  storage::audit_entry e;
  e.action = "denied";
  e.account = who.name;
  e.remote = peer.remote_address;
  e.status = 403;
  auto* watch = &ex.watch();
  ex.store().record(std::move(e), [watch, account = who.name, remote = peer.remote_address](
                                      result<std::uint64_t> seq) mutable {
    if (const auto n = seq_of(seq)) watch->suspended_use(std::move(account), std::move(remote), n);
  });
}

void audit_service::auth_failure(exchange& ex, const snapshot& snap, const peer_info& peer,
                                 std::string_view claimed, int status) {
  if (auto* m = ex.metrics()) m->auth_failure();
  std::string account;
  if (!claimed.empty() && snap.accounts->find(claimed)) account = std::string(claimed);
  ex.audit_limits().auth_failure(ex.store(), peer.remote_address, account, status);
}

}  // namespace cairn::server
