#include "storage/publish_plan.hpp"

#include <algorithm>
#include <unordered_map>

#include "formats/time.hpp"

namespace cairn::storage {

namespace {

constexpr unsigned k_tlp_levels = 5;

// What becomes of one object of the request.
struct entry {
  enum { failed, duplicate, added } kind = failed;
  std::string why;          // failed
  std::string dup_version;  // duplicate of a stored version
  int dup_of = -1;          // duplicate of the entry with this index (added)
  std::string time_key;     // of the version as published (empty without one)
  bool later_copy = false;
  bool id_copy = false;
  std::string version;  // added: as stored
};

// Why obj cannot be stored, or an empty string (time_key set when it has a
// version).
std::string refusal(const new_object& obj, std::string& time_key) {
  if (obj.id.empty() || obj.id.size() > max_object_id_bytes) {
    return "object id is empty or longer than " + std::to_string(max_object_id_bytes) + " bytes";
  }
  if (obj.version.size() > max_version_bytes || obj.spec_version.size() > max_spec_version_bytes) {
    return "version or spec_version too long";
  }
  if (static_cast<unsigned>(obj.tlp) >= k_tlp_levels) return "unknown TLP level";
  if (!obj.version.empty()) {
    auto key = formats::stix_time_key(obj.version);
    if (!key) return "version is not a STIX timestamp: " + key.error().message;
    time_key = std::move(*key);
  }
  return {};
}

}  // namespace

result<publish_plan> plan_publish(const publish_request& req, micros now, micros last_added,
                                  const stored_versions_fn& stored) {
  if (req.publisher.size() > max_publisher_bytes) {
    return fail("publisher name longer than " + std::to_string(max_publisher_bytes) + " bytes");
  }
  if (req.status.id.size() > max_status_id_bytes) {
    return fail("status id longer than " + std::to_string(max_status_id_bytes) + " bytes");
  }

  // Decided in request order against the stored versions and the ones this
  // request adds before each object.
  std::vector<entry> entries(req.objects.size());
  // The objects added so far, by id, in request order.
  std::unordered_map<std::string_view, std::vector<std::size_t>> added_by_id;
  added_by_id.reserve(req.objects.size());
  for (std::size_t i = 0; i < req.objects.size(); ++i) {
    const new_object& obj = req.objects[i];
    entry& e = entries[i];
    e.why = refusal(obj, e.time_key);
    if (!e.why.empty()) continue;
    // A stored copy: same id and version (any version, without one).
    bool any = false;
    stored(obj.id, [&](const stored_version_view& v) {
      if (!obj.version.empty() && v.time_key != e.time_key) return true;
      any = true;
      if (req.duplicate_if && !req.duplicate_if(v.record)) return true;
      e.kind = entry::duplicate;
      e.dup_version = obj.version.empty() ? std::string(v.record.version) : obj.version;
      return false;
    });
    if (e.kind == entry::duplicate) continue;
    e.later_copy = any;
    e.id_copy = obj.version.empty() && any;
    // A copy this request adds: not yet numbered, so date_added is 0 here.
    auto& same_id = added_by_id[obj.id];
    for (const std::size_t j : same_id) {
      if (e.kind == entry::duplicate) break;
      const new_object& p = req.objects[j];
      if (!obj.version.empty() && (p.version.empty() || entries[j].time_key != e.time_key)) {
        continue;
      }
      if (req.duplicate_if &&
          !req.duplicate_if(object_record{req.collection, 0, p.id, p.version, p.spec_version,
                                          req.publisher, p.tlp, p.json, false, false})) {
        e.later_copy = true;
        if (obj.version.empty()) e.id_copy = true;
        continue;
      }
      e.kind = entry::duplicate;
      e.dup_of = static_cast<int>(j);
    }
    if (e.kind != entry::duplicate) {
      e.kind = entry::added;
      same_id.push_back(i);
    }
  }

  // Numbered together, by TLP level, then request order.
  std::vector<std::size_t> added;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].kind == entry::added) added.push_back(i);
  }
  std::stable_sort(added.begin(), added.end(), [&](std::size_t a, std::size_t b) {
    return req.objects[a].tlp < req.objects[b].tlp;
  });
  publish_plan plan;
  plan.last_added = last_added;
  publish_outcome& out = plan.outcome;
  out.status = req.status;
  std::vector<status_detail> successes;
  successes.reserve(added.size() + req.status.successes.size());
  plan.added.reserve(added.size());
  plan.recorded.reserve(entries.size() + req.status.successes.size());
  out.added_positions.reserve(added.size());
  micros next = std::max(now, last_added + 1);
  for (std::size_t i : added) {
    const new_object& obj = req.objects[i];
    entry& e = entries[i];
    publish_plan::version v;
    v.index = i;
    v.date_added = next++;
    if (obj.version.empty()) {
      e.version = formats::format_taxii_time(v.date_added);
      v.time_key = formats::stix_time_key(e.version).value_or("");
    } else {
      e.version = obj.version;
      v.time_key = e.time_key;
    }
    v.version = e.version;
    v.later_copy = e.later_copy;
    v.id_copy = e.id_copy;
    plan.last_added = v.date_added;
    out.added_positions.push_back(v.date_added);
    successes.push_back({obj.id, e.version, {}});
    plan.recorded.push_back({obj.id, e.version});
    plan.added.push_back(std::move(v));
  }
  out.added = added.size();
  if (!added.empty()) {
    out.first_date_added = out.added_positions.front();
    out.last_date_added = out.added_positions.back();
  }

  // Successes: added versions by position, the request's own, duplicates.
  successes.insert(successes.end(), out.status.successes.begin(), out.status.successes.end());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const new_object& obj = req.objects[i];
    const entry& e = entries[i];
    if (e.kind == entry::failed) {
      out.status.failures.push_back(
          {obj.id.substr(0, max_object_id_bytes), obj.version.substr(0, max_version_bytes), e.why});
    } else if (e.kind == entry::duplicate) {
      ++out.duplicates;
      const std::string& version = !obj.version.empty() ? obj.version
                                   : e.dup_of < 0       ? e.dup_version
                                                        : entries[e.dup_of].version;
      successes.push_back({obj.id, version, {}});
    }
  }
  for (std::size_t i = out.added; i < successes.size(); ++i) {
    plan.recorded.push_back({successes[i].id, successes[i].version});
  }
  out.status.successes = std::move(successes);
  return plan;
}

}  // namespace cairn::storage
