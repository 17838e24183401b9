#include "server/auth/sessions.hpp"

#include <openssl/rand.h>

#include "formats/ascii.hpp"
#include "formats/base64.hpp"
#include "formats/tlp.hpp"
#include "server/config/credentials.hpp"

namespace cairn::server {

namespace {

result<std::string> random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return fail("no randomness for a session token");
  return formats::base64_encode(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes),
      formats::base64_alphabet::url, formats::base64_padding::none);
}

// Each field with its length first, so that no two entries share a text.
void add_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

}  // namespace

session_store::session_store(console_session_limits l, now_fn now)
    : limits_(l), now_(now ? std::move(now) : [] { return clock::now(); }) {}

result<session_store::created> session_store::create(std::string account, std::string fingerprint) {
  auto token = random_token();
  if (!token) return std::unexpected(token.error());
  auto csrf = random_token();
  if (!csrf) return std::unexpected(csrf.error());
  created out;
  out.token = std::move(*token);
  const auto now = now_();
  out.session = {std::move(account), std::move(fingerprint), now, now + limits_.lifetime,
                 std::move(*csrf)};

  std::lock_guard lock(mutex_);
  purge_expired(now);
  // Signing in again ends the account's oldest session (remove() may drop
  // the account's set, so it is looked up again each time).
  for (auto mine = by_account_.find(out.session.account);
       mine != by_account_.end() && mine->second.size() >= limits_.per_account;
       mine = by_account_.find(out.session.account)) {
    remove(by_hash_.find(order_.at(*mine->second.begin())));
  }
  while (!order_.empty() && by_hash_.size() >= limits_.total) {
    remove(by_hash_.find(order_.begin()->second));
  }
  const auto seq = next_seq_++;
  auto hash = sha256_hex(out.token);
  order_.emplace(seq, hash);
  by_account_[out.session.account].insert(seq);
  by_hash_.emplace(std::move(hash), entry{out.session, seq});
  return out;
}

std::optional<console_session> session_store::find(std::string_view token) {
  const auto hash = sha256_hex(token);
  std::lock_guard lock(mutex_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.session.expires <= now_()) {
    remove(it);
    return std::nullopt;
  }
  return it->second.session;
}

bool session_store::end(std::string_view token) {
  const auto hash = sha256_hex(token);
  std::lock_guard lock(mutex_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return false;
  remove(it);
  return true;
}

std::size_t session_store::retain(
    const std::function<std::optional<std::string>(std::string_view account)>& fingerprint_of) {
  std::lock_guard lock(mutex_);
  std::size_t ended = 0;
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    auto next = std::next(it);
    auto fp = fingerprint_of(it->second.session.account);
    if (!fp || *fp != it->second.session.fingerprint) {
      remove(it);
      ++ended;
    }
    it = next;
  }
  return ended;
}

std::size_t session_store::size() const {
  std::lock_guard lock(mutex_);
  return by_hash_.size();
}

std::size_t session_store::size(std::string_view account) const {
  std::lock_guard lock(mutex_);
  auto it = by_account_.find(std::string(account));
  return it == by_account_.end() ? 0 : it->second.size();
}

void session_store::remove(std::unordered_map<std::string, entry>::iterator it) {
  auto acc = by_account_.find(it->second.session.account);
  if (acc != by_account_.end()) {
    acc->second.erase(it->second.seq);
    if (acc->second.empty()) by_account_.erase(acc);
  }
  order_.erase(it->second.seq);
  by_hash_.erase(it);
}

void session_store::purge_expired(clock::time_point now) {
  // The lifetime is the same for all, so creation order is expiry order.
  while (!order_.empty()) {
    auto it = by_hash_.find(order_.begin()->second);
    if (it->second.session.expires > now) break;
    remove(it);
  }
}

std::string account_fingerprint(const account_config& a) {
  std::string text;
  add_field(text, a.name);
  add_field(text, a.password_hash ? "p" + *a.password_hash : "-");
  add_field(text, std::to_string(a.token_hashes.size()));
  for (const auto& t : a.token_hashes) add_field(text, t);
  add_field(text, a.client_cert_sha256 ? "c" + *a.client_cert_sha256 : "-");
  add_field(text, std::to_string(a.read.size()));
  for (const auto& r : a.read) add_field(text, r);
  add_field(text, std::to_string(a.write.size()));
  for (const auto& w : a.write) add_field(text, w);
  add_field(text, formats::tlp_name(a.clearance));
  add_field(text, a.auditor ? "auditor" : "-");
  add_field(text, a.suspended ? "suspended" : "-");
  return sha256_hex(text);
}

std::optional<std::string_view> session_cookie_value(std::string_view header) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = formats::trim_ows(header.substr(0, semi));
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == k_session_cookie) {
      auto value = pair.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

bool csrf_allows(http::verb method, std::string_view csrf_header, std::string_view origin,
                 std::string_view host, const console_session& session) {
  if (method == http::verb::get || method == http::verb::head || method == http::verb::options) {
    return true;
  }
  if (csrf_header.empty() || !constant_time_equal(csrf_header, session.csrf_token)) return false;
  return origin.empty() || is_own_origin(origin, host);
}

bool is_own_origin(std::string_view origin, std::string_view host) {
  constexpr std::string_view scheme = "https://";
  return !host.empty() && origin.size() == scheme.size() + host.size() &&
         formats::iequals(origin.substr(0, scheme.size()), scheme) &&
         formats::iequals(origin.substr(scheme.size()), host);
}

}  // namespace cairn::server
