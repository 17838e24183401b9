#pragma once
// The sharing policy, decided in one place: may this account receive this
// stored object version? Every path that can reveal an object (objects,
// object, versions, manifest, counts, more/next, the date headers) asks here.

#include "server/auth/accounts.hpp"
#include "storage/store.hpp"

namespace cairn::server {

// Whether an account's clearance covers a TLP level, whoever published.
inline bool cleared_for(const account& who, formats::tlp_level level) {
  return who.clearance >= level;
}

// An account receives a version if its clearance is at least the version's
// TLP level, or it published that version itself.
inline bool may_receive(const account& who, const storage::object_record& r) {
  return cleared_for(who, r.tlp) || r.publisher == who.name;
}

}  // namespace cairn::server
