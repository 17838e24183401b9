#include "server/api/publishing.hpp"

#include <algorithm>
#include <utility>

#include "formats/time.hpp"
#include "server/auth/policy.hpp"

namespace cairn::server {

storage::publish_request publish_request_for(const publication& p,
                                             std::vector<formats::parsed_object> parsed) {
  const account& who = *p.publisher;
  storage::publish_request pr;
  pr.collection = p.key;
  pr.publisher = who.name;
  // Only a version the publisher may receive makes its object a duplicate:
  // otherwise the status would report a withheld version, and the
  // publisher's own copy would then be withheld from it (an oracle for what
  // is held). Such an object is stored as the publisher's.
  pr.duplicate_if = [who = account{who.name, who.clearance}](const storage::object_record& r) {
    return may_receive(who, r);
  };
  pr.status.id = formats::new_uuid_v4();
  pr.status.owner = who.name;
  pr.status.api_root = p.api_root;
  pr.status.request_timestamp = formats::now_micros();
  pr.objects.reserve(parsed.size());
  for (auto& entry : parsed) {
    if (!entry.info) {
      pr.status.failures.push_back({entry.id, entry.version, entry.problem.to_string()});
      continue;
    }
    auto& info = *entry.info;
    storage::new_object o;
    o.id = std::move(info.id);
    o.type = std::move(info.type);
    o.version = std::move(info.version);
    o.spec_version = std::move(info.spec_version);
    o.tlp = info.tlp.value_or(p.default_tlp);
    o.json = std::move(info.json);
    o.observables = std::move(info.observables);
    pr.objects.push_back(std::move(o));
  }
  // The publisher receives its own versions above its clearance. Numbered
  // with other publishes of the same commit, those would come after the
  // others' versions of the levels in between, which it may not receive: the
  // gap would count them. Alone in its commit, nothing lies between.
  pr.own_commit = std::any_of(pr.objects.begin(), pr.objects.end(),
                              [&](const auto& o) { return !cleared_for(who, o.tlp); });
  return pr;
}

void publish(storage::store& store, const publication& p,
             std::vector<formats::parsed_object> parsed, storage::audit_entry record,
             std::function<void(result<storage::publish_outcome>)> done) {
  store.publish(publish_request_for(p, std::move(parsed)), std::move(record), std::move(done));
}

}  // namespace cairn::server
