#include "server/api/router.hpp"

#include <algorithm>
#include <vector>

#include "formats/ascii.hpp"
#include "formats/taxii.hpp"
#include "server/api/audit_service.hpp"
#include "server/api/console_service.hpp"
#include "server/api/exports_service.hpp"
#include "server/api/query.hpp"
#include "server/api/route_table.hpp"
#include "server/api/statuses_service.hpp"
#include "server/api/taxii_service.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

using formats::iequals;
using formats::trim_ows;

namespace {

// Only POST .../objects/ takes a body. Other requests of an authenticated
// account may carry a small one, which is read and ignored; a request that
// needs no credentials (health) a tiny one.
constexpr std::uint64_t k_small_body = 64 * 1024;
constexpr std::uint64_t k_anonymous_body = 1024;

constexpr std::string_view k_auth_throttled =
    "too many failed authentication attempts for this account or from this address";
constexpr std::string_view k_csrf_refused =
    "a console request that changes state needs its session's X-CSRF-Token header";

// A media type as sent (its type and version parameter compare without
// case: no lower-case copy is made per request).
struct media_type {
  std::string_view type;     // "application/taxii+json"
  std::string_view version;  // the version parameter, or empty
};

media_type parse_media_type(std::string_view text) {
  media_type m;
  auto semi = text.find(';');
  m.type = trim_ows(text.substr(0, semi));
  while (semi != std::string_view::npos) {
    text.remove_prefix(semi + 1);
    semi = text.find(';');
    auto param = trim_ows(text.substr(0, semi));
    auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (iequals(trim_ows(param.substr(0, eq)), "version")) {
      auto v = trim_ows(param.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      m.version = v;
    }
  }
  return m;
}

bool is_taxii_type(const media_type& m) {
  return (iequals(m.type, "application/taxii+json") ||
          iequals(m.type, "application/vnd.oasis.taxii+json")) &&
         (m.version.empty() || m.version == "2.1");
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  out.reserve(8);
  std::size_t start = 0;
  while (start < path.size()) {
    auto slash = path.find('/', start);
    auto seg = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (seg.find_first_of("%+") != std::string_view::npos) {
      // Only an escape or a '+' makes decoding change anything.
      auto decoded = percent_decode(seg);
      out.push_back(decoded ? std::move(*decoded) : std::string(seg));
    } else if (!seg.empty()) {
      out.emplace_back(seg);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

response unauthorized(unsigned version, std::string_view why) {
  auto res = error_response(http::status::unauthorized, why, version);
  res.set(http::field::www_authenticate, "Basic realm=\"cairn\"");
  return res;
}

// The 401 a failed check answers: the console's sign-in challenges with
// Session (no password dialog in a browser), everything else with Basic.
enum class challenge { basic, session };

response wrong_credentials(unsigned version, std::string_view why, challenge c) {
  return c == challenge::basic ? unauthorized(version, why)
                               : console_service::unauthorized(why, version);
}

template <class Name>
std::string_view field(const request_header& req, Name name) {
  const auto v = req[name];
  return {v.data(), v.size()};
}

response method_not_allowed(unsigned version, std::string_view allow) {
  auto res = error_response(http::status::method_not_allowed,
                            "this endpoint allows " + std::string(allow), version);
  res.set(http::field::allow, std::string(allow));
  return res;
}

}  // namespace

bool accepts_taxii(std::string_view accept) {
  if (trim_ows(accept).empty()) return true;
  std::size_t start = 0;
  while (start <= accept.size()) {
    auto comma = accept.find(',', start);
    auto range =
        accept.substr(start, comma == std::string_view::npos ? accept.npos : comma - start);
    auto m = parse_media_type(range);
    if (is_taxii_type(m) || m.type == "*/*" || iequals(m.type, "application/*")) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

bool is_taxii_content_type(std::string_view content_type) {
  return is_taxii_type(parse_media_type(content_type));
}

// What judge_head() learnt from a head, for handle(): the config the request
// is served under, the caller, and the endpoint with what it names.
struct head_context {
  enum class endpoint {
    health,
    audit,
    lookup,
    export_values,
    alerts,
    statuses,
    discovery,
    api_root,
    status,
    collections,
    collection,
    manifest,
    get_objects,
    add_objects,
    get_object,
    delete_object,
    versions,
    console_index,    // anonymous
    console_asset,    // anonymous
    console_sign_in,  // anonymous
    console_session,  // the cookie only
  };
  std::shared_ptr<const snapshot> snap;
  std::string_view route;              // the route table's name for the path (metrics)
  std::shared_ptr<const account> who;  // null for the health endpoint only
  endpoint what = endpoint::health;
  path_params params;                 // the route's: root, collection, status, object, what
  const std::string* root = nullptr;  // the API root's name, in snap's config
  const api_root_config* root_cfg = nullptr;
  const collection_config* collection = nullptr;
  // Set when the console's session cookie authenticated the request.
  std::optional<console_session> session;
  bool console = false;  // a console endpoint: its security headers on every answer
};

using endpoint = head_context::endpoint;

namespace {

// The rights on its collection that an endpoint needs beyond seeing it (a
// collection the account has no right on at all is a 404 for it).
enum class right { none, read, write, read_write };

struct route {
  endpoint what;
  right needs = right::none;
  bool anonymous = false;      // answered before authentication
  bool taxii = true;           // answers TAXII: the Accept header must allow it (406)
  bool taxii_body = false;     // the body must be a TAXII envelope (415)
  std::string_view verb = "";  // for a 403: "account 'x' may not <verb> this collection"
  bool console = false;        // console_service answers (security headers on refusals too)
  bool cookie_only = false;    // authenticated by the console's session cookie alone
};

route_table<route> make_routes() {
  using http::verb;
  const std::optional<verb> any;
  route_table<route> t;
  t.add(verb::get, "/cairn/v1/health/", {.what = endpoint::health, .anonymous = true});
  // The console: its page and files (no data in them) and its sign-in are
  // anonymous; its session endpoint takes the cookie alone.
  for (auto v : {verb::get, verb::head}) {
    t.add(v, "/cairn/console/",
          {.what = endpoint::console_index, .anonymous = true, .taxii = false, .console = true});
    t.add(v, "/cairn/console/assets/{bundle}/{file}/",
          {.what = endpoint::console_asset, .anonymous = true, .taxii = false, .console = true});
  }
  t.add(verb::post, "/cairn/console/session/",
        {.what = endpoint::console_sign_in, .anonymous = true, .taxii = false, .console = true});
  for (auto v : {verb::get, verb::delete_}) {
    t.add(
        v, "/cairn/console/session/",
        {.what = endpoint::console_session, .taxii = false, .console = true, .cookie_only = true});
  }
  // The sharing record's endpoints answer JSON (auditors only) and judge
  // their own methods.
  t.add(any, "/cairn/v1/audit/", {.what = endpoint::audit, .taxii = false});
  t.add(any, "/cairn/v1/audit/{what}/", {.what = endpoint::audit, .taxii = false});
  // Lookup and exports answer JSON, text or CSV (any account; they judge
  // their own methods and resolve their own collections, under the TAXII
  // rules).
  t.add(any, "/cairn/v1/lookup/", {.what = endpoint::lookup, .taxii = false});
  t.add(any, "/cairn/v1/export/{root}/{collection}/",
        {.what = endpoint::export_values, .taxii = false});
  t.add(any, "/cairn/v1/alerts/", {.what = endpoint::alerts, .taxii = false});
  // The caller's own publish statuses, as summaries (any account).
  t.add(any, "/cairn/v1/statuses/", {.what = endpoint::statuses, .taxii = false});
  t.add(verb::get, "/taxii2/", {.what = endpoint::discovery});
  t.add(verb::get, "/{root}/", {.what = endpoint::api_root});
  t.add(verb::get, "/{root}/status/{status}/", {.what = endpoint::status});
  t.add(verb::get, "/{root}/collections/", {.what = endpoint::collections});
  t.add(verb::get, "/{root}/collections/{collection}/", {.what = endpoint::collection});
  t.add(verb::get, "/{root}/collections/{collection}/manifest/",
        {.what = endpoint::manifest, .needs = right::read, .verb = "read"});
  t.add(verb::get, "/{root}/collections/{collection}/objects/",
        {.what = endpoint::get_objects, .needs = right::read, .verb = "read"});
  t.add(verb::post, "/{root}/collections/{collection}/objects/",
        {.what = endpoint::add_objects,
         .needs = right::write,
         .taxii_body = true,
         .verb = "write to"});
  t.add(verb::get, "/{root}/collections/{collection}/objects/{object}/",
        {.what = endpoint::get_object, .needs = right::read, .verb = "read"});
  // TAXII 5.7: deleting needs both rights.
  t.add(verb::delete_, "/{root}/collections/{collection}/objects/{object}/",
        {.what = endpoint::delete_object, .needs = right::read_write, .verb = "delete from"});
  t.add(verb::get, "/{root}/collections/{collection}/objects/{object}/versions/",
        {.what = endpoint::versions, .needs = right::read, .verb = "read"});
  return t;
}

// What a path that is no endpoint names, so that the 404 says which part is
// unknown: the API root, or the collection in it.
route_table<bool> make_scopes() {
  route_table<bool> t;
  t.add(std::nullopt, "/{root}/", true);
  t.add(std::nullopt, "/{root}/collections/{collection}/", true);
  return t;
}

const route_table<route>& routes() {
  static const route_table<route> table = make_routes();
  return table;
}

const route_table<bool>& scopes() {
  static const route_table<bool> table = make_scopes();
  return table;
}

}  // namespace

head_verdict router::judge_head(const request_header& header, const peer_info& peer) {
  auto ctx = std::make_shared<head_context>();
  ctx->snap = ex_.current();
  if (auto refusal = judge(header, peer, *ctx)) {
    if (ctx->console) console_service::add_security_headers(*refusal);
    return {std::move(refusal), 0, nullptr, ctx->route};
  }
  head_verdict v;
  v.route = ctx->route;
  if (ctx->what == endpoint::add_objects) {
    v.body_limit = ctx->snap->cfg->limits.max_content_length;
  } else if (ctx->what == endpoint::console_sign_in) {
    v.body_limit = console_service::max_sign_in_body;
  } else {
    v.body_limit = ctx->who ? k_small_body : k_anonymous_body;
  }
  v.context = std::move(ctx);
  return v;
}

std::expected<std::shared_ptr<const account>, response> router::sign_in(std::string_view name,
                                                                        std::string_view password,
                                                                        const peer_info& peer,
                                                                        const snapshot& snap,
                                                                        unsigned version) {
  auto who = checked(throttle_.authenticate_basic(*snap.accounts, name, password,
                                                  peer.remote_address, snap.cfg->limits),
                     name, peer, snap, version, "unknown account or wrong password",
                     /*session_challenge=*/true);
  if (!who) return who;
  return admit(std::move(*who), peer, snap, version);
}

response router::transport_error(http::status status, const std::string& description,
                                 unsigned version) const {
  return error_response(status, description, version);
}

std::expected<std::shared_ptr<const account>, response> router::checked(
    throttle::auth_outcome out, std::string_view claimed, const peer_info& peer,
    const snapshot& snap, unsigned version, std::string_view why, bool session_challenge) {
  if (out.who) return std::move(out.who);
  auto res = out.retry_after
                 ? throttled_response(*out.retry_after, k_auth_throttled, version)
                 : wrong_credentials(version, why,
                                     session_challenge ? challenge::session : challenge::basic);
  // Failed authentication goes into the sharing record (audit_service.hpp).
  audit_service::auth_failure(ex_, snap, peer, claimed, res.result_int());
  return std::unexpected(std::move(res));
}

std::expected<std::shared_ptr<const account>, response> router::authenticate(
    const request_header& req, const peer_info& peer, const snapshot& snap,
    std::optional<console_session>& session, bool cookie_only) {
  const unsigned version = req.version();
  // Failures are throttled (throttle.hpp): a refused attempt runs no KDF.
  const auto& limits = snap.cfg->limits;
  std::shared_ptr<const account> who;
  const auto auth = field(req, http::field::authorization);
  const auto token = session_cookie_value(field(req, http::field::cookie));
  if (!auth.empty() && !cookie_only) {
    auto creds = parse_authorization(auth);
    if (!creds) {
      throttle::auth_outcome out;
      if (auto d =
              throttle_.record_cheap_failure(peer.remote_address, limits, throttle::clock::now());
          !d.allowed) {
        out.retry_after = d.retry_after;
      }
      return checked(
          std::move(out), "", peer, snap, version,
          "the Authorization header is not usable: " + std::string(to_string(creds.error())));
    }
    constexpr std::string_view wrong = "unknown account or wrong credentials";
    if (auto* basic = std::get_if<basic_credentials>(&*creds)) {
      auto out = checked(throttle_.authenticate_basic(*snap.accounts, basic->user_id,
                                                      basic->password, peer.remote_address, limits),
                         basic->user_id, peer, snap, version, wrong);
      if (!out) return out;
      who = std::move(*out);
    } else if (auto* bearer = std::get_if<bearer_credentials>(&*creds)) {
      auto out = checked(
          throttle_.authenticate_bearer(*snap.accounts, bearer->token, peer.remote_address, limits),
          "", peer, snap, version, wrong);
      if (!out) return out;
      who = std::move(*out);
    }
  } else if (token) {
    // The cookie names a live session of an account whose entry has not
    // changed since it signed in (the current table decides).
    if (auto s = ex_.sessions().find(*token)) {
      auto fp = snap.fingerprints.find(s->account);
      if (fp != snap.fingerprints.end() && fp->second == s->fingerprint) {
        who = snap.accounts->find(s->account);
      }
      if (who) {
        session = std::move(s);
      } else {
        ex_.sessions().end(*token);
      }
    }
    if (!who && (cookie_only || peer.cert_sha256.empty())) {
      return std::unexpected(console_service::unauthorized(
          "the console session is unknown or has ended: sign in again", version));
    }
  }
  if (!who && !cookie_only && !peer.cert_sha256.empty()) {
    auto out = checked(
        throttle_.authenticate_cert(*snap.accounts, peer.cert_sha256, peer.remote_address, limits),
        "", peer, snap, version, "the client certificate belongs to no account on this server");
    if (!out) return out;
    who = std::move(*out);
  }
  if (!who && cookie_only) {
    return std::unexpected(
        console_service::unauthorized("no console session: sign in first", version));
  }
  if (!who) {
    return std::unexpected(unauthorized(
        version, "authentication is required (Basic, Bearer or a client certificate)"));
  }
  return admit(std::move(who), peer, snap, version);
}

std::expected<std::shared_ptr<const account>, response> router::admit(
    std::shared_ptr<const account> who, const peer_info& peer, const snapshot& snap,
    unsigned version) {
  const auto& limits = snap.cfg->limits;
  // The request rate limit first: a suspended account's refusals are
  // recorded, and must not be had faster than any other request.
  if (auto d = throttle_.admit_request(who->name, limits, throttle::clock::now()); !d.allowed) {
    return std::unexpected(throttled_response(
        d.retry_after, "account '" + who->name + "' is over its request rate limit", version));
  }
  // Valid credentials of a suspended account: refused on every path, and
  // recorded (the monitor raises suspended-use).
  if (who->suspended || ex_.watch().suspended(who->name)) {
    audit_service::suspended(ex_, *who, peer);
    return std::unexpected(
        error_response(http::status::forbidden,
                       "account suspended: account '" + who->name +
                           "' may not use this exchange until an operator resumes it",
                       version));
  }
  ex_.watch().authenticated(who->name, peer.remote_address);
  return who;
}

std::optional<response> router::judge(const request_header& req, const peer_info& peer,
                                      head_context& ctx) {
  using outcome = route_table<route>::outcome;
  const unsigned version = req.version();
  const auto& snap = ctx.snap;
  const std::string_view target(req.target().data(), req.target().size());
  const auto segs = split_path(target.substr(0, target.find('?')));
  auto m = routes().find(req.method(), segs);
  ctx.route = m.pattern;

  ctx.console = m.target && m.target->console;
  // Only the health endpoint and the console's page, files and sign-in
  // answer before authentication.
  if (m.target && m.target->anonymous) {
    if (m.result == outcome::method_not_allowed) return method_not_allowed(version, m.allow);
    ctx.what = m.target->what;
    ctx.params = std::move(m.params);
    return std::nullopt;
  }

  // Authentication comes before anything that could reveal what exists.
  auto who = authenticate(req, peer, *snap, ctx.session,
                          m.result == outcome::found && m.target->cookie_only);
  if (!who) {
    if (m.result == outcome::found && m.target->what == endpoint::console_session &&
        req.method() == http::verb::get && who.error().result() == http::status::unauthorized) {
      return console_service::no_session(version);
    }
    return std::move(who.error());
  }
  ctx.who = *who;
  // A browser sends the cookie with any request to this host, whoever made
  // it: what changes state must prove it comes from the console's page.
  if (ctx.session &&
      !csrf_allows(req.method(), field(req, "X-CSRF-Token"), field(req, http::field::origin),
                   field(req, http::field::host), *ctx.session)) {
    audit_service::denied(ex_, *ctx.who, peer, "", "", 403);
    return error_response(http::status::forbidden, k_csrf_refused, version);
  }

  if (m.result == outcome::found && !m.target->taxii) {
    ctx.what = m.target->what;
    ctx.params = std::move(m.params);
    return std::nullopt;
  }
  if (!accepts_taxii(
          std::string_view(req[http::field::accept].data(), req[http::field::accept].size()))) {
    return error_response(http::status::not_acceptable,
                          "this server answers with " + std::string(formats::taxii_media_type),
                          version);
  }

  // The API root and collection a path names are resolved before its
  // method is judged, and for a path that is no endpoint too: the 404 says
  // which part is unknown. A path longer than every endpoint names no
  // collection.
  path_params names = m.result == outcome::not_found ? scopes().prefix_params(segs) : m.params;
  if (auto* name = names.find("root")) {
    auto root_it = snap->cfg->api_roots.find(*name);
    if (root_it == snap->cfg->api_roots.end()) {
      return error_response(http::status::not_found, "no API root named '" + *name + "'", version);
    }
    ctx.root = &root_it->first;
    ctx.root_cfg = &root_it->second;
  }
  bool can_read = false;
  bool can_write = false;
  const auto* collection_name = names.find("collection");
  if (collection_name && (m.result != outcome::not_found || segs.size() <= routes().depth())) {
    const std::string& root = *ctx.root;
    const auto* collection = snap->cfg->find_collection(root, *collection_name);
    can_read = collection && ctx.who->can_read(root, collection->id);
    can_write = collection && ctx.who->can_write(root, collection->id);
    // A collection the account has no right on at all does not exist for it.
    if (!collection || (!can_read && !can_write)) {
      if (collection) audit_service::denied(ex_, *ctx.who, peer, root, collection->id, 404);
      return error_response(http::status::not_found,
                            "no collection '" + *collection_name + "' in this API root", version);
    }
    ctx.collection = collection;
  }

  if (m.result == outcome::not_found) {
    return error_response(http::status::not_found, "no such endpoint", version);
  }
  if (m.result == outcome::method_not_allowed) return method_not_allowed(version, m.allow);

  const route& r = *m.target;
  const bool allowed = r.needs == right::none || (r.needs == right::read && can_read) ||
                       (r.needs == right::write && can_write) ||
                       (r.needs == right::read_write && can_read && can_write);
  if (!allowed) {
    audit_service::denied(ex_, *ctx.who, peer, *ctx.root, ctx.collection->id, 403);
    return error_response(
        http::status::forbidden,
        "account '" + ctx.who->name + "' may not " + std::string(r.verb) + " this collection",
        version);
  }
  if (r.taxii_body) {
    const auto ct = req[http::field::content_type];
    if (!is_taxii_content_type(std::string_view(ct.data(), ct.size()))) {
      return error_response(http::status::unsupported_media_type,
                            "the body must be sent as " + std::string(formats::taxii_media_type),
                            version);
    }
  }
  ctx.what = r.what;
  ctx.params = std::move(m.params);
  return std::nullopt;
}

void router::handle(request req, const peer_info& peer, respond_fn respond) {
  auto verdict = judge_head(req.base(), peer);
  if (verdict.refusal) return respond(std::move(*verdict.refusal));
  handle(std::move(req), peer, std::move(verdict.context), std::move(respond));
}

void router::handle(request req, const peer_info& peer, std::shared_ptr<head_context> context,
                    respond_fn respond) {
  if (!context) return handle(std::move(req), peer, std::move(respond));
  const head_context& ctx = *context;
  const unsigned version = req.version();
  const std::string_view target(req.target().data(), req.target().size());
  const auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  const std::string_view query =
      qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

  switch (ctx.what) {
    case endpoint::console_index: return respond(console_service::index(req));
    case endpoint::console_asset:
      return respond(
          console_service::asset(req, *ctx.params.find("bundle"), *ctx.params.find("file")));
    case endpoint::console_sign_in:
      return respond(console_service::sign_in(
          ex_, *ctx.snap, req, [&](std::string_view name, std::string_view password) {
            return sign_in(name, password, peer, *ctx.snap, version);
          }));
    case endpoint::console_session:
      return respond(console_service::session(ex_, *ctx.who, *ctx.session, req));
    default: break;
  }
  if (ctx.what == endpoint::health) {
    // A load balancer takes a degraded node out until its database is back.
    if (!ex_.store().healthy()) {
      return respond(
          json_response(http::status::service_unavailable, R"({"status":"degraded"})", version));
    }
    return respond(json_response(http::status::ok, R"({"status":"ok"})", version));
  }
  const snapshot& snap = *ctx.snap;
  const account& who = *ctx.who;
  if (ctx.what == endpoint::audit) {
    return audit_service::handle(
        ex_, snap, who, req, peer,
        ctx.params.find("what") ? std::string_view(*ctx.params.find("what")) : std::string_view{},
        query, std::move(respond));
  }
  if (ctx.what == endpoint::alerts) {
    return audit_service::alerts(ex_, who, req, peer, query, std::move(respond));
  }

  if (ctx.what == endpoint::statuses) {
    return statuses_service::list(ex_, who, req, query, std::move(respond));
  }
  if (ctx.what == endpoint::lookup) {
    return exports_service::lookup(ex_, snap, who, req, peer, query, std::move(respond));
  }
  if (ctx.what == endpoint::export_values) {
    return exports_service::export_values(ex_, snap, who, req, peer, *ctx.params.find("root"),
                                          *ctx.params.find("collection"), query,
                                          std::move(respond));
  }

  taxii_call c{ex_, snap, who, req, path, query, {}, nullptr, nullptr, 0, {}, std::move(respond)};
  c.remote = peer.remote_address;
  if (ctx.root) c.root = *ctx.root;
  c.root_cfg = ctx.root_cfg;
  c.collection = ctx.collection;
  if (c.collection) c.key = snap.key_of(c.root, c.collection->id).value_or(0);
  if (const auto* object = ctx.params.find("object")) c.object_id = *object;

  switch (ctx.what) {
    case endpoint::discovery: return c.respond(taxii_service::discovery(c));
    case endpoint::api_root: return c.respond(taxii_service::api_root(c));
    case endpoint::status: return c.respond(taxii_service::status(c, *ctx.params.find("status")));
    case endpoint::collections: return c.respond(taxii_service::collections(c));
    case endpoint::collection: return c.respond(taxii_service::collection(c));
    case endpoint::manifest: return audit_service::pull(c, taxii_service::manifest);
    case endpoint::get_objects: return audit_service::pull(c, taxii_service::get_objects);
    case endpoint::add_objects: return taxii_service::add_objects(std::move(c));
    case endpoint::get_object: return audit_service::pull(c, taxii_service::get_object);
    case endpoint::delete_object: return taxii_service::delete_object(std::move(c));
    case endpoint::versions: return audit_service::pull(c, taxii_service::versions);
    case endpoint::health:
    case endpoint::audit:
    case endpoint::lookup:
    case endpoint::export_values: break;
    case endpoint::alerts: break;
    case endpoint::console_index:
    case endpoint::console_asset:
    case endpoint::console_sign_in:
    case endpoint::console_session: break;
    case endpoint::statuses: break;
  }
  c.respond(error_response(http::status::not_found, "no such endpoint", version));
}

}  // namespace cairn::server
