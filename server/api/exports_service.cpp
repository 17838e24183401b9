#include "server/api/exports_service.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "formats/ascii.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"
#include "formats/observables.hpp"
#include "formats/stix.hpp"
#include "formats/tlp.hpp"
#include "server/api/audit_service.hpp"
#include "server/api/exchange.hpp"
#include "server/api/export_etags.hpp"
#include "server/api/query.hpp"
#include "server/auth/policy.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

namespace {

using formats::micros;
using formats::observable_kind;
using storage::object_record;

// Lookup: at most this many matches, then more: true (INTERFACE decision).
constexpr std::size_t k_max_matches = 1000;
// The longest value a lookup takes (a URL may be long; nothing indexed is
// longer than this).
constexpr std::size_t k_max_value_bytes = 8192;
// Export bodies are produced in pieces of about this size.
constexpr std::size_t k_piece_bytes = 1u << 20;
// EDL pieces: at most this many lines (the bounded set of the next values).
constexpr std::size_t k_edl_piece_values = 50'000;
constexpr micros k_never = std::numeric_limits<micros>::max();

constexpr observable_kind k_all_kinds[] = {
    observable_kind::ipv4,  observable_kind::ipv6,   observable_kind::domain, observable_kind::url,
    observable_kind::email, observable_kind::sha256, observable_kind::sha1,   observable_kind::md5,
};

response bad_request(std::string_view why, unsigned version) {
  return error_response(http::status::bad_request, why, version);
}

response not_found(std::string_view why, unsigned version) {
  return error_response(http::status::not_found, why, version);
}

std::string_view type_of(std::string_view id) {
  auto pos = id.find("--");
  return pos == std::string_view::npos ? id : id.substr(0, pos);
}

// Whether r, which `who` may receive, is hidden from it as a later copy of a
// version it already receives (see taxii_service.cpp: of the copies of one
// version, each reader gets the first stored that it may receive).
bool hidden_copy(const storage::reader& rd, const account& who, const object_record& r) {
  if (!r.later_copy) return false;
  return rd.earlier_copy(r, [&](const object_record& o) { return may_receive(who, o); });
}

// Whether r is the latest version of its object that `who` may see (versions
// withheld from it, and copies hidden from it, do not count).
bool latest_visible(const storage::reader& rd, const account& who, const object_record& r) {
  if (!may_receive(who, r) || hidden_copy(rd, who, r)) return false;
  return rd
      .version_rank(
          r,
          [&](const object_record& v) { return may_receive(who, v) && !hidden_copy(rd, who, v); })
      .last;
}

// What an indicator's JSON says about its currency.
struct indicator_facts {
  bool parsed = false;
  bool revoked = false;
  std::optional<micros> valid_from;
  std::optional<micros> valid_until;
  std::string valid_from_text;
  std::string valid_until_text;
  std::optional<std::int64_t> confidence;
};

indicator_facts facts_of(std::string_view json) {
  indicator_facts f;
  auto doc = formats::parse_json(json);
  if (!doc || !doc->root().is_object()) return f;
  f.parsed = true;
  const auto root = doc->root();
  if (auto v = root.get("revoked"); v && v->is_bool()) f.revoked = v->as_bool();
  if (auto v = root.get("valid_from"); v && v->is_string()) {
    f.valid_from_text = std::string(v->as_string());
    if (auto t = formats::parse_rfc3339(f.valid_from_text)) f.valid_from = *t;
  }
  if (auto v = root.get("valid_until"); v && v->is_string()) {
    f.valid_until_text = std::string(v->as_string());
    if (auto t = formats::parse_rfc3339(f.valid_until_text)) f.valid_until = *t;
  }
  if (auto v = root.get("confidence"); v && v->is_integer()) f.confidence = v->as_int();
  return f;
}

// As in audit_service.cpp: with CAIRN_BENCH_AUDIT_AFTER_RESPONSE=1
// (benchmarks only) the answer leaves before its records are durable, so that
// the read path can be measured without the commit's wait.
bool record_after_response() {
  static const bool on = [] {
    const char* v = std::getenv("CAIRN_BENCH_AUDIT_AFTER_RESPONSE");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return on;
}

// Records one pull per collection, then answers: the answer leaves only once
// every record is durable (a failure answers the error instead).
void record_then(exchange& ex, std::vector<storage::audit_entry> entries, unsigned version,
                 std::function<void()> answer, respond_fn respond) {
  if (entries.empty()) return answer();
  if (record_after_response()) {
    answer();
    for (auto& e : entries) ex.store().record(std::move(e));
    return;
  }
  struct pending {
    std::atomic<std::size_t> left;
    std::mutex m;
    std::optional<error> failure;  // the first
  };
  auto p = std::make_shared<pending>();
  p->left = entries.size();
  for (auto& e : entries) {
    ex.store().record(std::move(e), [p, answer, respond, version](result<std::uint64_t> seq) {
      if (!seq) {
        std::lock_guard lock(p->m);
        if (!p->failure) p->failure = seq.error();
      }
      if (--p->left != 0) return;
      if (p->failure) {
        return respond(error_response(
            http_status_for(p->failure->code),
            "the delivery could not be recorded, so nothing was sent: " + p->failure->message,
            version));
      }
      answer();
    });
  }
}

storage::audit_entry pull_entry(const account& who, const peer_info& peer, std::string_view root,
                                std::string_view collection_id, storage::collection_key key) {
  storage::audit_entry e;
  e.action = "pull";
  e.account = who.name;
  e.remote = peer.remote_address;
  e.api_root = std::string(root);
  e.collection = std::string(collection_id);
  e.status = 200;
  e.key = key;
  return e;
}

bool get_only(const request& req, const respond_fn& respond) {
  if (req.method() == http::verb::get) return true;
  auto res =
      error_response(http::status::method_not_allowed, "this endpoint allows GET", req.version());
  res.set(http::field::allow, "GET");
  respond(std::move(res));
  return false;
}

// ---- lookup -----------------------------------------------------------------

struct readable_collection {
  storage::collection_key key = 0;
  std::string root;
  std::string id;
};

struct lookup_match {
  std::size_t collection = 0;  // index into the readable collections
  micros position = 0;
  std::string id;
  std::string version;
  formats::tlp_level tlp = formats::tlp_level::amber;
  bool revoked = false;
  std::optional<std::string> valid_until;
};

}  // namespace

// ---- helpers ------------------------------------------------------------------

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  auto opaque = [](std::string_view t) {
    t = formats::trim_ows(t);
    if (t.starts_with("W/")) t.remove_prefix(2);
    return t;
  };
  const auto ours = opaque(etag);
  std::size_t start = 0;
  while (start <= header.size()) {
    auto comma = header.find(',', start);
    auto tag =
        opaque(header.substr(start, comma == std::string_view::npos ? header.npos : comma - start));
    if (tag == "*" || (!tag.empty() && tag == ours)) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string csv_field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

std::string_view url_without_scheme(std::string_view url) {
  auto pos = url.find("://");
  if (pos == std::string_view::npos || pos == 0) return url;
  for (std::size_t i = 0; i < pos; ++i) {
    const char ch = url[i];
    const bool scheme_char =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'));
    if (!scheme_char) return url;
  }
  return url.substr(pos + 3);
}

// ---- GET /cairn/v1/lookup -------------------------------------------------------

void exports_service::lookup(exchange& ex, const snapshot& snap, const account& who,
                             const request& req, const peer_info& peer, std::string_view query,
                             respond_fn respond) {
  const unsigned version = req.version();
  if (!get_only(req, respond)) return;
  auto params = parse_query_string(query);
  if (!params) return respond(bad_request(params.error().message, version));
  std::optional<std::string> value;
  std::optional<std::string> type;
  for (auto& [k, v] : *params) {
    if (k == "value") {
      value = std::move(v);
    } else if (k == "type") {
      type = std::move(v);
    } else {
      return respond(bad_request(
          "unknown parameter '" + k.substr(0, 64) + "' (lookup takes value and type)", version));
    }
  }
  if (!value || value->empty()) {
    return respond(
        bad_request("the value parameter is required (/cairn/v1/lookup?value=V)", version));
  }
  if (value->size() > k_max_value_bytes) {
    return respond(bad_request(
        "the value is longer than " + std::to_string(k_max_value_bytes) + " bytes", version));
  }

  // The kinds the value is looked up as, each with its normal form.
  std::vector<std::pair<observable_kind, std::string>> candidates;
  if (type) {
    auto kinds = formats::observable_kinds_of_type(*type);
    if (!kinds) {
      return respond(bad_request("unknown type '" + type->substr(0, 64) +
                                     "' (one of ipv4-addr, ipv6-addr, domain-name, url, "
                                     "email-addr, file)",
                                 version));
    }
    std::string why;
    for (auto k : *kinds) {
      auto n = formats::normalise_observable(k, *value);
      if (n) {
        candidates.emplace_back(k, std::move(*n));
      } else if (why.empty()) {
        why = n.error().message;
      }
    }
    if (candidates.empty()) {
      return respond(bad_request("the value is not of type " + *type + ": " + why, version));
    }
  } else {
    candidates = formats::observable_candidates(*value);
    if (candidates.empty()) {
      return respond(bad_request(
          "the value is none of the observables a lookup knows (an IPv4 or IPv6 address, a "
          "domain name, a URL, an email address, or an MD5, SHA-1 or SHA-256 hash)",
          version));
    }
  }

  std::vector<readable_collection> readable;
  for (const auto& [root, rc] : snap.cfg->api_roots) {
    for (const auto& col : rc.collections) {
      if (!who.can_read(root, col.id)) continue;
      if (auto key = snap.key_of(root, col.id)) readable.push_back({*key, root, col.id});
    }
  }
  std::vector<storage::collection_key> keys;
  std::unordered_map<storage::collection_key, std::size_t> index_of;
  for (std::size_t i = 0; i < readable.size(); ++i) {
    keys.push_back(readable[i].key);
    index_of.emplace(readable[i].key, i);
  }

  std::vector<lookup_match> matches;
  bool more = false;
  if (!keys.empty()) {
    auto rd = ex.store().begin_read();
    const storage::visibility sees{who.clearance, who.name};
    std::set<std::pair<storage::collection_key, std::string>> taken;
    for (const auto& [kind, normal] : candidates) {
      if (more) break;
      rd->lookup(keys, kind, normal, sees,
                 [&](const storage::observable_hit&, const object_record& r) {
                   if (taken.contains({r.collection, std::string(r.id)})) return true;
                   if (!latest_visible(*rd, who, r)) return true;
                   if (matches.size() == k_max_matches) {
                     more = true;
                     return false;
                   }
                   auto at = index_of.find(r.collection);
                   if (at == index_of.end()) return true;
                   taken.emplace(r.collection, std::string(r.id));
                   lookup_match m;
                   m.collection = at->second;
                   m.position = r.date_added;
                   m.id = std::string(r.id);
                   m.version = std::string(r.version);
                   m.tlp = r.tlp;
                   auto f = facts_of(r.json);
                   m.revoked = f.revoked;
                   if (!f.valid_until_text.empty()) m.valid_until = f.valid_until_text;
                   matches.push_back(std::move(m));
                   return true;
                 });
    }
    if (rd->last_error()) {
      return respond(error_response(http::status::internal_server_error,
                                    "the store could not be read: " + rd->last_error()->message,
                                    version));
    }
  }
  // Collection order of the readable list, then date_added (the store's
  // order, kept across the kinds).
  std::stable_sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) {
    return a.collection != b.collection ? a.collection < b.collection : a.position < b.position;
  });

  formats::json_writer w;
  w.begin_object().member("value", std::string_view(*value)).key("matches").begin_array();
  std::vector<storage::audit_entry> entries;
  std::unordered_map<std::size_t, std::size_t> entry_of;
  for (const auto& m : matches) {
    const auto& col = readable[m.collection];
    w.begin_object()
        .member("api_root", std::string_view(col.root))
        .member("collection", std::string_view(col.id))
        .member("id", std::string_view(m.id))
        .member("version", std::string_view(m.version))
        .member("type", type_of(m.id))
        .member("tlp", formats::tlp_name(m.tlp))
        .member("revoked", m.revoked)
        .key("valid_until");
    if (m.valid_until) {
      w.string(*m.valid_until);
    } else {
      w.null();
    }
    w.end_object();
    auto [it, fresh] = entry_of.try_emplace(m.collection, entries.size());
    if (fresh) entries.push_back(pull_entry(who, peer, col.root, col.id, col.key));
    entries[it->second].delivered.add(m.position, m.id, m.version);
  }
  w.end_array().member("more", more).end_object();
  auto body = std::make_shared<std::string>(w.take());
  record_then(
      ex, std::move(entries), version,
      [respond, body, version] {
        respond(json_response(http::status::ok, std::move(*body), version));
      },
      respond);
}

// ---- GET /cairn/v1/export/{root}/{collection} ------------------------------------------

namespace {

enum class export_format { edl, csv, stix };

// What an export lists, fixed when the request is judged.
struct export_plan {
  storage::store* store = nullptr;
  storage::collection_key key = 0;
  std::string who_name;
  formats::tlp_level clearance = formats::tlp_level::clear;
  std::vector<observable_kind> kinds;  // empty: all
  std::vector<micros> positions;       // the current indicators drawn on, ascending

  bool drawn_on(micros position) const {
    return std::binary_search(positions.begin(), positions.end(), position);
  }
  storage::visibility sees() const { return {clearance, who_name}; }
};

// The current indicators (latest version the account may see, not revoked,
// valid_from passed, valid_until absent or not yet passed) that an export's
// values come from, the delivery to record, and the next instant at which a
// valid_from or valid_until of a latest version passes (k_never: none).
struct export_scan {
  std::vector<micros> positions;
  storage::audit_delivery delivered;
  micros boundary = k_never;
  std::optional<error> failure;
};

export_scan scan_current(const storage::reader& rd, const account& who, storage::collection_key key,
                         std::span<const observable_kind> kinds, micros now) {
  export_scan s;
  std::unordered_map<micros, bool> decided;
  const storage::visibility sees{who.clearance, who.name};
  rd.exportable_values(key, kinds, sees,
                       [&](const storage::observable_hit&, const object_record& r) {
                         auto [it, fresh] = decided.try_emplace(r.date_added, false);
                         if (!fresh) return true;
                         if (type_of(r.id) != "indicator" || !latest_visible(rd, who, r))
                           return true;
                         auto f = facts_of(r.json);
                         if (!f.parsed || f.revoked) return true;
                         bool current = true;
                         if (f.valid_from && *f.valid_from > now) {
                           current = false;
                           s.boundary = std::min(s.boundary, *f.valid_from);
                         }
                         if (f.valid_until) {
                           if (*f.valid_until <= now) {
                             current = false;
                           } else {
                             s.boundary = std::min(s.boundary, *f.valid_until);
                           }
                         }
                         if (!current) return true;
                         it->second = true;
                         s.positions.push_back(r.date_added);
                         s.delivered.add(r.date_added, r.id, r.version);
                         return true;
                       });
  if (rd.last_error()) s.failure = *rd.last_error();
  std::sort(s.positions.begin(), s.positions.end());
  return s;
}

// From what this account receives, never from the collection's generation:
// a version withheld from it must not change its tag.
std::string etag_of(const account& who, storage::collection_key key,
                    std::span<const micros> positions, export_format format,
                    std::span<const observable_kind> kinds, micros boundary) {
  std::string text = "cairn-export-2\n" + who.name + "\n" +
                     std::to_string(static_cast<int>(who.clearance)) + "\n" + std::to_string(key) +
                     "\n" + std::to_string(static_cast<int>(format)) + "\n";
  for (auto k : kinds) text += std::to_string(static_cast<int>(k)) + ",";
  text += "\n" + std::to_string(boundary) + "\n";
  for (const micros p : positions) text += std::to_string(p) + ",";
  return "\"" + formats::merkle::to_hex(formats::merkle::sha256(text)).substr(0, 32) + "\"";
}

// EDL: the values in byte order, each once, URLs without their scheme. The
// kinds' values (and a URL's scheme-less forms) do not come in one order, so
// each piece is the next k_edl_piece_values values after the last one sent,
// kept in a bounded ordered set over one pass.
body_source edl_source(std::shared_ptr<const export_plan> plan) {
  auto last = std::make_shared<std::optional<std::string>>();
  return [plan, last](std::string& out) -> std::expected<bool, std::string> {
    auto rd = plan->store->begin_read();
    std::set<std::string, std::less<>> next;
    rd->exportable_values(plan->key, plan->kinds, plan->sees(),
                          [&](const storage::observable_hit& hit, const object_record& r) {
                            if (!plan->drawn_on(r.date_added)) return true;
                            std::string_view v = hit.value;
                            if (hit.kind == observable_kind::url) v = url_without_scheme(v);
                            if (*last && v <= **last) return true;
                            if (next.size() == k_edl_piece_values) {
                              if (v >= *next.rbegin()) return true;
                              if (next.contains(v)) return true;
                              next.erase(std::prev(next.end()));
                            }
                            next.emplace(v);
                            return true;
                          });
    if (rd->last_error()) return std::unexpected(rd->last_error()->message);
    for (const auto& v : next) {
      out += v;
      out += '\n';
    }
    if (!next.empty()) *last = *next.rbegin();
    return next.size() == k_edl_piece_values;
  };
}

// CSV: one row per (value, indicator), in the store's (kind, value,
// date_added) order; each piece resumes after the last row sent.
body_source csv_source(std::shared_ptr<const export_plan> plan) {
  struct cursor {
    bool header = false;
    bool started = false;
    observable_kind kind = observable_kind::ipv4;
    std::string value;
    micros position = 0;
  };
  auto at = std::make_shared<cursor>();
  return [plan, at](std::string& out) -> std::expected<bool, std::string> {
    if (!at->header) {
      out += "value,type,indicator_id,indicator_version,valid_from,valid_until,confidence,tlp\r\n";
      at->header = true;
    }
    auto rd = plan->store->begin_read();
    bool full = false;
    rd->exportable_values(plan->key, plan->kinds, plan->sees(),
                          [&](const storage::observable_hit& hit, const object_record& r) {
                            if (at->started) {
                              if (hit.kind != at->kind
                                      ? hit.kind < at->kind
                                      : (hit.value != at->value ? hit.value < at->value
                                                                : r.date_added <= at->position)) {
                                return true;
                              }
                            }
                            if (out.size() >= k_piece_bytes) {
                              full = true;
                              return false;
                            }
                            at->started = true;
                            at->kind = hit.kind;
                            at->value = std::string(hit.value);
                            at->position = r.date_added;
                            if (!plan->drawn_on(r.date_added)) return true;
                            auto f = facts_of(r.json);
                            out += csv_field(hit.value);
                            out += ',';
                            out += formats::observable_type_name(hit.kind);
                            out += ',';
                            out += csv_field(r.id);
                            out += ',';
                            out += csv_field(r.version);
                            out += ',';
                            out += csv_field(f.valid_from_text);
                            out += ',';
                            out += csv_field(f.valid_until_text);
                            out += ',';
                            if (f.confidence) out += std::to_string(*f.confidence);
                            out += ',';
                            out += formats::tlp_name(r.tlp);
                            out += "\r\n";
                            return true;
                          });
    if (rd->last_error()) return std::unexpected(rd->last_error()->message);
    return full;
  };
}

// STIX: a bundle of the indicators drawn on, each once, in date_added order.
body_source stix_source(std::shared_ptr<const export_plan> plan) {
  auto next = std::make_shared<std::size_t>(0);
  auto opened = std::make_shared<bool>(false);
  auto written = std::make_shared<std::size_t>(0);
  return [plan, next, opened, written](std::string& out) -> std::expected<bool, std::string> {
    if (!*opened) {
      out += R"({"type":"bundle","id":"bundle--)" + formats::new_uuid_v4() + R"(","objects":[)";
      *opened = true;
    }
    auto rd = plan->store->begin_read();
    while (*next < plan->positions.size() && out.size() < k_piece_bytes) {
      auto r = rd->at(plan->key, plan->positions[(*next)++]);
      if (!r) continue;  // deleted since the request was judged
      if ((*written)++ > 0) out += ',';
      out += r->json;
    }
    if (rd->last_error()) return std::unexpected(rd->last_error()->message);
    if (*next < plan->positions.size()) return true;
    out += "]}";
    return false;
  };
}

}  // namespace

void exports_service::export_values(exchange& ex, const snapshot& snap, const account& who,
                                    const request& req, const peer_info& peer,
                                    std::string_view root, std::string_view collection,
                                    std::string_view query, respond_fn respond) {
  const unsigned version = req.version();
  if (!get_only(req, respond)) return;

  // What the path names, as TAXII resolves it: an unknown root or
  // collection, or one the account has no right on at all, is a 404.
  auto root_it = snap.cfg->api_roots.find(std::string(root));
  if (root_it == snap.cfg->api_roots.end()) {
    return respond(
        not_found("no API root named '" + std::string(root.substr(0, 128)) + "'", version));
  }
  const std::string& root_name = root_it->first;
  const auto* col = snap.cfg->find_collection(root_name, collection);
  const bool can_read = col && who.can_read(root_name, col->id);
  if (!col || (!can_read && !who.can_write(root_name, col->id))) {
    if (col) audit_service::denied(ex, who, peer, root_name, col->id, 404);
    return respond(
        not_found("no collection '" + std::string(collection.substr(0, 128)) + "' in this API root",
                  version));
  }
  if (!can_read) {
    audit_service::denied(ex, who, peer, root_name, col->id, 403);
    return respond(error_response(http::status::forbidden,
                                  "account '" + who.name + "' may not read this collection",
                                  version));
  }

  auto params = parse_query_string(query);
  if (!params) return respond(bad_request(params.error().message, version));
  std::optional<std::string> format_name;
  std::optional<std::string> types;
  for (auto& [k, v] : *params) {
    if (k == "format") {
      format_name = std::move(v);
    } else if (k == "type") {
      types = std::move(v);
    } else {
      return respond(bad_request(
          "unknown parameter '" + k.substr(0, 64) + "' (an export takes format and type)",
          version));
    }
  }
  if (!format_name) {
    return respond(bad_request("the format parameter is required (edl, csv or stix)", version));
  }
  export_format format = export_format::edl;
  if (*format_name == "edl") {
    format = export_format::edl;
  } else if (*format_name == "csv") {
    format = export_format::csv;
  } else if (*format_name == "stix") {
    format = export_format::stix;
  } else {
    return respond(bad_request(
        "unknown format '" + format_name->substr(0, 64) + "' (one of edl, csv, stix)", version));
  }
  std::vector<observable_kind> kinds;
  if (types) {
    std::string_view list = *types;
    std::size_t start = 0;
    while (start <= list.size()) {
      auto comma = list.find(',', start);
      auto name = list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
      auto ks = formats::observable_kinds_of_type(name);
      if (!ks) {
        return respond(bad_request("unknown type '" + std::string(name.substr(0, 64)) +
                                       "' (a comma-separated list of ipv4-addr, ipv6-addr, "
                                       "domain-name, url, email-addr, file)",
                                   version));
      }
      kinds.insert(kinds.end(), ks->begin(), ks->end());
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    std::sort(kinds.begin(), kinds.end());
    kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
    if (kinds.size() == std::size(k_all_kinds)) kinds.clear();  // all: one ETag
  }

  const auto key = snap.key_of(root_name, col->id).value_or(0);
  const micros now = formats::now_micros();
  const auto inm_field = req[http::field::if_none_match];
  const std::string_view inm(inm_field.data(), inm_field.size());
  std::string cache_key = who.name + '\n' + std::to_string(static_cast<int>(who.clearance)) + '\n' +
                          std::to_string(key) + '\n' + std::to_string(static_cast<int>(format)) +
                          '\n';
  for (auto k : kinds) cache_key += std::to_string(static_cast<int>(k)) + ",";

  auto not_modified = [&](const std::string& etag) {
    response res{http::status::not_modified, version};
    res.set(http::field::server, "cairn");
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, "private, no-cache");
    respond(std::move(res));
  };

  auto rd = ex.store().begin_read();
  const std::uint64_t generation = rd->collection_generation(key);
  if (!inm.empty()) {
    if (auto etag = ex.export_cache().find(cache_key, generation, now);
        etag && if_none_match_matches(inm, *etag)) {
      return not_modified(*etag);
    }
  }
  auto scan = scan_current(*rd, who, key, kinds, now);
  rd.reset();
  if (scan.failure) {
    return respond(error_response(http::status::internal_server_error,
                                  "the store could not be read: " + scan.failure->message,
                                  version));
  }
  std::string etag = etag_of(who, key, scan.positions, format, kinds, scan.boundary);
  ex.export_cache().put(cache_key, generation, etag, scan.boundary);
  if (!inm.empty() && if_none_match_matches(inm, etag)) return not_modified(etag);

  auto plan = std::make_shared<export_plan>();
  plan->store = &ex.store();
  plan->key = key;
  plan->who_name = who.name;
  plan->clearance = who.clearance;
  plan->kinds = kinds;
  plan->positions = std::move(scan.positions);

  response head{http::status::ok, version};
  head.set(http::field::server, "cairn");
  head.set(http::field::etag, etag);
  head.set(http::field::cache_control, "private, no-cache");
  body_source source;
  switch (format) {
    case export_format::edl:
      head.set(http::field::content_type, "text/plain; charset=utf-8");
      source = edl_source(plan);
      break;
    case export_format::csv:
      head.set(http::field::content_type, "text/csv; charset=utf-8; header=present");
      source = csv_source(plan);
      break;
    case export_format::stix: {
      const auto accept = req[http::field::accept];
      const std::string_view a(accept.data(), accept.size());
      const bool plain_json = a.find("application/json") != std::string_view::npos &&
                              a.find("application/stix+json") == std::string_view::npos;
      head.set(http::field::content_type,
               plain_json ? "application/json" : "application/stix+json;version=2.1");
      source = stix_source(plan);
      break;
    }
  }

  std::vector<storage::audit_entry> entries;
  if (!scan.delivered.empty()) {
    entries.push_back(pull_entry(who, peer, root_name, col->id, key));
    entries.back().delivered = std::move(scan.delivered);
  }
  auto held =
      std::make_shared<std::pair<response, body_source>>(std::move(head), std::move(source));
  record_then(
      ex, std::move(entries), version,
      [respond, held] { respond.stream(std::move(held->first), std::move(held->second)); },
      respond);
}

}  // namespace cairn::server
