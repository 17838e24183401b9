#pragma once
// A synchronous TAXII 2.1 client over HTTPS (Boost.Beast + OpenSSL), for the
// `cairn` command, the load generator and the server's integration tests. It
// works against any TAXII 2.1 server, not only cairnd.
//
// Trust: the server certificate is verified by default (system store, or
// options.cacert_file, or a pinned SHA-256 fingerprint) with a host name or IP
// address check and SNI; TLS 1.2 is the minimum. options.insecure skips it all.
// Authentication: Basic (user + password), Bearer (token) or a client
// certificate, as options say.
// Connections: one keep-alive connection, opened on first use and reopened
// transparently when the server has closed it.
// Retries: connection errors, 429 and 502/503/504 are retried up to
// options.retries times with exponential backoff, honouring Retry-After (at
// most options.max_retry_after); other 4xx and 5xx are never retried.
// Errors: every call returns cairn::result. An error response of the server
// becomes a message a person can act on ("403 Forbidden: <title>:
// <description>"); last_status() then holds its HTTP status.
// Threads: one taxii_client per thread; use several clients for concurrency.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/client_options.hpp"
#include "clients/http.hpp"
#include "clients/raw_connection.hpp"
#include "formats/error.hpp"
#include "formats/taxii.hpp"
#include "formats/taxii_read.hpp"

namespace cairn::clients {

using formats::taxii_media_type;

// The query of the objects, object, manifest and versions endpoints (T 3.4).
// Empty members are left out of the query.
struct object_filters {
  std::string added_after;
  std::optional<std::int64_t> limit;
  std::string next;
  std::vector<std::string> ids;
  std::vector<std::string> types;
  std::vector<std::string> versions;  // "last", "first", "all" or STIX timestamps
  std::vector<std::string> spec_versions;

  // "" or "?added_after=...&limit=...&match[type]=a,b" with values percent-encoded.
  std::string to_query() const;
};

// The resources as formats/taxii_read.hpp reads them.
using formats::api_root_info;
using formats::collection_info;
using formats::discovery_info;
using formats::envelope_page;
using formats::manifest_page;
using formats::manifest_record;
using formats::status_detail;
using formats::status_info;
using formats::versions_page;

class taxii_client {
 public:
  // Checks options.url and loads the TLS files; connects lazily.
  static result<taxii_client> make(client_options options);

  taxii_client(taxii_client&&) noexcept;
  taxii_client& operator=(taxii_client&&) noexcept;
  ~taxii_client();

  // One HTTP exchange on the kept-alive connection, with the retries above.
  // target is an origin-form path with query ("/taxii2/"). Adds Host,
  // User-Agent, Authorization, Accept (TAXII 2.1 unless headers hold one) and,
  // with a body, Content-Type (TAXII 2.1 unless given) and Content-Length.
  // Any status is a success here: the caller reads response.status.
  // Fails on CR/LF in target or headers, and on network errors after retries.
  result<http_response> request(std::string_view method, std::string_view target,
                                const header_list& headers = {}, std::string_view body = {});

  // The discovery resource: options.url when it names one (path ending in
  // "taxii2/"), else /taxii2/ on the same server.
  result<discovery_info> discovery();

  // The path of an API root ("/sharing/"), for the calls below. With options.url
  // a discovery URL: the root named by name (matched against the listed
  // URLs, their paths and their last path segment), or discovery's default,
  // or the only root listed. With options.url an API root URL: its path, unless
  // name is given ("/<name>/" then). Roots on another server are refused.
  result<std::string> resolve_api_root(std::string_view name = {});

  // api_root below is a path as resolve_api_root returns it ("/sharing/");
  // collection is a collection id or alias.
  result<api_root_info> api_root(std::string_view api_root);
  result<std::vector<collection_info>> collections(std::string_view api_root);
  result<collection_info> collection(std::string_view api_root, std::string_view collection);
  // TAXII lets an alias stand for the id in URLs, but not every server
  // implements it: the id of the collection with this alias, or the text
  // unchanged (a UUID, an unknown alias, or when the list cannot be read).
  std::string resolve_collection(std::string_view api_root, std::string_view id_or_alias);
  result<envelope_page> get_objects(std::string_view api_root, std::string_view collection,
                                    const object_filters& filters = {});
  // Posts an envelope ({"objects":[...]}) as is; the 202 status resource.
  result<status_info> add_objects(std::string_view api_root, std::string_view collection,
                                  std::string_view envelope_json);
  result<status_info> get_status(std::string_view api_root, std::string_view status_id);
  // Polls a status until it is complete or max_wait has passed (then the last
  // status read is returned, still pending). Waits 100 ms doubling to 2 s.
  result<status_info> wait_for_status(std::string_view api_root, status_info status,
                                      std::chrono::seconds max_wait);
  result<envelope_page> get_object(std::string_view api_root, std::string_view collection,
                                   std::string_view object_id, const object_filters& filters = {});
  result<void> delete_object(std::string_view api_root, std::string_view collection,
                             std::string_view object_id, const object_filters& filters = {});
  result<versions_page> versions(std::string_view api_root, std::string_view collection,
                                 std::string_view object_id, const object_filters& filters = {});
  result<manifest_page> manifest(std::string_view api_root, std::string_view collection,
                                 const object_filters& filters = {});

  // GET target and parse JSON (any path, e.g. the cairn extension endpoints);
  // non-2xx responses become errors as above.
  result<http_response> get_ok(std::string_view target);

  // GET target, writing a 2xx body to sink as it arrives (exports, which
  // may be larger than memory should hold); other statuses become errors
  // as above. Retried as request() is only while sink has had nothing.
  result<http_response> get_to(std::string_view target, const header_list& headers,
                               const raw_connection::body_sink& sink);

  // HTTP status of the last response received (0 before any, or after a
  // network error).
  unsigned last_status() const { return last_status_; }
  // TCP+TLS connections opened so far (keep-alive shows as 1).
  std::size_t connections_opened() const { return connections_opened_; }
  const url_parts& server() const { return server_; }
  const client_options& options() const { return options_; }
  const std::shared_ptr<const tls_context>& tls() const { return tls_; }
  // The head of a GET of target exactly as request() sends it (target
  // checked by the caller), for connections that bypass request().
  std::string get_head(std::string_view target) const { return head("GET", target, {}, false, 0); }
  // Drops the kept-alive connection.
  void disconnect();

 private:
  taxii_client() = default;
  std::string head(std::string_view method, std::string_view target, const header_list& headers,
                   bool sends_body, std::size_t body_size) const;
  result<http_response> expect_ok(std::string_view method, std::string_view target,
                                  std::string_view body = {});
  std::chrono::milliseconds backoff_delay(int attempt);
  void pause(std::chrono::milliseconds d);

  client_options options_;
  url_parts server_;
  std::shared_ptr<const tls_context> tls_;
  std::optional<raw_connection> connection_;
  std::string authorization_;
  std::string user_agent_;
  unsigned last_status_ = 0;
  std::size_t connections_opened_ = 0;
  // Set during get_to(): where request() sends a 2xx body.
  const raw_connection::body_sink* sink_ = nullptr;
  bool sink_used_ = false;
  std::uint64_t jitter_state_ = 0;
};

}  // namespace cairn::clients
