#include "server/api/audit_reports.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/json.hpp"
#include "formats/stix.hpp"
#include "formats/time.hpp"
#include "server/api/audit_scope.hpp"
#include "server/api/exchange.hpp"
#include "server/api/query.hpp"
#include "server/auth/accounts.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

namespace {

response bad_request(std::string_view why, unsigned version) {
  return error_response(http::status::bad_request, why, version);
}

response store_error(const error& e, unsigned version) {
  return error_response(http_status_for(e.code), e.message, version);
}

// STIX timestamps compared as instants (their texts may differ in precision).
bool newer(std::string_view a, std::string_view b) {
  auto ta = formats::parse_rfc3339(a);
  auto tb = formats::parse_rfc3339(b);
  if (ta && tb && *ta != *tb) return *ta > *tb;
  return a > b;
}

// The object's latest live version in these collections, and whether it
// revokes the object.
struct current_state {
  std::optional<std::string> version;
  bool revoked = false;
};

result<current_state> current_of(exchange& ex, const std::vector<storage::collection_key>& keys,
                                 std::string_view id) {
  current_state out;
  auto r = ex.store().begin_read();
  for (const auto key : keys) {
    std::optional<std::string> last;
    bool revoked = false;
    r->versions(key, id, [&](const storage::object_record& v) {
      last = std::string(v.version);
      auto doc = formats::parse_json(v.json);
      revoked = false;
      if (doc) {
        if (auto m = doc->root().get("revoked"); m && m->is_bool()) revoked = m->as_bool();
      }
      return true;
    });
    if (last && (!out.version || newer(*last, *out.version))) {
      out.version = std::move(last);
      out.revoked = revoked;
    }
  }
  if (r->last_error()) return std::unexpected(*r->last_error());
  return out;
}

struct recipient {
  std::string version;
  std::string time;
};

}  // namespace

void audit_exposure(exchange& ex, const snapshot& snap, const account& who, const request& req,
                    std::string_view query, const respond_fn& respond) {
  const unsigned version = req.version();
  auto p = audit_params(query, {"object"});
  if (!p) return respond(bad_request(p.error().message, version));
  auto it = p->find("object");
  if (it == p->end() || it->second.empty()) {
    return respond(bad_request("object is required: the STIX id of an object", version));
  }
  const std::string& id = it->second;
  if (!formats::is_stix_id(id)) {
    return respond(bad_request("object must be a STIX id (type--UUID)", version));
  }

  storage::audit_query q;
  q.object = id;
  q.action = "pull";
  q.limit = storage::max_audit_limit;
  q.scope = audit_scope_of(snap, who);

  std::map<std::string, recipient> recipients;
  std::size_t seen = 0;
  for (;;) {
    auto page = ex.store().audit_records(q);
    if (!page) return respond(store_error(page.error(), version));
    for (const auto& json : page->records) {
      if (++seen > max_exposure_records) {
        return respond(bad_request("the exposure of " + id + " spans more than " +
                                       std::to_string(max_exposure_records) +
                                       " pull records, more than one answer reads: page through "
                                       "/cairn/v1/audit?action=pull&object=" +
                                       id + " instead",
                                   version));
      }
      auto doc = formats::parse_json(json);
      if (!doc)
        return respond(store_error(error{"an audit record is damaged", {}, errc::io}, version));
      const auto root = doc->root();
      auto account = root.get("account");
      auto time = root.get("time");
      auto objects = root.get("objects");
      if (!account || !time || !objects || !objects->is_array()) continue;
      std::optional<std::string> got;
      for (std::size_t i = 0; i < objects->size(); ++i) {
        const auto o = objects->value_at(i);
        auto oid = o.get("id");
        auto ov = o.get("version");
        if (!oid || !ov || oid->as_string() != id) continue;
        if (!got || newer(ov->as_string(), *got)) got = std::string(ov->as_string());
      }
      if (!got) continue;
      // Records come in seq order: the later delivery is what it holds last.
      recipients[std::string(account->as_string())] = {std::move(*got),
                                                       std::string(time->as_string())};
    }
    if (!page->more) break;
    q.after = page->resume;
  }

  std::vector<storage::collection_key> keys;
  if (q.scope) {
    keys = q.scope->keys;
  } else {
    for (const auto& [name, key] : snap.keys) keys.push_back(key);
  }
  auto current = current_of(ex, keys, id);
  if (!current) return respond(store_error(current.error(), version));

  formats::json_writer w;
  w.begin_object().member("object", id).key("current_version");
  if (current->version) {
    w.string(*current->version);
  } else {
    w.null();
  }
  w.member("revoked", current->revoked).key("recipients").begin_array();
  for (const auto& [name, r] : recipients) {
    w.begin_object()
        .member("account", name)
        .member("last_version_received", r.version)
        .member("time", r.time)
        .member("current", current->version.has_value() && *current->version == r.version)
        .end_object();
  }
  w.end_array().end_object();
  respond(json_response(http::status::ok, w.take(), version));
}

void audit_stats(exchange& ex, const snapshot& snap, const account& who, const request& req,
                 std::string_view query, const respond_fn& respond) {
  const unsigned version = req.version();
  auto p = audit_params(query, {"bucket", "since", "until", "collection"});
  if (!p) return respond(bad_request(p.error().message, version));
  storage::audit_stats_query q;
  auto bucket = p->find("bucket");
  if (bucket == p->end() || (bucket->second != "hour" && bucket->second != "day")) {
    return respond(bad_request("bucket must be hour or day", version));
  }
  q.day = bucket->second == "day";
  if (auto window = audit_time_window(*p, q.since, q.until); !window) {
    return respond(bad_request(window.error().message, version));
  }
  if (q.since && q.until && *q.since > *q.until) {
    return respond(bad_request("since is after until", version));
  }
  q.scope = audit_scope_of(snap, who);
  bool out_of_scope = false;
  if (auto it = p->find("collection"); it != p->end()) {
    auto filter = audit_collection_of(snap, who, it->second);
    if (!filter) return respond(bad_request(filter.error().message, version));
    q.collection = std::move(filter->id);
    out_of_scope = filter->out_of_scope;
  }

  std::vector<storage::audit_stats_point> points;
  if (!out_of_scope) {
    auto got = ex.store().audit_stats(q);
    if (!got) return respond(store_error(got.error(), version));
    points = std::move(*got);
  }
  formats::json_writer w;
  w.begin_object().member("bucket", q.day ? "day" : "hour").key("series").begin_array();
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i == 0 || points[i].account != points[i - 1].account) {
      if (i > 0) w.end_array().end_object();
      w.begin_object().member("account", points[i].account).key("points").begin_array();
    }
    w.begin_object()
        .member("time", formats::format_taxii_time(points[i].bucket))
        .member("records", static_cast<std::int64_t>(points[i].records))
        .member("objects", static_cast<std::int64_t>(points[i].objects))
        .end_object();
  }
  if (!points.empty()) w.end_array().end_object();
  w.end_array().end_object();
  respond(json_response(http::status::ok, w.take(), version));
}

}  // namespace cairn::server
