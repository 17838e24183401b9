#include "clients/publisher.hpp"

#include <unordered_map>

#include "formats/stix.hpp"

namespace cairn::clients {

namespace {

// {"objects":[ ... ]}
constexpr std::size_t envelope_overhead = 14;

// Files up to this size are parsed whole; every object at most a million.
constexpr std::size_t max_input_objects = 10'000'000;

}  // namespace

batch_plan plan_batches(const std::vector<std::string_view>& objects, std::size_t max_bytes,
                        std::size_t max_count) {
  batch_plan plan;
  if (max_count == 0) max_count = 1;
  std::size_t first = 0, bytes = envelope_overhead, count = 0;
  std::vector<std::size_t> members;
  // Indices that fit go into the current batch; since batches are ranges, a
  // too-large object closes the current batch and starts a new one after it.
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const std::size_t size = objects[i].size();
    if (envelope_overhead + size > max_bytes) {
      if (count > 0) plan.batches.emplace_back(first, i);
      plan.too_large.push_back(i);
      first = i + 1;
      bytes = envelope_overhead;
      count = 0;
      continue;
    }
    const std::size_t added = size + (count > 0 ? 1 : 0);  // comma
    if (count == max_count || bytes + added > max_bytes) {
      plan.batches.emplace_back(first, i);
      first = i;
      bytes = envelope_overhead + size;
      count = 1;
      continue;
    }
    bytes += added;
    ++count;
  }
  if (count > 0) plan.batches.emplace_back(first, objects.size());
  return plan;
}

std::string make_envelope(const std::vector<std::string_view>& objects, std::size_t first,
                          std::size_t last) {
  std::size_t size = envelope_overhead;
  for (std::size_t i = first; i < last; ++i) size += objects[i].size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"objects\":[";
  for (std::size_t i = first; i < last; ++i) {
    if (i > first) out += ',';
    out += objects[i];
  }
  out += "]}";
  return out;
}

std::size_t publish_report::count(outcome_kind kind) const {
  std::size_t n = 0;
  for (const auto& o : outcomes) n += o.kind == kind ? 1 : 0;
  return n;
}

bool publish_report::all_succeeded() const {
  return request_error.empty() && count(outcome_kind::succeeded) == outcomes.size();
}

std::string_view outcome_name(outcome_kind kind) {
  switch (kind) {
    case outcome_kind::succeeded: return "ok";
    case outcome_kind::failed: return "failed";
    case outcome_kind::pending: return "pending";
    case outcome_kind::invalid: return "invalid";
    case outcome_kind::not_sent: return "not-sent";
  }
  return "?";
}

publisher::publisher(taxii_client& client, publish_settings settings, progress_meter* progress)
    : client_(client), settings_(settings), progress_(progress) {}

result<publish_report> publisher::run(std::string_view api_root, std::string_view collection,
                                      const std::vector<publish_input>& inputs) {
  publish_report report;

  // What will be sent: the minified JSON of each valid object, with where it
  // came from.
  struct valid_object {
    std::string id, version, json, source;
  };
  std::vector<valid_object> valid;
  for (const auto& input : inputs) {
    formats::json_limits limits;
    limits.max_bytes = std::max<std::size_t>(input.text.size(), 1);
    auto parsed = formats::parse_stix_content(input.text, limits, max_input_objects);
    if (!parsed) {
      report.outcomes.push_back(
          {"", "", input.name, outcome_kind::invalid, parsed.error().to_string()});
      continue;
    }
    for (std::size_t i = 0; i < parsed->size(); ++i) {
      auto& p = (*parsed)[i];
      if (p.info) {
        valid.push_back({p.info->id, p.info->version, std::move(p.info->json), input.name});
      } else {
        report.outcomes.push_back({p.id, p.version,
                                   input.name + ": object " + std::to_string(i + 1),
                                   outcome_kind::invalid, p.problem.to_string()});
      }
    }
  }
  if (valid.empty()) return report;

  auto root_info = client_.api_root(api_root);
  if (!root_info) return std::unexpected(root_info.error());
  std::size_t max_bytes = root_info->max_content_length > 0
                              ? static_cast<std::size_t>(root_info->max_content_length)
                              : settings_.default_max_content_length;

  std::vector<std::string_view> texts;
  texts.reserve(valid.size());
  for (const auto& v : valid) texts.push_back(v.json);
  const batch_plan plan = plan_batches(texts, max_bytes, settings_.max_objects_per_request);
  for (std::size_t i : plan.too_large) {
    report.outcomes.push_back({valid[i].id, valid[i].version, valid[i].source,
                               outcome_kind::not_sent,
                               "the object alone (" + std::to_string(texts[i].size()) +
                                   " bytes) is larger than the server accepts (" +
                                   std::to_string(max_bytes) + " bytes)"});
  }
  if (progress_) progress_->set_total(valid.size());

  for (const auto& [first, last] : plan.batches) {
    if (!report.request_error.empty()) {
      for (std::size_t i = first; i < last; ++i) {
        report.outcomes.push_back({valid[i].id, valid[i].version, valid[i].source,
                                   outcome_kind::not_sent, report.request_error});
      }
      continue;
    }
    const std::string envelope = make_envelope(texts, first, last);
    ++report.requests;
    report.bytes_sent += envelope.size();
    auto status = client_.add_objects(api_root, collection, envelope);
    if (status && !status->complete()) {
      status = client_.wait_for_status(api_root, std::move(*status), settings_.status_wait);
    }
    if (!status) {
      // The server refused the request as a whole; later requests would
      // meet the same answer (rights, size) or the same broken connection.
      report.request_error = status.error().message;
      for (std::size_t i = first; i < last; ++i) {
        report.outcomes.push_back({valid[i].id, valid[i].version, valid[i].source,
                                   outcome_kind::failed, report.request_error});
      }
      continue;
    }
    report.status_ids.push_back(status->id);

    std::unordered_map<std::string, const status_detail*> failed, pending, succeeded;
    std::unordered_map<std::string, const status_detail*> failed_by_id, pending_by_id,
        succeeded_by_id;
    auto index = [](const std::vector<status_detail>& list, auto& exact, auto& by_id) {
      for (const auto& d : list) {
        exact.emplace(d.id + '\n' + d.version, &d);
        by_id.emplace(d.id, &d);
      }
    };
    index(status->failures, failed, failed_by_id);
    index(status->pendings, pending, pending_by_id);
    index(status->successes, succeeded, succeeded_by_id);
    auto find = [](const auto& exact, const auto& by_id,
                   const valid_object& v) -> const status_detail* {
      if (auto it = exact.find(v.id + '\n' + v.version); it != exact.end()) return it->second;
      if (auto it = by_id.find(v.id); it != by_id.end()) return it->second;
      return nullptr;
    };
    const bool clean = status->failure_count == 0 && status->pending_count == 0;
    for (std::size_t i = first; i < last; ++i) {
      const auto& v = valid[i];
      object_outcome o{v.id, v.version, v.source, outcome_kind::succeeded, {}};
      if (const auto* d = find(failed, failed_by_id, v)) {
        o.kind = outcome_kind::failed;
        o.message = d->message.empty() ? "refused by the server" : d->message;
      } else if (find(pending, pending_by_id, v) != nullptr ||
                 (!status->complete() && find(succeeded, succeeded_by_id, v) == nullptr)) {
        o.kind = outcome_kind::pending;
        o.message = "still pending after " + std::to_string(settings_.status_wait.count()) +
                    " s (status " + status->id + ")";
      } else if (find(succeeded, succeeded_by_id, v) == nullptr && !clean) {
        // The status counts failures without naming them all.
        o.kind = outcome_kind::failed;
        o.message = "status " + status->id + " does not say how this object fared";
      }
      report.outcomes.push_back(std::move(o));
    }
    if (progress_) progress_->add(last - first, envelope.size());
  }
  return report;
}

}  // namespace cairn::clients
