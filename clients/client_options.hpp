#pragma once
// What a TAXII client needs to know to reach one server: where, how to trust
// it, who we are, and how long to wait. A plain value; copy freely.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace cairn::clients {

struct client_options {
  // https://host:port/path: a discovery URL (.../taxii2/) or an API root URL.
  std::string url;

  // Server verification. By default the system trust store and a hostname (or
  // IP address) check. cacert_file replaces the system store with a PEM file.
  // pinned_cert_sha256 (hex, colons allowed) accepts exactly the leaf
  // certificate with that SHA-256 fingerprint instead of PKIX (TAXII 2.1 8.5.2).
  // insecure skips every check: for tests and first contact only.
  std::string cacert_file;
  bool insecure = false;
  std::string pinned_cert_sha256;

  // Optional client certificate (PEM chain and key).
  std::string client_cert_file;
  std::string client_key_file;

  // Basic (user + password) or Bearer (token) authentication; token wins when both.
  std::string user;
  std::string password;
  std::string token;

  // Each connect, handshake, write and read must finish within timeout.
  std::chrono::seconds timeout{30};
  // Retries after the first attempt on connection errors, 429 and 502-504.
  int retries = 3;
  // The longest wait a Retry-After may impose; longer ones are cut to this.
  std::chrono::seconds max_retry_after{60};
  // First backoff delay; doubled on each retry, capped at 16 times this.
  std::chrono::milliseconds backoff{500};
  // Responses larger than this are refused (the connection is then dropped).
  std::size_t max_response_bytes = std::size_t{512} << 20;

  std::string user_agent;  // empty: "cairn/<version>"

  // Seam for tests: how the client waits between retries. Empty: sleep.
  std::function<void(std::chrono::milliseconds)> sleep_for;
};

}  // namespace cairn::clients
