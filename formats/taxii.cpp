#include "formats/taxii.hpp"

namespace cairn::formats {

namespace {

void optional_member(json_writer& w, std::string_view key, std::string_view value) {
  if (!value.empty()) w.member(key, value);
}

void write_entries(json_writer& w, std::string_view key, const std::vector<status_detail>& list) {
  if (list.empty()) return;
  w.key(key).begin_array();
  for (const auto& e : list) {
    w.begin_object().member("id", e.id).member("version", e.version);
    optional_member(w, "message", e.message);
    w.end_object();
  }
  w.end_array();
}

// Closes a paged resource whose list (if any item was added) is still open.
std::string finish_page(json_writer& w, bool any, bool more, std::string_view next) {
  if (any) w.end_array();
  w.member("more", more);
  if (more && !next.empty()) w.member("next", next);
  w.end_object();
  return w.take();
}

}  // namespace

std::string write_discovery(const discovery_resource& d) {
  json_writer w;
  w.begin_object().member("title", d.title);
  optional_member(w, "description", d.description);
  optional_member(w, "contact", d.contact);
  optional_member(w, "default", d.default_root);
  if (!d.api_roots.empty()) {
    w.key("api_roots").begin_array();
    for (const auto& r : d.api_roots) w.string(r);
    w.end_array();
  }
  w.end_object();
  return w.take();
}

std::string write_api_root(const api_root_resource& r) {
  json_writer w;
  w.begin_object().member("title", r.title);
  optional_member(w, "description", r.description);
  w.key("versions").begin_array().string(taxii_media_type).end_array();
  w.member("max_content_length", r.max_content_length);
  w.end_object();
  return w.take();
}

void write_collection(json_writer& w, const collection_resource& c) {
  w.begin_object().member("id", c.id).member("title", c.title);
  optional_member(w, "description", c.description);
  optional_member(w, "alias", c.alias);
  w.member("can_read", c.can_read).member("can_write", c.can_write);
  w.key("media_types").begin_array().string(stix_media_type).end_array();
  w.end_object();
}

std::string write_collection(const collection_resource& c) {
  json_writer w;
  write_collection(w, c);
  return w.take();
}

std::string write_collections(const std::vector<collection_resource>& cs) {
  json_writer w;
  w.begin_object();
  if (!cs.empty()) {
    w.key("collections").begin_array();
    for (const auto& c : cs) write_collection(w, c);
    w.end_array();
  }
  w.end_object();
  return w.take();
}

std::string write_status(const status_resource& s) {
  json_writer w;
  w.begin_object().member("id", s.id).member("status", s.complete ? "complete" : "pending");
  if (s.request_timestamp != 0) {
    w.member("request_timestamp", format_taxii_time(s.request_timestamp));
  }
  const auto n_ok = static_cast<std::int64_t>(s.successes.size());
  const auto n_bad = static_cast<std::int64_t>(s.failures.size());
  const auto n_wait = static_cast<std::int64_t>(s.pendings.size());
  w.member("total_count", n_ok + n_bad + n_wait);
  w.member("success_count", n_ok);
  write_entries(w, "successes", s.successes);
  w.member("failure_count", n_bad);
  write_entries(w, "failures", s.failures);
  w.member("pending_count", n_wait);
  write_entries(w, "pendings", s.pendings);
  w.end_object();
  return w.take();
}

std::string write_error(int http_status, std::string_view title, std::string_view description) {
  json_writer w;
  w.begin_object().member("title", title);
  optional_member(w, "description", description);
  w.member("http_status", std::to_string(http_status));
  w.end_object();
  return w.take();
}

envelope_writer::envelope_writer() {
  w_.begin_object();
}

void envelope_writer::reserve(std::size_t json_bytes, std::size_t count) {
  // Commas between the objects; the members around them and a `next` token.
  constexpr std::size_t k_envelope_bytes = 512;
  w_.reserve(json_bytes + count + k_envelope_bytes);
}

void envelope_writer::add_object(std::string_view json) {
  if (!any_) {
    w_.key("objects").begin_array();
    any_ = true;
  }
  w_.raw(json);
}

std::string envelope_writer::finish(bool more, std::string_view next) {
  return finish_page(w_, any_, more, next);
}

manifest_writer::manifest_writer() {
  w_.begin_object();
}

void manifest_writer::add(std::string_view id, micros date_added, std::string_view version,
                          std::string_view media_type) {
  if (!any_) {
    w_.key("objects").begin_array();
    any_ = true;
  }
  w_.begin_object()
      .member("id", id)
      .member("date_added", format_taxii_time(date_added))
      .member("version", version)
      .member("media_type", media_type)
      .end_object();
}

std::string manifest_writer::finish(bool more, std::string_view next) {
  return finish_page(w_, any_, more, next);
}

versions_writer::versions_writer() {
  w_.begin_object();
}

void versions_writer::add(std::string_view version) {
  if (!any_) {
    w_.key("versions").begin_array();
    any_ = true;
  }
  w_.string(version);
}

std::string versions_writer::finish(bool more, std::string_view next) {
  return finish_page(w_, any_, more, next);
}

}  // namespace cairn::formats
