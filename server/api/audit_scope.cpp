#include "server/api/audit_scope.hpp"

#include "server/api/exchange.hpp"
#include "server/auth/accounts.hpp"

namespace cairn::server {

namespace {
constexpr std::size_t k_max_collection_bytes = 256;
}  // namespace

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
