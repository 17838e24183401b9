#include "formats/taxii_read.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "formats/json.hpp"

namespace cairn::formats {

namespace {

result<json_document> parse_resource(std::string_view json, std::string_view what) {
  json_limits limits;
  limits.max_bytes = std::max<std::size_t>(limits.max_bytes, json.size());
  auto doc = parse_json(json, limits);
  if (!doc) {
    return fail("the server sent a " + std::string(what) +
                " that is not valid JSON: " + doc.error().to_string());
  }
  if (!doc->root().is_object()) {
    return fail("the server sent a " + std::string(what) + " that is not a JSON object");
  }
  return std::move(*doc);
}

// Reads optional members of one object: an absent member leaves its target
// unchanged, one of the wrong type is an error ("<what>: "<key>" is not ...").
// After the first error the other reads do nothing; failure() reports it.
class member_reader {
 public:
  member_reader(json_view obj, std::string_view what) : obj_(obj), what_(what) {}

  member_reader& string(std::string_view key, std::string& out) {
    if (auto v = member(key, &json_view::is_string, "is not a string")) {
      out = std::string(v->as_string());
    }
    return *this;
  }
  member_reader& boolean(std::string_view key, bool& out) {
    if (auto v = member(key, &json_view::is_bool, "is not true or false")) out = v->as_bool();
    return *this;
  }
  member_reader& integer(std::string_view key, std::int64_t& out) {
    if (auto v = member(key, &json_view::is_integer, "is not an integer")) out = v->as_int();
    return *this;
  }
  member_reader& strings(std::string_view key, std::vector<std::string>& out) {
    auto v = member(key, &json_view::is_array, "is not a list");
    for (std::size_t i = 0; v && i < v->size(); ++i) {
      auto item = v->value_at(i);
      if (!item.is_string()) {
        failed(key, "holds a non-string");
        return *this;
      }
      out.emplace_back(item.as_string());
    }
    return *this;
  }
  // The paging members of the envelope, manifest and versions resources.
  template <typename Page>
  member_reader& page(Page& out) {
    return boolean("more", out.more).string("next", out.next);
  }

  // The list member key, when present and an array (else an error, once).
  std::optional<json_view> list(std::string_view key) {
    return member(key, &json_view::is_array, "is not a list");
  }

  bool ok() const { return !error_; }
  std::unexpected<cairn::error> failure() const { return std::unexpected(*error_); }

 private:
  std::optional<json_view> member(std::string_view key, bool (json_view::*is)() const,
                                  std::string_view complaint) {
    if (error_) return std::nullopt;
    auto v = obj_.get(key);
    if (!v) return std::nullopt;
    if (!((*v).*is)()) {
      failed(key, complaint);
      return std::nullopt;
    }
    return v;
  }
  void failed(std::string_view key, std::string_view complaint) {
    error_ = fail(std::string(what_) + ": \"" + std::string(key) + "\" " + std::string(complaint))
                 .error();
  }

  json_view obj_;
  std::string_view what_;
  std::optional<cairn::error> error_;
};

result<collection_info> collection_from(json_view c) {
  collection_info out;
  if (!c.is_object()) return fail("a collection is not a JSON object");
  member_reader r(c, "collection");
  r.string("id", out.id).string("title", out.title).string("description", out.description);
  r.string("alias", out.alias).boolean("can_read", out.can_read);
  r.boolean("can_write", out.can_write).strings("media_types", out.media_types);
  if (!r.ok()) return r.failure();
  if (out.id.empty()) return fail("a collection has no \"id\"");
  out.json = c.dump();
  return out;
}

result<std::vector<status_detail>> details_from(json_view obj, std::string_view key) {
  std::vector<status_detail> out;
  auto v = obj.get(key);
  if (!v) return out;
  if (!v->is_array()) return fail("status: \"" + std::string(key) + "\" is not a list");
  out.reserve(v->size());
  for (std::size_t i = 0; i < v->size(); ++i) {
    auto d = v->value_at(i);
    status_detail detail;
    if (d.is_string()) {
      // TAXII 2.0 servers list bare ids.
      detail.id = std::string(d.as_string());
    } else if (d.is_object()) {
      member_reader r(d, "status detail");
      r.string("id", detail.id).string("version", detail.version);
      r.string("message", detail.message);
      if (!r.ok()) return r.failure();
    } else {
      return fail("status: an entry of \"" + std::string(key) + "\" is not an object");
    }
    out.push_back(std::move(detail));
  }
  return out;
}

}  // namespace

result<discovery_info> read_discovery(std::string_view json) {
  auto doc = parse_resource(json, "discovery resource");
  if (!doc) return std::unexpected(doc.error());
  const auto root = doc->root();
  discovery_info out;
  member_reader r(root, "discovery");
  r.string("title", out.title).string("description", out.description);
  r.string("contact", out.contact).string("default", out.default_root);
  r.strings("api_roots", out.api_roots);
  if (!r.ok()) return r.failure();
  out.json = root.dump();
  return out;
}

result<api_root_info> read_api_root(std::string_view json) {
  auto doc = parse_resource(json, "API root resource");
  if (!doc) return std::unexpected(doc.error());
  const auto root = doc->root();
  api_root_info out;
  member_reader r(root, "API root");
  r.string("title", out.title).string("description", out.description);
  r.strings("versions", out.versions).integer("max_content_length", out.max_content_length);
  if (!r.ok()) return r.failure();
  out.json = root.dump();
  return out;
}

result<std::vector<collection_info>> read_collections(std::string_view json) {
  auto doc = parse_resource(json, "collections resource");
  if (!doc) return std::unexpected(doc.error());
  std::vector<collection_info> out;
  member_reader r(doc->root(), "collections");
  auto list = r.list("collections");  // absent when there are none: {} (T 5.1.1)
  if (!r.ok()) return r.failure();
  for (std::size_t i = 0; list && i < list->size(); ++i) {
    auto c = collection_from(list->value_at(i));
    if (!c) return std::unexpected(c.error());
    out.push_back(std::move(*c));
  }
  return out;
}

result<collection_info> read_collection(std::string_view json) {
  auto doc = parse_resource(json, "collection resource");
  if (!doc) return std::unexpected(doc.error());
  return collection_from(doc->root());
}

result<envelope_page> read_envelope(std::string_view json) {
  auto doc = parse_resource(json, "envelope");
  if (!doc) return std::unexpected(doc.error());
  envelope_page out;
  out.body_bytes = json.size();
  member_reader r(doc->root(), "envelope");
  auto objects = r.page(out).list("objects");
  if (!r.ok()) return r.failure();
  if (objects) {
    out.objects.reserve(objects->size());
    for (std::size_t i = 0; i < objects->size(); ++i) {
      auto o = objects->value_at(i);
      if (!o.is_object()) {
        return fail("envelope: object " + std::to_string(i) + " is not an object");
      }
      out.objects.push_back(o.dump());
    }
  }
  return out;
}

result<status_info> read_status(std::string_view json) {
  auto doc = parse_resource(json, "status resource");
  if (!doc) return std::unexpected(doc.error());
  const auto root = doc->root();
  status_info out;
  member_reader r(root, "status");
  r.string("id", out.id).string("status", out.status);
  r.string("request_timestamp", out.request_timestamp).integer("total_count", out.total_count);
  r.integer("success_count", out.success_count).integer("failure_count", out.failure_count);
  r.integer("pending_count", out.pending_count);
  if (!r.ok()) return r.failure();
  for (auto [key, list] :
       {std::pair{"successes", &out.successes}, std::pair{"failures", &out.failures},
        std::pair{"pendings", &out.pendings}}) {
    auto details = details_from(root, key);
    if (!details) return std::unexpected(details.error());
    *list = std::move(*details);
  }
  if (out.id.empty() || out.status.empty()) return fail("status: \"id\" or \"status\" is missing");
  out.json = root.dump();
  return out;
}

result<manifest_page> read_manifest(std::string_view json) {
  auto doc = parse_resource(json, "manifest");
  if (!doc) return std::unexpected(doc.error());
  manifest_page out;
  member_reader r(doc->root(), "manifest");
  auto objects = r.page(out).list("objects");
  if (!r.ok()) return r.failure();
  for (std::size_t i = 0; objects && i < objects->size(); ++i) {
    auto o = objects->value_at(i);
    if (!o.is_object()) return fail("manifest: a record is not an object");
    manifest_record rec;
    member_reader m(o, "manifest record");
    m.string("id", rec.id).string("date_added", rec.date_added);
    m.string("version", rec.version).string("media_type", rec.media_type);
    if (!m.ok()) return m.failure();
    out.objects.push_back(std::move(rec));
  }
  return out;
}

result<versions_page> read_versions(std::string_view json) {
  auto doc = parse_resource(json, "versions resource");
  if (!doc) return std::unexpected(doc.error());
  versions_page out;
  member_reader r(doc->root(), "versions");
  r.page(out).strings("versions", out.versions);
  if (!r.ok()) return r.failure();
  return out;
}

}  // namespace cairn::formats
