#include "server/config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "formats/ascii.hpp"
#include "formats/json.hpp"
#include "server/config/credentials.hpp"

namespace cairn::server {

namespace {

using formats::json_view;

// RFC 6901: "~" -> "~0", "/" -> "~1".
std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string child(const std::string& pointer, std::string_view key) {
  return pointer + "/" + pointer_token(key);
}

std::string child(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

std::string_view type_name(json_view::kind k) {
  switch (k) {
    case json_view::kind::null: return "null";
    case json_view::kind::boolean: return "a boolean";
    case json_view::kind::number: return "a number";
    case json_view::kind::string: return "a string";
    case json_view::kind::array: return "an array";
    case json_view::kind::object: return "an object";
  }
  return "a value";
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '-';
}

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_uuid_v4(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!is_lower_hex(s[i])) {
      return false;
    }
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

bool is_valid_alias(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), is_unreserved) &&
         s != "." && s != "..";
}

bool is_valid_account_name(std::string_view s) {
  // No ':' (RFC 7617 user-id), no spaces or controls; readable in logs.
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@';
  });
}

// Walks the document, collecting problems instead of stopping at the first.
class checker {
 public:
  explicit checker(const std::filesystem::path& base_dir) : base_dir_(base_dir) {}

  std::vector<config_problem> problems;

  void problem(std::string pointer, std::string message) {
    problems.push_back(config_problem{std::move(pointer), std::move(message)});
  }

  // Reports a value of the wrong kind; true when v is of kind k.
  bool expect(const json_view& v, json_view::kind k, const std::string& pointer) {
    if (v.type() == k) return true;
    problem(pointer,
            "must be " + std::string(type_name(k)) + ", not " + std::string(type_name(v.type())));
    return false;
  }

  // Reports every member of obj not in allowed.
  void only_keys(const json_view& obj, const std::string& pointer,
                 std::initializer_list<std::string_view> allowed) {
    for (std::size_t i = 0; i < obj.size(); ++i) {
      const auto key = obj.key_at(i);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        problem(child(pointer, key), "unknown key");
      }
    }
  }

  std::optional<json_view> member(const json_view& obj, std::string_view key,
                                  const std::string& pointer, bool required) {
    auto v = obj.get(key);
    if (!v && required) problem(child(pointer, key), "required key is missing");
    return v;
  }

  std::optional<std::string> string_member(const json_view& obj, std::string_view key,
                                           const std::string& pointer, bool required,
                                           bool allow_empty = false) {
    auto v = member(obj, key, pointer, required);
    if (!v) return std::nullopt;
    const auto p = child(pointer, key);
    if (!expect(*v, json_view::kind::string, p)) return std::nullopt;
    if (!allow_empty && v->as_string().empty()) {
      problem(p, "must not be empty");
      return std::nullopt;
    }
    return std::string(v->as_string());
  }

  std::optional<std::uint64_t> uint_member(const json_view& obj, std::string_view key,
                                           const std::string& pointer, std::uint64_t min,
                                           std::uint64_t max) {
    auto v = member(obj, key, pointer, false);
    if (!v) return std::nullopt;
    const auto p = child(pointer, key);
    if (!v->is_integer()) {
      problem(p, "must be a whole number");
      return std::nullopt;
    }
    const auto n = v->as_int();
    if (n < 0 || static_cast<std::uint64_t>(n) < min || static_cast<std::uint64_t>(n) > max) {
      problem(p, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(n);
  }

  std::optional<bool> bool_member(const json_view& obj, std::string_view key,
                                  const std::string& pointer) {
    auto v = member(obj, key, pointer, false);
    if (!v || !expect(*v, json_view::kind::boolean, child(pointer, key))) return std::nullopt;
    return v->as_bool();
  }

  // An array of non-empty strings; wrong items are reported and skipped.
  std::vector<std::pair<std::string, std::string>> string_array_member(const json_view& obj,
                                                                       std::string_view key,
                                                                       const std::string& pointer) {
    std::vector<std::pair<std::string, std::string>> out;  // (value, pointer)
    auto v = member(obj, key, pointer, false);
    if (!v) return out;
    const auto p = child(pointer, key);
    if (!expect(*v, json_view::kind::array, p)) return out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const auto item = v->value_at(i);
      const auto ip = child(p, i);
      if (!expect(item, json_view::kind::string, ip)) continue;
      if (item.as_string().empty()) {
        problem(ip, "must not be empty");
        continue;
      }
      out.emplace_back(std::string(item.as_string()), ip);
    }
    return out;
  }

  std::filesystem::path resolve(const std::string& p) const {
    return (base_dir_ / std::filesystem::path(p)).lexically_normal();
  }

  void parse(const json_view& root, config& cfg);

 private:
  void parse_tls(const json_view& v, config& cfg);
  void parse_limits(const json_view& v, config& cfg);
  void parse_discovery(const json_view& v, config& cfg);
  void parse_api_roots(const json_view& v, config& cfg);
  void parse_collections(const json_view& v, const std::string& pointer, api_root_config& root);
  void parse_storage(const json_view& v, config& cfg);
  void parse_accounts(const json_view& v, config& cfg);
  void parse_monitoring(const json_view& v, config& cfg);
  void parse_webhook(const json_view& v, const std::string& pointer, config& cfg);
  void parse_metrics(const json_view& v, config& cfg);

  std::filesystem::path base_dir_;
};

void checker::parse(const json_view& root, config& cfg) {
  if (!expect(root, json_view::kind::object, "")) return;
  only_keys(root, "",
            {"listen", "data_dir", "tls", "limits", "discovery", "api_roots", "storage", "accounts",
             "monitoring", "metrics"});

  if (auto listen = string_member(root, "listen", "", true)) {
    if (auto parsed = parse_listen(*listen)) {
      cfg.listen = *parsed;
    } else {
      problem("/listen", parsed.error().message);
    }
  }
  if (auto dir = string_member(root, "data_dir", "", true)) cfg.data_dir = resolve(*dir);

  if (auto v = member(root, "tls", "", true); v && expect(*v, json_view::kind::object, "/tls")) {
    parse_tls(*v, cfg);
  }
  if (auto v = member(root, "limits", "", false);
      v && expect(*v, json_view::kind::object, "/limits")) {
    parse_limits(*v, cfg);
  }
  if (auto v = member(root, "storage", "", false);
      v && expect(*v, json_view::kind::object, "/storage")) {
    parse_storage(*v, cfg);
  }
  if (auto v = member(root, "api_roots", "", true);
      v && expect(*v, json_view::kind::object, "/api_roots")) {
    parse_api_roots(*v, cfg);
  }
  // After the roots: "default" names one of them.
  if (auto v = member(root, "discovery", "", true);
      v && expect(*v, json_view::kind::object, "/discovery")) {
    parse_discovery(*v, cfg);
  }
  // After the roots: read and write name their collections.
  if (auto v = member(root, "accounts", "", true);
      v && expect(*v, json_view::kind::array, "/accounts")) {
    parse_accounts(*v, cfg);
  }
  if (auto v = member(root, "monitoring", "", false);
      v && expect(*v, json_view::kind::object, "/monitoring")) {
    parse_monitoring(*v, cfg);
  }
  if (auto v = member(root, "metrics", "", false);
      v && expect(*v, json_view::kind::object, "/metrics")) {
    parse_metrics(*v, cfg);
  }
}

void checker::parse_metrics(const json_view& v, config& cfg) {
  const std::string p = "/metrics";
  only_keys(v, p, {"listen"});
  auto listen = string_member(v, "listen", p, false);
  if (!listen) return;
  auto parsed = parse_listen(*listen);
  if (!parsed) return problem("/metrics/listen", parsed.error().message);
  // Port 0 is "any free port" (tests): two of them never collide.
  if (parsed->port != 0 && parsed->port == cfg.listen.port && parsed->host == cfg.listen.host) {
    return problem("/metrics/listen", "must differ from listen (the metrics are plain HTTP)");
  }
  cfg.metrics.listen = *parsed;
}

void checker::parse_tls(const json_view& v, config& cfg) {
  const std::string p = "/tls";
  only_keys(v, p, {"cert", "key", "client_ca", "crl"});
  if (auto s = string_member(v, "cert", p, true)) cfg.tls.cert = resolve(*s);
  if (auto s = string_member(v, "key", p, true)) cfg.tls.key = resolve(*s);
  if (auto s = string_member(v, "client_ca", p, false)) cfg.tls.client_ca = resolve(*s);
  if (auto s = string_member(v, "crl", p, false)) {
    cfg.tls.crl = resolve(*s);
    if (!v.get("client_ca"))
      problem("/tls/crl", "needs tls.client_ca (a CRL applies to client certificates)");
  }
}

void checker::parse_limits(const json_view& v, config& cfg) {
  const std::string p = "/limits";
  only_keys(
      v, p,
      {"max_content_length", "page_size", "max_page_bytes", "max_connections", "request_timeout_s",
       "idle_timeout_s", "max_objects_per_request", "handshake_timeout_s", "max_header_bytes",
       "max_json_depth", "shutdown_timeout_s", "requests_per_second", "request_burst",
       "auth_failures_per_minute", "auth_failure_burst", "auth_failure_burst_per_address",
       "max_connections_per_address"});
  auto& l = cfg.limits;
  auto set32 = [&](std::string_view key, std::uint32_t& field, std::uint64_t min,
                   std::uint64_t max) {
    if (auto n = uint_member(v, key, p, min, max)) field = static_cast<std::uint32_t>(*n);
  };
  if (auto n = uint_member(v, "max_content_length", p, 1024, std::uint64_t{1} << 30)) {
    l.max_content_length = *n;
  }
  set32("page_size", l.page_size, 1, 100000);
  if (auto n = uint_member(v, "max_page_bytes", p, 1024, std::uint64_t{1} << 30)) {
    l.max_page_bytes = *n;
  }
  set32("max_connections", l.max_connections, 1, 1000000);
  set32("request_timeout_s", l.request_timeout_s, 1, 3600);
  set32("idle_timeout_s", l.idle_timeout_s, 1, 3600);
  set32("max_objects_per_request", l.max_objects_per_request, 1, 1000000);
  set32("handshake_timeout_s", l.handshake_timeout_s, 1, 600);
  set32("max_header_bytes", l.max_header_bytes, 1024, 1u << 20);
  set32("max_json_depth", l.max_json_depth, 8, 512);
  set32("shutdown_timeout_s", l.shutdown_timeout_s, 1, 10);
  set32("requests_per_second", l.requests_per_second, 0, 1000000);
  set32("request_burst", l.request_burst, 1, 10000000);
  set32("auth_failures_per_minute", l.auth_failures_per_minute, 1, 6000);
  set32("auth_failure_burst", l.auth_failure_burst, 1, 1000);
  set32("auth_failure_burst_per_address", l.auth_failure_burst_per_address, 1, 100000);
  set32("max_connections_per_address", l.max_connections_per_address, 1, 1000000);
}

void checker::parse_discovery(const json_view& v, config& cfg) {
  const std::string p = "/discovery";
  only_keys(v, p, {"title", "description", "contact", "default"});
  auto& d = cfg.discovery;
  if (auto s = string_member(v, "title", p, true)) d.title = *s;
  d.description = string_member(v, "description", p, false, true);
  d.contact = string_member(v, "contact", p, false, true);
  if (auto s = string_member(v, "default", p, false)) {
    d.default_root = *s;
    if (!cfg.api_roots.contains(*s)) problem("/discovery/default", "names no API root");
  }
}

void checker::parse_api_roots(const json_view& v, config& cfg) {
  const std::string p = "/api_roots";
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string name(v.key_at(i));
    const auto rp = child(p, name);
    bool ok = true;
    if (!is_valid_api_root_name(name)) {
      problem(rp,
              "API root names must be 1 to 64 of A-Z a-z 0-9 . _ ~ -, and not \"taxii2\" or "
              "\"cairn\"");
      ok = false;
    }
    const auto rv = v.value_at(i);
    if (!expect(rv, json_view::kind::object, rp)) continue;
    only_keys(rv, rp, {"title", "description", "collections"});
    api_root_config root;
    if (auto s = string_member(rv, "title", rp, true)) root.title = *s;
    root.description = string_member(rv, "description", rp, false, true);
    if (auto c = member(rv, "collections", rp, false);
        c && expect(*c, json_view::kind::array, child(rp, "collections"))) {
      parse_collections(*c, child(rp, "collections"), root);
    }
    if (ok) cfg.api_roots.emplace(name, std::move(root));
  }
}

void checker::parse_collections(const json_view& v, const std::string& p, api_root_config& root) {
  std::map<std::string, std::string> ids;      // id -> pointer
  std::map<std::string, std::string> aliases;  // alias -> pointer
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto cp = child(p, i);
    const auto cv = v.value_at(i);
    if (!expect(cv, json_view::kind::object, cp)) continue;
    only_keys(cv, cp, {"id", "title", "alias", "description", "default_tlp"});
    collection_config c;
    bool ok = true;
    if (auto s = string_member(cv, "id", cp, true)) {
      if (!is_uuid_v4(*s)) {
        problem(child(cp, "id"), "must be a lower-case UUIDv4");
        ok = false;
      } else if (ids.contains(*s)) {
        problem(child(cp, "id"), "duplicate collection id (also at " + ids[*s] + ")");
        ok = false;
      } else {
        ids.emplace(*s, child(cp, "id"));
      }
      c.id = *s;
    } else {
      ok = false;
    }
    if (auto s = string_member(cv, "title", cp, true)) c.title = *s;
    if (auto s = string_member(cv, "alias", cp, false)) {
      if (!is_valid_alias(*s)) {
        problem(child(cp, "alias"), "aliases must be 1 to 64 of A-Z a-z 0-9 . _ ~ -");
      } else if (aliases.contains(*s)) {
        problem(child(cp, "alias"), "duplicate alias (also at " + aliases[*s] + ")");
      } else {
        aliases.emplace(*s, child(cp, "alias"));
        c.alias = *s;
      }
    }
    c.description = string_member(cv, "description", cp, false, true);
    if (auto s = string_member(cv, "default_tlp", cp, false)) {
      if (auto level = formats::parse_tlp_name(*s)) {
        c.default_tlp = *level;
      } else {
        problem(child(cp, "default_tlp"),
                "must be one of clear, white, green, amber, amber+strict, red");
      }
    }
    if (ok) root.collections.push_back(std::move(c));
  }
  // An alias equal to another collection's id would make references ambiguous.
  for (const auto& [alias, ap] : aliases) {
    if (auto it = ids.find(alias); it != ids.end()) {
      problem(ap, "alias equals the id of the collection at " + it->second);
    }
  }
}

void checker::parse_storage(const json_view& v, config& cfg) {
  const std::string p = "/storage";
  only_keys(v, p,
            {"backend", "map_size", "max_map_size", "conninfo", "password_file", "pool_size"});
  auto& st = cfg.storage;
  if (auto b = string_member(v, "backend", p, false)) {
    if (*b == "postgresql") {
      st.backend = storage_backend::postgresql;
    } else if (*b != "lmdb") {
      problem("/storage/backend", "must be \"lmdb\" or \"postgresql\"");
      return;  // which keys belong is unknown
    }
  }
  // A key of the other backend would be silently ignored: refuse it.
  auto not_here = [&](std::initializer_list<std::string_view> keys, std::string_view backend) {
    for (auto key : keys) {
      if (v.get(key)) {
        problem(child(p, key), "applies only to backend \"" + std::string(backend) + "\"");
      }
    }
  };
  if (st.backend == storage_backend::lmdb) {
    not_here({"conninfo", "password_file", "pool_size"}, "postgresql");
    constexpr std::uint64_t min = std::uint64_t{1} << 20;
    constexpr std::uint64_t max = std::uint64_t{1} << 46;
    st.map_size = uint_member(v, "map_size", p, min, max);
    st.max_map_size = uint_member(v, "max_map_size", p, min, max);
    if (st.map_size && st.max_map_size && *st.map_size > *st.max_map_size) {
      problem("/storage/map_size", "must not exceed max_map_size");
    }
    return;
  }
  not_here({"map_size", "max_map_size"}, "lmdb");
  if (auto c = string_member(v, "conninfo", p, true)) {
    if (auto has = conninfo_has_password(*c); !has) {
      problem("/storage/conninfo", has.error().message);
    } else if (*has) {
      // The config is read by many (check-config output, backups, tickets).
      problem("/storage/conninfo",
              "must not hold a password: put it in password_file (or use PGPASSFILE)");
    } else {
      st.conninfo = std::move(*c);
    }
  }
  if (auto f = string_member(v, "password_file", p, false)) st.password_file = resolve(*f);
  if (auto n = uint_member(v, "pool_size", p, 1, 256)) {
    st.pool_size = static_cast<std::uint32_t>(*n);
  }
}

void checker::parse_accounts(const json_view& v, config& cfg) {
  const std::string p = "/accounts";
  std::map<std::string, std::string> names;         // name -> pointer
  std::map<std::string, std::string> tokens;        // token hash -> pointer
  std::map<std::string, std::string> fingerprints;  // fingerprint -> pointer
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto ap = child(p, i);
    const auto av = v.value_at(i);
    if (!expect(av, json_view::kind::object, ap)) continue;
    only_keys(av, ap,
              {"name", "password_hash", "token_hashes", "client_cert_sha256", "read", "write",
               "clearance", "auditor", "suspended"});
    account_config a;
    bool ok = true;
    if (auto s = string_member(av, "name", ap, true)) {
      if (!is_valid_account_name(*s)) {
        problem(child(ap, "name"), "account names must be 1 to 64 of A-Z a-z 0-9 . _ - @");
        ok = false;
      } else if (names.contains(*s)) {
        problem(child(ap, "name"), "duplicate account name (also at " + names[*s] + ")");
        ok = false;
      } else {
        names.emplace(*s, child(ap, "name"));
      }
      a.name = *s;
    } else {
      ok = false;
    }

    if (auto s = string_member(av, "password_hash", ap, false)) {
      if (auto phc = parse_scrypt_phc(*s)) {
        a.password_hash = *s;
      } else {
        problem(child(ap, "password_hash"), phc.error().message);
      }
    }
    for (auto& [hash, hp] : string_array_member(av, "token_hashes", ap)) {
      if (!is_token_hash(hash)) {
        problem(hp, "must be \"$sha256$\" and 64 lower-case hex digits (see `cairnd token issue`)");
      } else if (tokens.contains(hash)) {
        problem(hp, "duplicate token hash (also at " + tokens[hash] + ")");
      } else {
        tokens.emplace(hash, hp);
        a.token_hashes.push_back(hash);
      }
    }
    if (auto s = string_member(av, "client_cert_sha256", ap, false)) {
      const auto fp = child(ap, "client_cert_sha256");
      if (auto norm = normalize_fingerprint(*s)) {
        if (fingerprints.contains(*norm)) {
          problem(fp, "duplicate certificate fingerprint (also at " + fingerprints[*norm] + ")");
        } else {
          fingerprints.emplace(*norm, fp);
          a.client_cert_sha256 = *norm;
        }
        if (!cfg.tls.client_ca) {
          problem(fp, "needs tls.client_ca: without it no client certificate is requested");
        }
      } else {
        problem(fp, "must be a SHA-256 fingerprint: 64 hex digits, optionally colon-separated");
      }
    }
    if (av.get("name") && !av.get("password_hash") && !av.get("token_hashes") &&
        !av.get("client_cert_sha256")) {
      problem(ap, "account has no credential (password_hash, token_hashes or client_cert_sha256)");
    }

    for (auto* list : {&a.read, &a.write}) {
      const std::string_view key = list == &a.read ? "read" : "write";
      for (auto& [entry, ep] : string_array_member(av, key, ap)) {
        if (auto refs = resolve_collection_reference(cfg, entry)) {
          list->push_back(entry);
        } else {
          problem(ep, refs.error().message);
        }
      }
    }
    if (auto s = string_member(av, "clearance", ap, false)) {
      if (auto level = formats::parse_tlp_name(*s)) {
        a.clearance = *level;
      } else {
        problem(child(ap, "clearance"),
                "must be one of clear, white, green, amber, amber+strict, red");
      }
    }
    if (auto b = bool_member(av, "auditor", ap)) a.auditor = *b;
    if (auto b = bool_member(av, "suspended", ap)) a.suspended = *b;
    if (ok) cfg.accounts.push_back(std::move(a));
  }
}

void checker::parse_monitoring(const json_view& v, config& cfg) {
  const std::string p = "/monitoring";
  only_keys(v, p,
            {"enabled", "auth_failure_burst", "denied_burst", "new_address", "volume",
             "auto_suspend", "webhook"});
  auto& m = cfg.monitoring;
  if (auto b = bool_member(v, "enabled", p)) m.enabled = *b;
  // A sub-object, or nothing (its defaults stand).
  auto section = [&](std::string_view key) -> std::optional<json_view> {
    auto s = member(v, key, p, false);
    if (!s || !expect(*s, json_view::kind::object, child(p, key))) return std::nullopt;
    return s;
  };
  constexpr std::uint64_t day_s = 86400;
  for (auto key : {"auth_failure_burst", "denied_burst"}) {
    auto s = section(key);
    if (!s) continue;
    const auto sp = child(p, key);
    only_keys(*s, sp, {"count", "window_s"});
    auto& b = std::string_view(key) == "denied_burst" ? m.denied_burst : m.auth_failure_burst;
    if (auto n = uint_member(*s, "count", sp, 1, 1000000)) b.count = static_cast<std::uint32_t>(*n);
    if (auto n = uint_member(*s, "window_s", sp, 1, day_s)) {
      b.window_s = static_cast<std::uint32_t>(*n);
    }
  }
  if (auto s = section("new_address")) {
    const auto sp = child(p, "new_address");
    only_keys(*s, sp, {"prefix_v4", "prefix_v6", "memory_days"});
    if (auto n = uint_member(*s, "prefix_v4", sp, 1, 32))
      m.prefix_v4 = static_cast<std::uint32_t>(*n);
    if (auto n = uint_member(*s, "prefix_v6", sp, 1, 128)) {
      m.prefix_v6 = static_cast<std::uint32_t>(*n);
    }
    if (auto n = uint_member(*s, "memory_days", sp, 1, 3650)) {
      m.memory_days = static_cast<std::uint32_t>(*n);
    }
  }
  if (auto s = section("volume")) {
    const auto sp = child(p, "volume");
    only_keys(*s, sp, {"factor", "min_objects", "window_s", "baseline_days"});
    if (auto f = member(*s, "factor", sp, false)) {
      if (!f->is_number() || !(f->as_double() >= 1) || !(f->as_double() <= 1e6)) {
        problem(child(sp, "factor"), "must be a number between 1 and 1000000");
      } else {
        m.volume_factor = f->as_double();
      }
    }
    if (auto n = uint_member(*s, "min_objects", sp, 1, std::uint64_t{1} << 40)) {
      m.volume_min_objects = *n;
    }
    if (auto n = uint_member(*s, "window_s", sp, 60, day_s)) {
      m.volume_window_s = static_cast<std::uint32_t>(*n);
    }
    if (auto n = uint_member(*s, "baseline_days", sp, 1, 365)) {
      m.volume_baseline_days = static_cast<std::uint32_t>(*n);
    }
  }
  if (auto a = member(v, "auto_suspend", p, false);
      a && expect(*a, json_view::kind::array, child(p, "auto_suspend"))) {
    m.auto_suspend.clear();
    for (auto& [kind, kp] : string_array_member(v, "auto_suspend", p)) {
      if (kind != "auth-failure-burst" && kind != "denied-burst" && kind != "new-address" &&
          kind != "volume" && kind != "suspended-use") {
        problem(kp,
                "must be an alert kind: auth-failure-burst, denied-burst, new-address, volume "
                "or suspended-use");
      } else if (std::find(m.auto_suspend.begin(), m.auto_suspend.end(), kind) ==
                 m.auto_suspend.end()) {
        m.auto_suspend.push_back(kind);
      }
    }
  }
  if (auto s = section("webhook")) parse_webhook(*s, child(p, "webhook"), cfg);
}

void checker::parse_webhook(const json_view& v, const std::string& p, config& cfg) {
  only_keys(v, p, {"url", "cacert", "token_file"});
  webhook_config w;
  bool ok = true;
  if (auto url = string_member(v, "url", p, true)) {
    // Alerts name accounts and addresses: never in clear text. The host must
    // be there (https://host[:port]/path), without user info (a secret).
    constexpr std::string_view scheme = "https://";
    const std::string_view rest =
        std::string_view(*url).substr(std::min(url->size(), scheme.size()));
    const auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (url->size() < scheme.size() ||
        formats::ascii_lower(std::string_view(*url).substr(0, scheme.size())) != scheme) {
      problem(child(p, "url"), "must be an https:// URL (alerts are never sent in clear text)");
      ok = false;
    } else if (authority.empty() || authority.front() == ':') {
      problem(child(p, "url"), "must name a host: https://host[:port]/path");
      ok = false;
    } else if (authority.find('@') != std::string_view::npos) {
      problem(child(p, "url"), "must not hold user information: put the token in token_file");
      ok = false;
    } else if (url->size() > 2048 || std::any_of(url->begin(), url->end(), [](char c) {
                 return static_cast<unsigned char>(c) <= 0x20 ||
                        static_cast<unsigned char>(c) >= 0x7f;
               })) {
      problem(child(p, "url"), "must be at most 2048 printable characters without spaces");
      ok = false;
    } else {
      w.url = *url;
    }
  } else {
    ok = false;
  }
  if (auto s = string_member(v, "cacert", p, false)) w.cacert = resolve(*s);
  if (auto s = string_member(v, "token_file", p, false)) w.token_file = resolve(*s);
  if (ok) cfg.monitoring.webhook = std::move(w);
}

result<std::string> read_file_capped(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open " + path.string());
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) {
      return fail(path.string() + " is larger than " + std::to_string(max_config_bytes >> 20) +
                  " MiB");
    }
  }
  if (in.bad()) return fail("cannot read " + path.string());
  return text;
}

}  // namespace

const collection_config* config::find_collection(std::string_view root,
                                                 std::string_view id_or_alias) const {
  auto it = api_roots.find(std::string(root));
  if (it == api_roots.end()) return nullptr;
  for (const auto& c : it->second.collections) {
    if (c.id == id_or_alias || (c.alias && *c.alias == id_or_alias)) return &c;
  }
  return nullptr;
}

result<std::vector<collection_ref>> resolve_collection_reference(const config& cfg,
                                                                 std::string_view entry) {
  std::vector<collection_ref> out;
  if (entry == "*") {
    for (const auto& [name, root] : cfg.api_roots) {
      for (const auto& c : root.collections) out.push_back({name, c.id});
    }
    return out;
  }
  if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
    const std::string root_name(entry.substr(0, slash));
    const auto rest = entry.substr(slash + 1);
    auto it = cfg.api_roots.find(root_name);
    if (it == cfg.api_roots.end()) return fail("names no API root \"" + root_name + "\"");
    if (rest == "*") {
      for (const auto& c : it->second.collections) out.push_back({root_name, c.id});
      return out;
    }
    if (const auto* c = cfg.find_collection(root_name, rest)) {
      out.push_back({root_name, c->id});
      return out;
    }
    return fail("names no collection of API root \"" + root_name + "\"");
  }
  std::vector<std::string> roots;
  for (const auto& [name, root] : cfg.api_roots) {
    if (const auto* c = cfg.find_collection(name, entry)) {
      out.push_back({name, c->id});
      roots.push_back(name);
    }
  }
  if (out.empty()) return fail("names no collection (by id or alias)");
  if (out.size() > 1) {
    std::string list;
    for (const auto& r : roots) list += (list.empty() ? "" : ", ") + r;
    return fail("names collections in more than one API root (" + list + "); write \"<root>/" +
                std::string(entry) + "\"");
  }
  return out;
}

bool is_valid_api_root_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), is_unreserved) && name != "." && name != ".." &&
         name != "taxii2" && name != "cairn";
}

namespace {

bool is_conninfo_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string uri_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// postgresql://[user[:password]@][host][:port][/dbname][?key=value&...]
bool uri_has_password(std::string_view uri) {
  const auto end_authority = uri.find_first_of("/?");
  const auto authority = uri.substr(0, end_authority);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (authority.substr(0, at).find(':') != std::string_view::npos) return true;
  }
  const auto q = uri.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view rest = uri.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    if (uri_decode(pair.substr(0, pair.find('='))) == "password") return true;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

// As libpq's conninfo_parse reads keyword=value pairs: values are bare words
// or single-quoted, with backslash escapes in both.
result<bool> conninfo_has_password(std::string_view text) {
  for (std::string_view prefix : {"postgresql://", "postgres://"}) {
    if (text.starts_with(prefix)) return uri_has_password(text.substr(prefix.size()));
  }
  bool has = false;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && is_conninfo_space(text[i])) ++i;
  };
  for (;;) {
    skip_space();
    if (i == text.size()) return has;
    const std::size_t key_start = i;
    while (i < text.size() && text[i] != '=' && !is_conninfo_space(text[i])) ++i;
    const auto key = text.substr(key_start, i - key_start);
    skip_space();
    if (key.empty() || i == text.size() || text[i] != '=') {
      return fail(errc::invalid_input,
                  "is not a libpq connection string: expected keyword=value pairs or a "
                  "postgresql:// URI");
    }
    ++i;
    skip_space();
    if (i < text.size() && text[i] == '\'') {
      ++i;
      bool closed = false;
      for (; i < text.size(); ++i) {
        if (text[i] == '\\') {
          ++i;
        } else if (text[i] == '\'') {
          closed = true;
          ++i;
          break;
        }
      }
      if (!closed) {
        return fail(errc::invalid_input, "is not a libpq connection string: unterminated quote");
      }
    } else {
      for (; i < text.size() && !is_conninfo_space(text[i]); ++i) {
        if (text[i] == '\\') ++i;
      }
      if (i > text.size()) i = text.size();
    }
    if (key == "password") has = true;
  }
}

result<listen_address> parse_listen(std::string_view text) {
  listen_address out;
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("must be \"[ipv6]:port\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    unsigned char buf[16];
    if (std::string h(host); inet_pton(AF_INET6, h.c_str(), buf) != 1) {
      return fail("\"" + h + "\" is not an IPv6 address");
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("must be \"host:port\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("an IPv6 address must be in brackets: \"[::1]:8443\"");
    }
    if (host.empty()) return fail("the host is missing");
    const bool numeric = std::all_of(host.begin(), host.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric) {
      unsigned char buf[4];
      if (std::string h(host); inet_pton(AF_INET, h.c_str(), buf) != 1) {
        return fail("\"" + h + "\" is not an IPv4 address");
      }
    } else {
      // RFC 1123 host name: dot-separated labels of letters, digits and '-'.
      bool ok = host.size() <= 253;
      std::size_t label = 0;
      for (std::size_t i = 0; ok && i <= host.size(); ++i) {
        if (i == host.size() || host[i] == '.') {
          ok = label > 0 && label <= 63 && host[i - label] != '-' && host[i - 1] != '-';
          label = 0;
        } else {
          const char c = host[i];
          ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-';
          ++label;
        }
      }
      if (!ok) return fail("\"" + std::string(host) + "\" is not a host name");
    }
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535 ||
      (port.size() > 1 && port[0] == '0')) {
    return fail("the port must be a number from 0 to 65535");
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

std::optional<std::string> normalize_fingerprint(std::string_view text) {
  std::string out;
  const bool colons = text.size() == 95;
  if (text.size() != 64 && !colons) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (colons && i % 3 == 2) {
      if (c != ':') return std::nullopt;
      continue;
    }
    if (c >= '0' && c <= '9') {
      out += c;
    } else if (c >= 'a' && c <= 'f') {
      out += c;
    } else if (c >= 'A' && c <= 'F') {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::expected<config, std::vector<config_problem>> parse_config(
    std::string_view text, const std::filesystem::path& base_dir) {
  formats::json_limits limits;
  limits.max_bytes = max_config_bytes;
  limits.max_depth = 16;
  auto doc = formats::parse_json(text, limits);
  if (!doc) {
    return std::unexpected(std::vector<config_problem>{
        config_problem{doc.error().where, "not valid JSON: " + doc.error().message}});
  }
  config cfg;
  cfg.sha256 = sha256_hex(text);
  checker c(base_dir);
  c.parse(doc->root(), cfg);
  if (!c.problems.empty()) return std::unexpected(std::move(c.problems));
  return cfg;
}

std::vector<config_problem> check_config(std::string_view text,
                                         const std::filesystem::path& base_dir) {
  auto cfg = parse_config(text, base_dir);
  if (cfg) return {};
  return std::move(cfg.error());
}

std::vector<config_problem> check_config_file(const std::filesystem::path& path) {
  auto text = read_file_capped(path);
  if (!text) return {config_problem{"", text.error().message}};
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return check_config(*text, (ec ? path : absolute).parent_path());
}

result<config> load_config(const std::filesystem::path& path) {
  auto text = read_file_capped(path);
  if (!text) return std::unexpected(text.error());
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  const auto base = (ec ? path : absolute).parent_path();
  auto cfg = parse_config(*text, base);
  if (!cfg) {
    std::string message;
    for (const auto& p : cfg.error()) {
      if (!message.empty()) message += "; ";
      message += p.to_string();
    }
    return fail(std::move(message), cfg.error().front().pointer);
  }
  cfg->source = ec ? path : absolute;
  return std::move(*cfg);
}

}  // namespace cairn::server
