#pragma once
// The server's configuration file (INTERFACE.md, "Configuration file"), parsed
// and checked in full.
//
// parse_config() either returns a config that every other part may trust
// (names resolve, hashes parse, values are in range) or the complete list of
// problems, each with the JSON pointer of the offending key, so that an
// operator can fix them all in one go. Unknown keys are problems everywhere: a
// typo must not silently weaken policy.
//
// Paths in the file (data_dir and the tls files) are resolved against the
// folder of the config file. Pure functions apart from load_config() and
// check_config_file(), which read one file; any thread.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/tlp.hpp"

namespace cairn::server {

struct listen_address {
  std::string host;        // "127.0.0.1", "::1" (without brackets) or a host name
  std::uint16_t port = 0;  // 0: any free port (tests)
};

struct tls_config {
  std::filesystem::path cert;                      // PEM certificate chain, leaf first
  std::filesystem::path key;                       // PEM private key
  std::optional<std::filesystem::path> client_ca;  // request and verify client certificates
  std::optional<std::filesystem::path> crl;        // PEM CRL(s) for client certificates
};

// Every client-controlled size, count and time. The first five are in
// INTERFACE.md; the others are optional keys with these defaults.
struct limits_config {
  std::uint64_t max_content_length = 10485760;  // request body bytes
  std::uint32_t page_size = 1000;               // most objects in one response page
  // Most bytes of object JSON in one response page (objects and object
  // endpoints): an object whose JSON would take the page past this ends the
  // page before it (more: true), except that a page always carries at least
  // one object, however large. Bounds the memory one response holds.
  std::uint64_t max_page_bytes = std::uint64_t{16} << 20;
  std::uint32_t max_connections = 4096;
  std::uint32_t request_timeout_s = 30;  // reading one request, headers and body
  std::uint32_t idle_timeout_s = 60;     // keep-alive wait for the next request
  std::uint32_t max_objects_per_request = 10000;
  std::uint32_t handshake_timeout_s = 10;
  std::uint32_t max_header_bytes = 16384;
  std::uint32_t max_json_depth = 64;
  std::uint32_t shutdown_timeout_s = 10;  // draining in-flight requests on SIGTERM
  // Abuse limits (server/auth/throttle.hpp). Requests per authenticated account:
  // a token bucket refilled at requests_per_second (0: no limit) holding at
  // most request_burst.
  std::uint32_t requests_per_second = 2000;
  std::uint32_t request_burst = 10000;
  // Failed authentication: buckets per account name and per remote address,
  // each refilled at auth_failures_per_minute, holding at most the burst.
  std::uint32_t auth_failures_per_minute = 6;
  std::uint32_t auth_failure_burst = 10;  // per account name
  std::uint32_t auth_failure_burst_per_address = 50;
  // Live connections from one remote address (IPv6: one /64, see
  // transport/address.hpp); more are closed at accept.
  std::uint32_t max_connections_per_address = 256;
};

struct discovery_config {
  std::string title;
  std::optional<std::string> description;
  std::optional<std::string> contact;
  std::optional<std::string> default_root;  // key "default"; names an API root
};

struct collection_config {
  std::string id;  // UUIDv4, lower case
  std::string title;
  std::optional<std::string> alias;
  std::optional<std::string> description;
  formats::tlp_level default_tlp = formats::tlp_level::amber;
};

struct api_root_config {
  std::string title;
  std::optional<std::string> description;
  std::vector<collection_config> collections;  // in file order
};

enum class storage_backend { lmdb, postgresql };

// INTERFACE.md "Storage backends". Keys of the other backend are problems.
struct storage_config {
  storage_backend backend = storage_backend::lmdb;
  // lmdb
  std::optional<std::uint64_t> map_size;      // bytes; storage's default when absent
  std::optional<std::uint64_t> max_map_size;  // bytes
  // postgresql
  std::string conninfo;  // libpq connection string, never holding a password
  // The database password, read when the store opens (resolved path); absent:
  // libpq's own means (PGPASSFILE, ~/.pgpass).
  std::optional<std::filesystem::path> password_file;
  std::uint32_t pool_size = 8;  // pooled connections for reads

  bool operator==(const storage_config&) const = default;
};

// INTERFACE.md "Monitoring the exchange itself": the metrics listener.
struct metrics_config {
  std::optional<listen_address> listen;  // absent: no metrics listener
};

struct account_config {
  std::string name;
  std::optional<std::string> password_hash;       // "$scrypt$..." PHC string
  std::vector<std::string> token_hashes;          // "$sha256$<hex>"
  std::optional<std::string> client_cert_sha256;  // normalised: 64 lower-case hex digits
  // Collection references as written: "*", "<id or alias>", "<root>/<id or alias>",
  // "<root>/*". Resolved by account_table.
  std::vector<std::string> read;
  std::vector<std::string> write;
  formats::tlp_level clearance = formats::tlp_level::clear;  // absent: least privilege
  bool auditor = false;
  // Refused (403 "account suspended") for every request with valid
  // credentials while set; the monitor's durable suspensions add to it.
  bool suspended = false;
};

// The alert webhook (its sender lives with the alert sinks): where each alert
// is POSTed as JSON. Paths resolved.
struct webhook_config {
  std::string url;                                  // https:// only
  std::optional<std::filesystem::path> cacert;      // PEM CA(s) that verify the receiver
  std::optional<std::filesystem::path> token_file;  // bearer token, read when the sink starts

  bool operator==(const webhook_config&) const = default;
};

// INTERFACE.md "Monitoring the exchange itself": every key optional, these
// defaults; `enabled: false` (an addition, for benchmarks) turns it off.
struct monitoring_config {
  struct burst {
    std::uint32_t count = 0;
    std::uint32_t window_s = 60;
    bool operator==(const burst&) const = default;
  };
  bool enabled = true;
  burst auth_failure_burst{10, 60};
  burst denied_burst{20, 60};
  std::uint32_t prefix_v4 = 24;  // new_address: bits of an IPv4 network
  std::uint32_t prefix_v6 = 48;
  std::uint32_t memory_days = 30;
  double volume_factor = 10;  // volume: objects per window over factor x baseline
  std::uint64_t volume_min_objects = 10000;
  std::uint32_t volume_window_s = 3600;
  std::uint32_t volume_baseline_days = 7;
  std::vector<std::string> auto_suspend{"auth-failure-burst"};  // alert kinds
  std::optional<webhook_config> webhook;

  bool operator==(const monitoring_config&) const = default;
};

struct config {
  std::filesystem::path source;  // the file this came from (empty for text)
  std::string sha256;            // lower-case hex SHA-256 of the file's bytes
  listen_address listen;
  std::filesystem::path data_dir;  // resolved
  tls_config tls;                  // paths resolved
  limits_config limits;
  discovery_config discovery;
  std::map<std::string, api_root_config> api_roots;  // by URL path segment
  storage_config storage;
  std::vector<account_config> accounts;  // in file order
  monitoring_config monitoring;
  metrics_config metrics;

  // The collection with this id or alias in root, if both exist.
  const collection_config* find_collection(std::string_view root,
                                           std::string_view id_or_alias) const;
};

struct config_problem {
  std::string pointer;  // RFC 6901 JSON pointer, "" for the whole document
  std::string message;
  std::string to_string() const { return (pointer.empty() ? "/" : pointer) + ": " + message; }
};

// The most bytes a config file may have.
inline constexpr std::size_t max_config_bytes = 16u << 20;

// Parses text as a config whose relative paths resolve against base_dir.
// Unexpected text: every problem found (never empty).
std::expected<config, std::vector<config_problem>> parse_config(
    std::string_view text, const std::filesystem::path& base_dir);

// Every problem in text (empty when it is a valid config).
std::vector<config_problem> check_config(std::string_view text,
                                         const std::filesystem::path& base_dir);

// Reads and checks the file at path. A file that cannot be read is a single
// problem with pointer "".
std::vector<config_problem> check_config_file(const std::filesystem::path& path);

// Reads and parses the file at path. The error's message lists every problem
// ("<pointer>: <message>" joined by "; "); its `where` is the first pointer.
result<config> load_config(const std::filesystem::path& path);

// One collection that an account's read or write entry names.
struct collection_ref {
  std::string api_root;
  std::string collection_id;
  auto operator<=>(const collection_ref&) const = default;
};

// Resolves one read/write entry of an account against cfg's collections:
// "*" (every collection), "<root>/*", "<root>/<id or alias>", or a bare
// "<id or alias>" that must name a collection in exactly one API root. The
// error message says why the entry names nothing or is ambiguous.
result<std::vector<collection_ref>> resolve_collection_reference(const config& cfg,
                                                                 std::string_view entry);

// True for a name that can stand as one URL path segment of an API root:
// 1 to 64 of [A-Za-z0-9._~-], not "." or "..", and not a reserved first
// segment ("taxii2", "cairn").
bool is_valid_api_root_name(std::string_view name);

// Whether a libpq connection string (keyword=value pairs or a postgresql://
// URI) sets a password itself. An error when it is not one that libpq could
// parse.
result<bool> conninfo_has_password(std::string_view conninfo);

// Parses "host:port", "[v6]:port".
result<listen_address> parse_listen(std::string_view text);

// Normalises a SHA-256 fingerprint given as 64 hex digits, optionally in
// colon-separated pairs (as `openssl x509 -fingerprint` prints it), to 64
// lower-case hex digits.
std::optional<std::string> normalize_fingerprint(std::string_view text);

}  // namespace cairn::server
