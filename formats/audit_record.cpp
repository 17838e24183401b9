#include "formats/audit_record.hpp"

#include <algorithm>
#include <array>

#include "formats/base64.hpp"
#include "formats/ed25519.hpp"

namespace cairn::formats {

namespace {

constexpr std::array<std::string_view, 7> k_actions = {"publish",      "pull",   "delete", "denied",
                                                       "auth-failure", "config", "alert"};

bool is_alert(const audit_record& r) {
  return r.action == "alert";
}

void quoted(std::string& out, std::string_view s) {
  out += '"';
  out += json_escape(s);
  out += '"';
}

void member(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":\"";
  out += json_escape(value);
  out += "\",";
}

// "accounts":{...}, with its names in RFC 8785 order; nothing when empty.
void accounts_member(std::string& out, const std::map<std::string, std::uint64_t>& accounts) {
  if (accounts.empty()) return;
  std::vector<const std::pair<const std::string, std::uint64_t>*> sorted;
  for (const auto& a : accounts) sorted.push_back(&a);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* x, const auto* y) { return canonical_key_less(x->first, y->first); });
  out += "\"accounts\":{";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += ',';
    quoted(out, sorted[i]->first);
    out += ':';
    out += std::to_string(sorted[i]->second);
  }
  out += "},";
}

// The members up to "objects" (exclusive), shared by body and record.
void head(std::string& out, const audit_record& r, bool with_hash) {
  out += '{';
  member(out, "account", r.account);
  accounts_member(out, r.accounts);
  member(out, "action", r.action);
  member(out, "api_root", r.api_root);
  member(out, "collection", r.collection);
  const bool alert = is_alert(r);
  if (alert) {
    member(out, "detail", r.detail);
    out += "\"evidence\":[";
    for (std::size_t i = 0; i < r.evidence.size(); ++i) {
      if (i > 0) out += ',';
      out += std::to_string(r.evidence[i]);
    }
    out += "],";
  }
  if (with_hash) member(out, "hash", merkle::to_hex(r.hash));
  if (alert) member(out, "kind", r.kind);
}

// "objects" and the members after it ("prev" between them when with_prev).
void tail(std::string& out, const audit_record& r, std::string_view objects_json, bool with_prev) {
  out += "\"objects\":";
  out += objects_json;
  out += ',';
  if (with_prev) member(out, "prev", merkle::to_hex(r.prev));
  member(out, "remote", r.remote);
  out += "\"seq\":";
  out += std::to_string(r.seq);
  out += ',';
  if (!r.sha256.empty()) member(out, "sha256", r.sha256);
  out += "\"status\":";
  out += std::to_string(r.status);
  out += ',';
  if (r.suppressed != 0) {
    out += "\"suppressed\":";
    out += std::to_string(r.suppressed);
    out += ',';
  }
  out += "\"time\":";
  quoted(out, r.time);
  out += '}';
}

result<std::string> string_member(const json_view& v, std::string_view key) {
  auto m = v.get(key);
  if (!m || !m->is_string()) return fail("\"" + std::string(key) + "\" must be a string");
  return std::string(m->as_string());
}

result<merkle::digest> hash_member(const json_view& v, std::string_view key) {
  auto s = string_member(v, key);
  if (!s) return std::unexpected(s.error());
  auto d = merkle::from_hex(*s);
  if (!d) return fail("\"" + std::string(key) + "\" must be 64 hex digits");
  return *d;
}

result<std::uint64_t> count_member(const json_view& v, std::string_view key) {
  auto m = v.get(key);
  if (!m || !m->is_integer() || m->as_int() < 0) {
    return fail("\"" + std::string(key) + "\" must be a non-negative integer");
  }
  return static_cast<std::uint64_t>(m->as_int());
}

}  // namespace

bool is_audit_action(std::string_view action) {
  return std::find(k_actions.begin(), k_actions.end(), action) != k_actions.end();
}

bool is_alert_kind(std::string_view kind) {
  return std::find(std::begin(alert_kinds), std::end(alert_kinds), kind) != std::end(alert_kinds);
}

result<void> check_alert_members(const audit_record& r) {
  if (!is_alert(r)) {
    if (!r.kind.empty() || !r.detail.empty() || !r.evidence.empty()) {
      return fail("only alert records have \"kind\", \"detail\" and \"evidence\"");
    }
    return {};
  }
  if (!is_alert_kind(r.kind)) return fail("unknown alert kind \"" + r.kind + "\"");
  if (r.evidence.size() > max_alert_evidence) {
    return fail("an alert lists at most " + std::to_string(max_alert_evidence) +
                " evidence records");
  }
  for (std::size_t i = 0; i < r.evidence.size(); ++i) {
    if (r.evidence[i] == 0 || (i > 0 && r.evidence[i] <= r.evidence[i - 1])) {
      return fail("\"evidence\" must list record seqs (>= 1) in increasing order");
    }
  }
  // Scoped auditors see the records that name no collection: alerts are
  // about accounts and addresses, never about a collection's objects.
  if (!r.collection.empty() || !r.objects.empty() || !r.accounts.empty() || !r.sha256.empty() ||
      r.suppressed != 0) {
    return fail("an alert record names no collection, objects, accounts, sha256 or suppressed");
  }
  return {};
}

void append_audit_object(std::string& out, bool first, std::string_view id,
                         std::string_view version) {
  if (!first) out += ',';
  out += "{\"id\":";
  quoted(out, id);
  out += ",\"version\":";
  quoted(out, version);
  out += '}';
}

std::string audit_objects_json(std::span<const audit_object> objects) {
  std::string out = "[";
  bool first = true;
  for (const auto& o : objects) {
    append_audit_object(out, first, o.id, o.version);
    first = false;
  }
  out += ']';
  return out;
}

std::string audit_body(const audit_record& r, std::string_view objects_json) {
  std::string out;
  out.reserve(256 + objects_json.size() + r.account.size() + r.collection.size());
  head(out, r, false);
  tail(out, r, objects_json, false);
  return out;
}

std::string audit_body(const audit_record& r) {
  return audit_body(r, audit_objects_json(r.objects));
}

merkle::digest audit_chain_hash(const merkle::digest& prev, std::string_view body) {
  std::string data(reinterpret_cast<const char*>(prev.data()), prev.size());
  data += body;
  return merkle::sha256(data);
}

std::string audit_record_json(const audit_record& r, std::string_view objects_json) {
  std::string out;
  out.reserve(400 + objects_json.size());
  head(out, r, true);
  tail(out, r, objects_json, true);
  return out;
}

result<std::string> audit_body_of(const json_view& v) {
  if (!v.is_object()) return fail("an audit record must be a JSON object");
  // The chain members are what the body is hashed into, not part of it.
  static constexpr std::array<std::string_view, 2> chain_members = {"prev", "hash"};
  return canonical_json(v, chain_members);
}

result<audit_record> parse_audit_record(const json_view& v) {
  if (!v.is_object()) return fail("an audit record must be a JSON object");
  audit_record r;
  auto seq = count_member(v, "seq");
  if (!seq) return std::unexpected(seq.error());
  r.seq = *seq;
  for (auto [key, out] : {std::pair<std::string_view, std::string*>{"time", &r.time},
                          {"account", &r.account},
                          {"action", &r.action},
                          {"remote", &r.remote},
                          {"api_root", &r.api_root},
                          {"collection", &r.collection}}) {
    auto s = string_member(v, key);
    if (!s) return std::unexpected(s.error());
    *out = std::move(*s);
  }
  if (!is_audit_action(r.action)) return fail("unknown action \"" + r.action + "\"");
  auto status = count_member(v, "status");
  if (!status || *status > 999) return fail("\"status\" must be an HTTP status");
  r.status = static_cast<int>(*status);
  auto objects = v.get("objects");
  if (!objects || !objects->is_array()) return fail("\"objects\" must be an array");
  for (std::size_t i = 0; i < objects->size(); ++i) {
    const auto o = objects->value_at(i);
    if (!o.is_object()) return fail("each of \"objects\" must be an object");
    auto id = string_member(o, "id");
    auto version = string_member(o, "version");
    if (!id || !version) return fail("each of \"objects\" needs \"id\" and \"version\" strings");
    r.objects.push_back({std::move(*id), std::move(*version)});
  }
  if (v.get("sha256")) {
    auto s = string_member(v, "sha256");
    if (!s) return std::unexpected(s.error());
    r.sha256 = std::move(*s);
  }
  if (v.get("suppressed")) {
    auto n = count_member(v, "suppressed");
    if (!n) return std::unexpected(n.error());
    r.suppressed = *n;
  }
  if (auto accounts = v.get("accounts")) {
    if (!accounts->is_object()) return fail("\"accounts\" must be an object");
    for (std::size_t i = 0; i < accounts->size(); ++i) {
      const auto n = accounts->value_at(i);
      if (!n.is_integer() || n.as_int() < 1) {
        return fail("each of \"accounts\" must count at least one failure");
      }
      r.accounts[std::string(accounts->key_at(i))] = static_cast<std::uint64_t>(n.as_int());
    }
  }
  if (r.action == "alert") {
    auto kind = string_member(v, "kind");
    if (!kind) return std::unexpected(kind.error());
    r.kind = std::move(*kind);
    auto detail = string_member(v, "detail");
    if (!detail) return std::unexpected(detail.error());
    r.detail = std::move(*detail);
    auto evidence = v.get("evidence");
    if (!evidence || !evidence->is_array()) return fail("\"evidence\" must be an array");
    for (std::size_t i = 0; i < evidence->size() && i <= max_alert_evidence; ++i) {
      const auto e = evidence->value_at(i);
      if (!e.is_integer() || e.as_int() < 1) {
        return fail("each of \"evidence\" must be a record seq (an integer >= 1)");
      }
      r.evidence.push_back(static_cast<std::uint64_t>(e.as_int()));
    }
  } else if (v.get("kind") || v.get("detail") || v.get("evidence")) {
    return fail("only alert records have \"kind\", \"detail\" and \"evidence\"");
  }
  if (auto checked = check_alert_members(r); !checked) return std::unexpected(checked.error());
  auto prev = hash_member(v, "prev");
  if (!prev) return std::unexpected(prev.error());
  r.prev = *prev;
  auto hash = hash_member(v, "hash");
  if (!hash) return std::unexpected(hash.error());
  r.hash = *hash;
  return r;
}

std::string checkpoint_signed_text(const audit_checkpoint& c) {
  std::string out = "{";
  member(out, "chain_hash", merkle::to_hex(c.chain_hash));
  member(out, "root_hash", merkle::to_hex(c.root_hash));
  member(out, "time", c.time);
  out += "\"tree_size\":";
  out += std::to_string(c.tree_size);
  out += '}';
  return out;
}

std::string checkpoint_json(const audit_checkpoint& c) {
  std::string out = "{";
  member(out, "chain_hash", merkle::to_hex(c.chain_hash));
  member(out, "public_key", c.public_key);
  member(out, "root_hash", merkle::to_hex(c.root_hash));
  member(out, "signature", c.signature);
  member(out, "time", c.time);
  out += "\"tree_size\":";
  out += std::to_string(c.tree_size);
  out += '}';
  return out;
}

result<audit_checkpoint> parse_checkpoint(const json_view& v) {
  if (!v.is_object()) return fail("a checkpoint must be a JSON object");
  audit_checkpoint c;
  auto size = count_member(v, "tree_size");
  if (!size) return std::unexpected(size.error());
  c.tree_size = *size;
  auto root = hash_member(v, "root_hash");
  if (!root) return std::unexpected(root.error());
  c.root_hash = *root;
  auto chain = hash_member(v, "chain_hash");
  if (!chain) return std::unexpected(chain.error());
  c.chain_hash = *chain;
  for (auto [key, out] : {std::pair<std::string_view, std::string*>{"time", &c.time},
                          {"signature", &c.signature},
                          {"public_key", &c.public_key}}) {
    auto s = string_member(v, key);
    if (!s) return std::unexpected(s.error());
    *out = std::move(*s);
  }
  return c;
}

result<audit_checkpoint> parse_checkpoint(std::string_view json) {
  auto doc = parse_json(json);
  if (!doc) return fail("the checkpoint is not JSON: " + doc.error().to_string());
  return parse_checkpoint(doc->root());
}

bool checkpoint_signature_ok(const audit_checkpoint& c, std::string_view public_key_pem) {
  auto sig = base64_decode(c.signature);
  return sig && ed25519_verify(public_key_pem, checkpoint_signed_text(c), *sig);
}

}  // namespace cairn::formats
