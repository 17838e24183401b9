#include "server/api/taxii_service.hpp"

#include <algorithm>

#include "formats/stix.hpp"
#include "formats/taxii.hpp"
#include "server/api/audit_service.hpp"
#include "server/api/publishing.hpp"
#include "server/api/query.hpp"
#include "server/auth/policy.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

namespace {

using storage::object_record;
using read_txn = storage::reader;

// How many stored versions one page request may examine before it answers
// with what it has (more: true), so that a sparse filter cannot make one
// request scan the whole collection.
constexpr std::size_t k_max_examined = 200'000;

std::string_view type_of(std::string_view id) {
  auto pos = id.find("--");
  return pos == std::string_view::npos ? id : id.substr(0, pos);
}

bool listed(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool spec_version_ok(const taxii_query& q, const object_record& r) {
  return q.spec_versions.empty() || listed(q.spec_versions, r.spec_version);
}

// Whether r, which the account may receive, is hidden from it as a later
// copy. A writer who may not receive a stored version can store its own copy
// of the same (id, version) (see add_objects). Of the copies of one version,
// each reader gets the first stored that it may receive: a later copy
// neither overrides nor repeats the version for a reader who sees an
// earlier one, and the writer, who sees none of the earlier ones, gets its
// own. Only records flagged as later copies cost a look-up. An object
// published without a version is a duplicate of any version of its id, so
// its copy (an id copy, with a version assigned) is hidden likewise by any
// earlier version of its id.
bool hidden_copy(const read_txn& txn, const account& who, const object_record& r) {
  if (!r.later_copy) return false;
  return txn.earlier_copy(r, [&](const object_record& o) { return may_receive(who, o); });
}

// First and last among the versions of r's object that this account may
// receive: a withheld version must not change what "first" or "last" means,
// nor a copy hidden from it. (Copies of one version count as that one
// version: see version_rank. An id copy has a version of its own.)
read_txn::rank visible_rank(const read_txn& txn, const account& who, const object_record& r) {
  // r itself is one the account may receive (the callers checked); only the
  // other versions need the policy.
  return txn.version_rank(
      r, [&](const object_record& v) { return may_receive(who, v) && !hidden_copy(txn, who, v); });
}

bool version_ok(const read_txn& txn, const account& who, const taxii_query& q,
                const object_record& r) {
  const auto& f = q.versions;
  if (f.all) return true;
  if (!f.time_keys.empty()) {
    auto key = formats::stix_time_key(r.version);
    if (key && listed(f.time_keys, *key)) return true;
  }
  // A version the store knows to be its object's newest is the last of
  // every reader's: no later version exists, withheld or not.
  if (f.last && r.newest) return true;
  if (f.first || f.last) {
    auto rank = visible_rank(txn, who, r);
    if ((f.first && rank.first) || (f.last && rank.last)) return true;
  }
  return false;
}

struct page {
  bool more = false;
  micros resume = 0;  // position to continue after
  micros first_added = 0;
  micros last_added = 0;
  std::size_t count = 0;
  std::size_t bytes = 0;  // of the object JSON taken
};

// Selects the records of one page in date_added order and passes each to
// emit. only_id restricts to one object (the object and versions endpoints);
// use_version_filter is false for the versions endpoint. A page ends at
// q.limit records, and, when max_bytes is not 0, before a record whose JSON
// would take the page's JSON past max_bytes (limits.max_page_bytes): the
// page then holds at most max_bytes of object JSON, except that its first
// record is always taken, however large. Either way `resume` is the last
// record taken, so `next` continues right after it.
template <class Emit>
page select(const read_txn& txn, const taxii_call& c, const taxii_query& q, micros start,
            const std::vector<std::string>& ids, bool use_version_filter, std::size_t max_bytes,
            Emit&& emit) {
  page p;
  auto full = [&](const object_record& r) {
    return p.count == q.limit ||
           (max_bytes != 0 && p.count > 0 && p.bytes + r.json.size() > max_bytes);
  };
  auto accept = [&](const object_record& r) {
    if (!may_receive(c.who, r)) return false;
    if (!q.types.empty() && !listed(q.types, type_of(r.id))) return false;
    if (!spec_version_ok(q, r)) return false;
    if (hidden_copy(txn, c.who, r)) return false;
    if (use_version_filter && !version_ok(txn, c.who, q, r)) return false;
    return true;
  };
  auto take = [&](const object_record& r) {
    if (p.count == 0) p.first_added = r.date_added;
    p.last_added = r.date_added;
    p.resume = r.date_added;
    ++p.count;
    p.bytes += r.json.size();
    if (c.delivered) c.delivered->add(r.date_added, r.id, r.version);
    emit(r);
  };

  if (!ids.empty()) {
    std::vector<micros> positions;
    for (const auto& id : ids) {
      txn.versions(c.key, id, [&](const object_record& r) {
        if (r.date_added > start && accept(r)) positions.push_back(r.date_added);
        return positions.size() < k_max_examined;
      });
    }
    std::sort(positions.begin(), positions.end());
    for (micros pos : positions) {
      auto r = txn.at(c.key, pos);
      if (!r) continue;
      if (full(*r)) {
        p.more = true;
        break;
      }
      take(*r);
    }
    return p;
  }

  // Only what the account may receive is read at all: a collection of
  // withheld versions answers like an empty one, in body and in time, and
  // neither the examined count nor `resume` ever moves over a withheld one.
  std::size_t examined = 0;
  const storage::visibility sees{c.who.clearance, c.who.name};
  txn.scan(c.key, start, sees, [&](const object_record& r) {
    if (++examined > k_max_examined) {
      p.more = true;
      return false;
    }
    if (!accept(r)) {
      if (p.count == 0) p.resume = r.date_added;
      return true;
    }
    if (full(r)) {
      p.more = true;
      return false;
    }
    take(r);
    return true;
  });
  return p;
}

// Parses the query and resolves `next` into a start position; on error the
// response is set instead.
struct query_start {
  taxii_query q;
  micros start = 0;
  std::string binding;
};

std::optional<query_start> prepare(const taxii_call& c, response& error) {
  const auto& cfg = *c.snap.cfg;
  auto q = parse_taxii_query(c.query, cfg.limits.page_size);
  if (!q) {
    error = error_response(http::status::bad_request, q.error().message, c.req.version());
    return std::nullopt;
  }
  query_start s{std::move(*q), 0, {}};
  s.binding = c.who.name;
  s.binding += '\n';
  s.binding += c.path;
  s.binding += '\n';
  s.binding += s.q.filter_binding();
  if (s.q.added_after) s.start = *s.q.added_after;
  if (!s.q.next.empty()) {
    auto pos = c.ex.tokens().decode(s.q.next, s.binding);
    if (!pos) {
      error = error_response(http::status::bad_request,
                             "next: this token was not issued for this query, this account "
                             "and these filters (send the same filters as the first request)",
                             c.req.version());
      return std::nullopt;
    }
    s.start = std::max(s.start, *pos);
  }
  return s;
}

void set_date_headers(response& res, const page& p) {
  if (p.count == 0) return;
  res.set("X-TAXII-Date-Added-First", formats::format_taxii_time(p.first_added));
  res.set("X-TAXII-Date-Added-Last", formats::format_taxii_time(p.last_added));
}

std::string next_token(const taxii_call& c, const page& p, const query_start& s) {
  if (!p.more) return {};
  return c.ex.tokens().encode(p.resume, s.binding);
}

// The collection resource as an account with these rights sees it: the
// snapshot's serialised copy (exchange::apply makes one for every
// collection of its config, the config the router resolved cc in).
const std::string* collection_body(const snapshot& snap, const collection_config& cc, bool can_read,
                                   bool can_write) {
  auto it = snap.bodies.collections.find(&cc);
  if (it == snap.bodies.collections.end()) return nullptr;
  return &it->second[(can_read ? 2 : 0) + (can_write ? 1 : 0)];
}

// The answer when a resource is missing from the snapshot: a fault of the
// server, never of the request.
response no_body(const taxii_call& c) {
  return error_response(http::status::internal_server_error,
                        "the configuration snapshot has no serialised resource for this path",
                        c.req.version());
}

bool any_visible_version(const read_txn& txn, const taxii_call& c) {
  bool found = false;
  txn.versions(c.key, c.object_id, [&](const object_record& r) {
    found = may_receive(c.who, r);
    return !found;
  });
  return found;
}

// A reader that could not reach the store found nothing: that is a 503 to
// retry, not an empty page or a 404 (a client paging by added_after would
// take an empty page as "nothing new" and move on).
std::optional<response> unreadable(const read_txn& txn, const taxii_call& c) {
  const auto& e = txn.last_error();
  if (!e || e->code != errc::unavailable) return std::nullopt;
  return error_response(http::status::service_unavailable,
                        "the store cannot be reached now: " + e->message, c.req.version());
}

response not_found_object(const taxii_call& c) {
  return error_response(http::status::not_found, "no object " + c.object_id + " in this collection",
                        c.req.version());
}

}  // namespace

response taxii_service::discovery(const taxii_call& c) {
  return taxii_response(http::status::ok, c.snap.bodies.discovery, c.req.version());
}

response taxii_service::api_root(const taxii_call& c) {
  auto it = c.snap.bodies.api_roots.find(c.root_cfg);
  if (it == c.snap.bodies.api_roots.end()) return no_body(c);
  return taxii_response(http::status::ok, it->second, c.req.version());
}

response taxii_service::status(const taxii_call& c, std::string_view status_id) {
  const auto reading = c.ex.store().begin_read();
  const read_txn& txn = *reading;
  auto s = txn.status(status_id);
  if (auto down = unreadable(txn, c)) return std::move(*down);
  // Only the account that made the request may see its status.
  if (!s || s->owner != c.who.name || s->api_root != c.root) {
    return error_response(http::status::not_found,
                          "no status " + std::string(status_id) + " in this API root",
                          c.req.version());
  }
  formats::status_resource r;
  r.id = s->id;
  r.complete = s->complete();
  r.request_timestamp = s->request_timestamp;
  r.successes = std::move(s->successes);
  r.failures = std::move(s->failures);
  r.pendings = std::move(s->pendings);
  return taxii_response(http::status::ok, formats::write_status(r), c.req.version());
}

response taxii_service::collections(const taxii_call& c) {
  // {"collections":[...]} with the ones the account has a right on, or {}
  // (write_collections' shape, from the serialised collections).
  std::string body;
  for (const auto& cc : c.root_cfg->collections) {
    const bool can_read = c.who.can_read(c.root, cc.id);
    const bool can_write = c.who.can_write(c.root, cc.id);
    if (!can_read && !can_write) continue;
    const auto* one = collection_body(c.snap, cc, can_read, can_write);
    if (!one) return no_body(c);
    body += body.empty() ? R"({"collections":[)" : ",";
    body += *one;
  }
  body += body.empty() ? "{}" : "]}";
  return taxii_response(http::status::ok, std::move(body), c.req.version());
}

response taxii_service::collection(const taxii_call& c) {
  const auto& cc = *c.collection;
  const auto* body =
      collection_body(c.snap, cc, c.who.can_read(c.root, cc.id), c.who.can_write(c.root, cc.id));
  if (!body) return no_body(c);
  return taxii_response(http::status::ok, *body, c.req.version());
}

response taxii_service::get_objects(const taxii_call& c) {
  response error;
  auto s = prepare(c, error);
  if (!s) return error;
  const auto reading = c.ex.store().begin_read();
  const read_txn& txn = *reading;
  // The page is selected first and written once its size is known: the
  // records' JSON stays valid while the reader lives, and the body is
  // allocated once and each object copied into it once.
  std::vector<std::string_view> objects;
  auto p = select(txn, c, s->q, s->start, s->q.ids, true, c.snap.cfg->limits.max_page_bytes,
                  [&](const object_record& r) { objects.push_back(r.json); });
  if (auto down = unreadable(txn, c)) return std::move(*down);
  formats::envelope_writer w;
  w.reserve(p.bytes, objects.size());
  for (const std::string_view json : objects) w.add_object(json);
  auto res =
      taxii_response(http::status::ok, w.finish(p.more, next_token(c, p, *s)), c.req.version());
  set_date_headers(res, p);
  return res;
}

response taxii_service::manifest(const taxii_call& c) {
  response error;
  auto s = prepare(c, error);
  if (!s) return error;
  const auto reading = c.ex.store().begin_read();
  const read_txn& txn = *reading;
  formats::manifest_writer w;
  // Entries are small (no object JSON): bounded by the count alone.
  auto p = select(txn, c, s->q, s->start, s->q.ids, true, 0,
                  [&](const object_record& r) { w.add(r.id, r.date_added, r.version); });
  if (auto down = unreadable(txn, c)) return std::move(*down);
  auto res =
      taxii_response(http::status::ok, w.finish(p.more, next_token(c, p, *s)), c.req.version());
  set_date_headers(res, p);
  return res;
}

response taxii_service::get_object(const taxii_call& c) {
  response error;
  auto s = prepare(c, error);
  if (!s) return error;
  const auto reading = c.ex.store().begin_read();
  const read_txn& txn = *reading;
  if (!any_visible_version(txn, c)) return unreadable(txn, c).value_or(not_found_object(c));
  s->q.types.clear();  // the object endpoint filters by version and spec_version only
  formats::envelope_writer w;
  auto p = select(txn, c, s->q, s->start, {c.object_id}, true, c.snap.cfg->limits.max_page_bytes,
                  [&](const object_record& r) { w.add_object(r.json); });
  if (auto down = unreadable(txn, c)) return std::move(*down);
  auto res =
      taxii_response(http::status::ok, w.finish(p.more, next_token(c, p, *s)), c.req.version());
  set_date_headers(res, p);
  return res;
}

response taxii_service::versions(const taxii_call& c) {
  response error;
  auto s = prepare(c, error);
  if (!s) return error;
  const auto reading = c.ex.store().begin_read();
  const read_txn& txn = *reading;
  if (!any_visible_version(txn, c)) return unreadable(txn, c).value_or(not_found_object(c));
  s->q.types.clear();
  formats::versions_writer w;
  // Only the versions: bounded by the count alone.
  auto p = select(txn, c, s->q, s->start, {c.object_id}, false, 0,
                  [&](const object_record& r) { w.add(r.version); });
  if (auto down = unreadable(txn, c)) return std::move(*down);
  auto res =
      taxii_response(http::status::ok, w.finish(p.more, next_token(c, p, *s)), c.req.version());
  set_date_headers(res, p);
  return res;
}

void taxii_service::add_objects(taxii_call c) {
  const auto& limits = c.snap.cfg->limits;
  formats::json_limits jl;
  jl.max_bytes = limits.max_content_length;
  jl.max_depth = limits.max_json_depth;
  auto parsed = formats::parse_envelope(c.req.body(), jl, limits.max_objects_per_request);
  const unsigned version = c.req.version();
  if (!parsed) {
    return c.respond(
        error_response(http::status::unprocessable_entity,
                       "the body is not a TAXII envelope: " + parsed.error().to_string(), version));
  }
  if (parsed->empty()) {
    return c.respond(error_response(http::status::unprocessable_entity,
                                    "the envelope holds no objects", version));
  }
  const publication where{&c.who, c.key, std::string(c.root), c.collection->default_tlp};
  // The publish record commits with the objects, or neither does.
  auto record = audit_service::entry(c, "publish", 202);
  auto respond = std::move(c.respond);
  auto stored = [respond, version, metrics = c.ex.metrics(),
                 collection_id = c.collection->id](result<storage::publish_outcome> out) {
    if (out && metrics) metrics->published(collection_id, out->added);
    if (!out) {
      // A full map or a full disk (ENOSPC, EDQUOT) is 507; a failed commit 503.
      return respond(error_response(
          http_status_for(out.error().code),
          "the objects could not be stored: " + out.error().message + "; nothing was added",
          version));
    }
    formats::status_resource r;
    const auto& s = out->status;
    r.id = s.id;
    r.complete = s.complete();
    r.request_timestamp = s.request_timestamp;
    for (const auto& d : s.successes) r.successes.push_back({d.id, d.version, d.message});
    for (const auto& d : s.failures) r.failures.push_back({d.id, d.version, d.message});
    for (const auto& d : s.pendings) r.pendings.push_back({d.id, d.version, d.message});
    respond(taxii_response(http::status::accepted, formats::write_status(r), version));
  };
  server::publish(c.ex.store(), where, std::move(*parsed), std::move(record), std::move(stored));
}

void taxii_service::delete_object(taxii_call c) {
  response error;
  auto s = prepare(c, error);
  if (!s) return c.respond(std::move(error));
  // Without match[version], DELETE removes every version (TAXII 5.7).
  auto params = parse_query_string(c.query);
  const bool version_given =
      params && std::any_of(params->begin(), params->end(),
                            [](const auto& p) { return p.first == "match[version]"; });
  if (!version_given) s->q.versions = {.all = true};
  storage::delete_request d;
  d.collection = c.key;
  {
    const auto reading = c.ex.store().begin_read();
    const read_txn& txn = *reading;
    if (!any_visible_version(txn, c)) {
      return c.respond(unreadable(txn, c).value_or(not_found_object(c)));
    }
    // Every copy of a matching version that the account may receive goes,
    // hidden later copies too: a deleted version must not come back as
    // another copy. Copies it may not receive stay (a writer deleting its
    // own copy leaves a withheld earlier one alone).
    txn.versions(c.key, c.object_id, [&](const object_record& r) {
      if (may_receive(c.who, r) && spec_version_ok(s->q, r) && version_ok(txn, c.who, s->q, r)) {
        d.positions.push_back(r.date_added);
      }
      return true;
    });
    // A copy of the id (an object posted without a version by a writer who
    // could not see the stored ones) has a version of its own, which the
    // filters may not match: it goes too when every version that hid it
    // from the account goes, or it would take their place. Repeated, as one
    // such copy may hide another.
    auto deleting = [&](micros at) {
      return std::find(d.positions.begin(), d.positions.end(), at) != d.positions.end();
    };
    for (bool added = !d.positions.empty(); added;) {
      added = false;
      txn.versions(c.key, c.object_id, [&](const object_record& r) {
        if (!r.id_copy || deleting(r.date_added) || !may_receive(c.who, r) ||
            !hidden_copy(txn, c.who, r)) {
          return true;
        }
        const bool still_hidden = txn.earlier_copy(r, [&](const object_record& o) {
          return may_receive(c.who, o) && !deleting(o.date_added);
        });
        if (!still_hidden) {
          d.positions.push_back(r.date_added);
          added = true;
        }
        return true;
      });
    }
    // A read that failed half way must not decide what to delete.
    if (auto down = unreadable(txn, c)) return c.respond(std::move(*down));
  }
  const unsigned version = c.req.version();
  if (d.positions.empty()) {
    return c.respond(error_response(
        http::status::not_found, "no version of " + c.object_id + " matches the filters", version));
  }
  // The delete record commits with the deletion, or neither does.
  auto record = audit_service::entry(c, "delete", 200);
  auto respond = std::move(c.respond);
  c.ex.store().remove(std::move(d), std::move(record), [respond, version](result<std::size_t> out) {
    if (!out) {
      return respond(error_response(http_status_for(out.error().code),
                                    "the object could not be deleted: " + out.error().message,
                                    version));
    }
    response res{http::status::ok, version};
    res.set(http::field::server, "cairn");
    res.set(http::field::content_type, std::string(formats::taxii_media_type));
    respond(std::move(res));
  });
}

}  // namespace cairn::server
