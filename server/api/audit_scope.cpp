#include "server/api/audit_scope.hpp"

#include <algorithm>

#include "server/api/exchange.hpp"
#include "server/api/query.hpp"
#include "server/auth/accounts.hpp"

namespace cairn::server {

namespace {
constexpr std::size_t k_max_collection_bytes = 256;
constexpr std::size_t k_max_param_bytes = 1024;
}  // namespace

result<std::map<std::string, std::string>> audit_params(
    std::string_view query, std::initializer_list<std::string_view> names) {
  auto parsed = parse_query_string(query);
  if (!parsed) return std::unexpected(parsed.error());
  std::map<std::string, std::string> out;
  for (auto& [k, v] : *parsed) {
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      std::string allowed;
      for (auto n : names) allowed += (allowed.empty() ? "" : ", ") + std::string(n);
      return fail("unknown parameter '" + k.substr(0, 64) + "' (this endpoint takes " + allowed +
                  ")");
    }
    if (v.size() > k_max_param_bytes) return fail(k + " is longer than 1024 bytes");
    out.emplace(std::move(k), std::move(v));  // parse_query_string refuses repeats
  }
  return out;
}

result<void> audit_time_window(const std::map<std::string, std::string>& params,
                               std::optional<formats::micros>& since,
                               std::optional<formats::micros>& until) {
  for (auto [name, out] : {std::pair<const char*, std::optional<formats::micros>*>{"since", &since},
                           {"until", &until}}) {
    if (auto it = params.find(name); it != params.end()) {
      auto t = formats::parse_rfc3339(it->second);
      if (!t) {
        return fail(std::string(name) + " is not an RFC 3339 timestamp: " + t.error().message);
      }
      *out = *t;
    }
  }
  return {};
}

std::optional<storage::audit_scope> audit_scope_of(const snapshot& snap, const account& who) {
  if (!who.audit_scoped) return std::nullopt;
  storage::audit_scope scope;
  for (const auto& ref : who.readable) {
    scope.collections.emplace(ref.api_root, ref.collection_id);
    if (auto key = snap.key_of(ref.api_root, ref.collection_id)) scope.keys.push_back(*key);
  }
  return scope;
}

result<audit_collection_filter> audit_collection_of(const snapshot& snap, const account& who,
                                                    std::string_view text) {
  audit_collection_filter out;
  out.id = std::string(text);
  std::string resolved;
  for (const auto& [root, rc] : snap.cfg->api_roots) {
    if (const auto* c = snap.cfg->find_collection(root, text)) {
      if (who.audit_scoped && !who.can_read(root, c->id)) continue;
      if (!resolved.empty() && resolved != c->id) {
        return fail("collection '" + std::string(text) +
                    "' names collections in several API roots: use its id");
      }
      resolved = c->id;
    }
  }
  if (!resolved.empty()) out.id = resolved;
  out.out_of_scope = who.audit_scoped && resolved.empty();
  if (out.id.size() > k_max_collection_bytes) return fail("collection is too long");
  return out;
}

}  // namespace cairn::server
