#include "clients/taxii_client.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "formats/base64.hpp"
#include "formats/json.hpp"
#include "formats/stix.hpp"

namespace cairn::clients {

namespace {

using formats::json_view;

constexpr std::string_view default_user_agent = "cairn/0.1";

std::string join(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

bool has_crlf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

std::string with_slash(std::string path) {
  if (path.empty() || path.back() != '/') path += '/';
  return path;
}

}  // namespace

// ---- object_filters ----

std::string object_filters::to_query() const {
  std::string q;
  auto add = [&q](std::string_view key, std::string_view value) {
    q += q.empty() ? '?' : '&';
    q += key;
    q += '=';
    // Commas separate alternatives (T 3.4.1) and colons are common in
    // timestamps: both are legal in a query and kept readable.
    q += percent_encode(value, ",:");
  };
  if (!added_after.empty()) add("added_after", added_after);
  if (limit) add("limit", std::to_string(*limit));
  if (!next.empty()) {
    q += q.empty() ? '?' : '&';
    q += "next=" + percent_encode(next);
  }
  if (!ids.empty()) add("match[id]", join(ids, ','));
  if (!types.empty()) add("match[type]", join(types, ','));
  if (!versions.empty()) add("match[version]", join(versions, ','));
  if (!spec_versions.empty()) add("match[spec_version]", join(spec_versions, ','));
  return q;
}

// ---- taxii_client ----

taxii_client::taxii_client(taxii_client&&) noexcept = default;
taxii_client& taxii_client::operator=(taxii_client&&) noexcept = default;
taxii_client::~taxii_client() = default;

result<taxii_client> taxii_client::make(client_options options) {
  auto where = parse_url(options.url);
  if (!where) return std::unexpected(where.error());
  auto tls = tls_context::make(options);
  if (!tls) return std::unexpected(tls.error());
  taxii_client c;
  c.server_ = std::move(*where);
  c.tls_ = std::move(*tls);
  if (!options.token.empty()) {
    c.authorization_ = "Bearer " + options.token;
  } else if (!options.user.empty()) {
    if (options.user.find(':') != std::string::npos) {
      return fail("a user name for Basic authentication cannot hold ':'");
    }
    c.authorization_ = "Basic " + formats::base64_encode(options.user + ":" + options.password);
  }
  if (has_crlf(c.authorization_)) return fail("credentials must not hold line breaks");
  c.user_agent_ = options.user_agent.empty() ? std::string(default_user_agent) : options.user_agent;
  if (has_crlf(c.user_agent_)) return fail("the user agent must not hold line breaks");
  c.jitter_state_ = std::random_device{}();
  c.options_ = std::move(options);
  return c;
}

void taxii_client::disconnect() {
  connection_.reset();
}

std::chrono::milliseconds taxii_client::backoff_delay(int attempt) {
  const auto base = options_.backoff.count();
  const auto capped = std::min<std::int64_t>(base << std::min(attempt, 4), base * 16);
  // Up to a quarter more, so that many clients do not retry in lock step.
  jitter_state_ = jitter_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const auto jitter = capped > 0
                          ? static_cast<std::int64_t>((jitter_state_ >> 33) %
                                                      static_cast<std::uint64_t>(capped / 4 + 1))
                          : 0;
  return std::chrono::milliseconds(capped + jitter);
}

void taxii_client::pause(std::chrono::milliseconds d) {
  if (options_.sleep_for) {
    options_.sleep_for(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

std::string taxii_client::head(std::string_view method, std::string_view target,
                               const header_list& headers, bool sends_body,
                               std::size_t body_size) const {
  bool has_accept = false, has_content_type = false;
  for (const auto& [k, v] : headers) {
    has_accept = has_accept || iequals(k, "accept");
    has_content_type = has_content_type || iequals(k, "content-type");
  }
  std::string head;
  head.reserve(512);
  head.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  head += "Host: " + server_.authority() + "\r\n";
  head += "User-Agent: " + user_agent_ + "\r\n";
  if (!has_accept) head += "Accept: " + std::string(taxii_media_type) + "\r\n";
  if (!authorization_.empty()) head += "Authorization: " + authorization_ + "\r\n";
  if (sends_body) {
    if (!has_content_type) head += "Content-Type: " + std::string(taxii_media_type) + "\r\n";
    head += "Content-Length: " + std::to_string(body_size) + "\r\n";
  }
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  return head;
}

result<http_response> taxii_client::request(std::string_view method, std::string_view target,
                                            const header_list& headers, std::string_view body) {
  if (method.empty() || has_crlf(method) || method.find(' ') != std::string_view::npos) {
    return fail("bad HTTP method \"" + std::string(method) + "\"");
  }
  if (target.empty() || target.front() != '/' || has_crlf(target) ||
      target.find(' ') != std::string_view::npos) {
    return fail("bad request target \"" + std::string(target) + "\"");
  }
  for (const auto& [k, v] : headers) {
    if (has_crlf(k) || has_crlf(v) || k.empty() || k.find(':') != std::string::npos) {
      return fail("bad header \"" + k + "\"");
    }
  }

  const bool sends_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  std::string head = this->head(method, target, headers, sends_body, body.size());
  // Small requests go out in one TLS record; large bodies are not copied.
  const bool one_write = body.size() <= 16384;
  if (one_write) head.append(body);

  int attempt = 0;
  bool stale_retry_used = false;
  std::string last_error;
  for (;;) {
    last_status_ = 0;
    const bool reused = connection_ && connection_->is_open();
    if (!reused) {
      connection_.reset();
      bool permanent = false;
      auto conn = raw_connection::open(server_, options_, tls_, &permanent);
      if (!conn) {
        if (permanent || attempt >= options_.retries) {
          std::string msg = conn.error().message;
          if (attempt > 0) msg += " (after " + std::to_string(attempt + 1) + " attempts)";
          return fail(msg);
        }
        pause(backoff_delay(attempt));
        ++attempt;
        continue;
      }
      connection_.emplace(std::move(*conn));
      ++connections_opened_;
    }

    auto sent = connection_->write(head);
    if (sent && !one_write) sent = connection_->write(body);
    result<http_response> response = !sent   ? std::unexpected(sent.error())
                                     : sink_ ? connection_->read_response_to(*sink_)
                                             : connection_->read_response(method == "HEAD");
    if (!response && sink_used_) {
      // Part of the body is out already: a retry would repeat it.
      connection_.reset();
      return response;
    }
    if (!response) {
      const bool peer_closed = connection_->peer_closed();
      connection_.reset();
      // A kept-alive connection that the server closed while it was idle:
      // open a new one at once, without counting it as a retry.
      if (reused && peer_closed && !stale_retry_used) {
        stale_retry_used = true;
        continue;
      }
      if (attempt >= options_.retries) {
        std::string msg = response.error().message;
        if (attempt > 0) msg += " (after " + std::to_string(attempt + 1) + " attempts)";
        return fail(msg);
      }
      pause(backoff_delay(attempt));
      ++attempt;
      continue;
    }
    last_status_ = response->status;
    if (!response->keep_alive) connection_.reset();
    const unsigned s = response->status;
    const bool retryable = s == 429 || s == 502 || s == 503 || s == 504;
    if (retryable && attempt < options_.retries) {
      std::chrono::milliseconds delay = backoff_delay(attempt);
      if (auto ra = response->header("Retry-After")) {
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        if (auto secs = parse_retry_after(*ra, now)) {
          delay = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::min(*secs, options_.max_retry_after));
        }
      }
      pause(delay);
      ++attempt;
      continue;
    }
    return response;
  }
}

result<http_response> taxii_client::expect_ok(std::string_view method, std::string_view target,
                                              std::string_view body) {
  auto response = request(method, target, {}, body);
  if (!response) return response;
  if (!response->ok()) {
    return fail(describe_error_response(response->status, response->reason, response->body));
  }
  return response;
}

result<http_response> taxii_client::get_ok(std::string_view target) {
  return expect_ok("GET", target);
}

result<http_response> taxii_client::get_to(std::string_view target, const header_list& headers,
                                           const raw_connection::body_sink& sink) {
  sink_used_ = false;
  const raw_connection::body_sink counted = [&](std::string_view piece) -> result<void> {
    sink_used_ = true;
    return sink(piece);
  };
  sink_ = &counted;
  auto response = request("GET", target, headers);
  sink_ = nullptr;
  if (!response) return response;
  if (!response->ok()) {
    return fail(describe_error_response(response->status, response->reason, response->body));
  }
  return response;
}

result<discovery_info> taxii_client::discovery() {
  const std::string target = server_.path.ends_with("taxii2/") ? server_.path : "/taxii2/";
  auto response = expect_ok("GET", target);
  if (!response) return std::unexpected(response.error());
  return formats::read_discovery(response->body);
}

result<std::string> taxii_client::resolve_api_root(std::string_view name) {
  const bool is_discovery = server_.path.ends_with("taxii2/");
  if (!is_discovery) {
    if (!name.empty()) {
      if (name.front() == '/') return with_slash(std::string(name));
      auto ref = resolve_reference(server_, name);
      if (!ref) return std::unexpected(ref.error());
      return with_slash(ref->path);
    }
    return with_slash(server_.path);
  }
  auto d = discovery();
  if (!d) return std::unexpected(d.error());
  auto same_server = [&](const url_parts& u) -> result<std::string> {
    if (u.host != server_.host || u.port != server_.port) {
      return fail("the API root " + u.to_string() + " is on another server; use --url " +
                  u.to_string());
    }
    return with_slash(u.path);
  };
  if (name.empty()) {
    std::string chosen = d->default_root;
    if (chosen.empty()) {
      if (d->api_roots.size() != 1) {
        std::string msg = "the server names no default API root; choose one with --root";
        if (!d->api_roots.empty()) msg += " (" + join(d->api_roots, ' ') + ")";
        return fail(msg);
      }
      chosen = d->api_roots.front();
    }
    auto ref = resolve_reference(server_, chosen);
    if (!ref) return std::unexpected(ref.error());
    return same_server(*ref);
  }
  for (const auto& listed : d->api_roots) {
    auto ref = resolve_reference(server_, listed);
    if (!ref) continue;
    std::string_view path = ref->path;
    std::string_view trimmed = path;
    while (!trimmed.empty() && trimmed.back() == '/') trimmed.remove_suffix(1);
    const auto slash = trimmed.rfind('/');
    const std::string_view last =
        slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1);
    if (listed == name || path == name || with_slash(std::string(name)) == path || last == name) {
      return same_server(*ref);
    }
  }
  return fail(
      "the server lists no API root \"" + std::string(name) + "\"" +
      (d->api_roots.empty() ? std::string{} : " (it lists " + join(d->api_roots, ' ') + ")"));
}

namespace {

std::string collection_path(std::string_view root, std::string_view collection) {
  return std::string(root) + "collections/" + percent_encode(collection) + "/";
}

void take_date_headers(const http_response& r, std::string& first, std::string& last) {
  first = r.header("X-TAXII-Date-Added-First").value_or("");
  last = r.header("X-TAXII-Date-Added-Last").value_or("");
}

}  // namespace

result<api_root_info> taxii_client::api_root(std::string_view root) {
  auto response = expect_ok("GET", root);
  if (!response) return std::unexpected(response.error());
  return formats::read_api_root(response->body);
}

result<std::vector<collection_info>> taxii_client::collections(std::string_view root) {
  auto response = expect_ok("GET", std::string(root) + "collections/");
  if (!response) return std::unexpected(response.error());
  return formats::read_collections(response->body);
}

result<collection_info> taxii_client::collection(std::string_view root,
                                                 std::string_view collection) {
  auto response = expect_ok("GET", collection_path(root, collection));
  if (!response) return std::unexpected(response.error());
  return formats::read_collection(response->body);
}

std::string taxii_client::resolve_collection(std::string_view root, std::string_view id_or_alias) {
  std::string given(id_or_alias);
  if (formats::is_uuid(given)) return given;
  auto cols = collections(root);
  if (!cols) return given;
  for (const auto& c : *cols) {
    if (c.alias == given) return c.id;
  }
  return given;
}

result<envelope_page> taxii_client::get_objects(std::string_view root, std::string_view collection,
                                                const object_filters& filters) {
  auto response =
      expect_ok("GET", collection_path(root, collection) + "objects/" + filters.to_query());
  if (!response) return std::unexpected(response.error());
  auto page = formats::read_envelope(response->body);
  if (!page) return page;
  take_date_headers(*response, page->date_added_first, page->date_added_last);
  return page;
}

result<status_info> taxii_client::add_objects(std::string_view root, std::string_view collection,
                                              std::string_view envelope_json) {
  auto response = expect_ok("POST", collection_path(root, collection) + "objects/", envelope_json);
  if (!response) return std::unexpected(response.error());
  return formats::read_status(response->body);
}

result<status_info> taxii_client::get_status(std::string_view root, std::string_view status_id) {
  auto response = expect_ok("GET", std::string(root) + "status/" + percent_encode(status_id) + "/");
  if (!response) return std::unexpected(response.error());
  return formats::read_status(response->body);
}

result<status_info> taxii_client::wait_for_status(std::string_view root, status_info status,
                                                  std::chrono::seconds max_wait) {
  auto interval = std::chrono::milliseconds(100);
  std::chrono::milliseconds waited{0};
  while (!status.complete() && waited < max_wait) {
    pause(interval);
    waited += interval;
    auto next = get_status(root, status.id);
    if (!next) return next;
    status = std::move(*next);
    interval = std::min(interval * 2, std::chrono::milliseconds(2000));
  }
  return status;
}

result<envelope_page> taxii_client::get_object(std::string_view root, std::string_view collection,
                                               std::string_view object_id,
                                               const object_filters& filters) {
  auto response = expect_ok("GET", collection_path(root, collection) + "objects/" +
                                       percent_encode(object_id) + "/" + filters.to_query());
  if (!response) return std::unexpected(response.error());
  auto page = formats::read_envelope(response->body);
  if (!page) return page;
  take_date_headers(*response, page->date_added_first, page->date_added_last);
  return page;
}

result<void> taxii_client::delete_object(std::string_view root, std::string_view collection,
                                         std::string_view object_id,
                                         const object_filters& filters) {
  auto response = expect_ok("DELETE", collection_path(root, collection) + "objects/" +
                                          percent_encode(object_id) + "/" + filters.to_query());
  if (!response) return std::unexpected(response.error());
  return {};
}

result<versions_page> taxii_client::versions(std::string_view root, std::string_view collection,
                                             std::string_view object_id,
                                             const object_filters& filters) {
  auto response =
      expect_ok("GET", collection_path(root, collection) + "objects/" + percent_encode(object_id) +
                           "/versions/" + filters.to_query());
  if (!response) return std::unexpected(response.error());
  auto page = formats::read_versions(response->body);
  if (!page) return page;
  take_date_headers(*response, page->date_added_first, page->date_added_last);
  return page;
}

result<manifest_page> taxii_client::manifest(std::string_view root, std::string_view collection,
                                             const object_filters& filters) {
  auto response =
      expect_ok("GET", collection_path(root, collection) + "manifest/" + filters.to_query());
  if (!response) return std::unexpected(response.error());
  auto page = formats::read_manifest(response->body);
  if (!page) return page;
  take_date_headers(*response, page->date_added_first, page->date_added_last);
  return page;
}

}  // namespace cairn::clients
