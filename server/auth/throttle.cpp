#include "server/auth/throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "server/transport/address.hpp"
#include "server/transport/responses.hpp"

namespace cairn::server {

throttle::throttle(std::size_t max_keys) : max_keys_(std::max<std::size_t>(max_keys, 1)) {}

throttle::rate throttle::name_rate(const limits_config& l) {
  return {l.auth_failures_per_minute / 60.0, static_cast<double>(l.auth_failure_burst)};
}

throttle::rate throttle::address_rate(const limits_config& l) {
  return {l.auth_failures_per_minute / 60.0, static_cast<double>(l.auth_failure_burst_per_address)};
}

void throttle::refill(bucket& b, const rate& r, clock::time_point now) {
  if (now > b.updated) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(r.burst, b.tokens + elapsed * r.per_second);
    b.updated = now;
  }
  // A burst lowered by a reload applies at once.
  b.tokens = std::min(b.tokens, r.burst);
}

std::chrono::seconds throttle::wait_for_token(const bucket& b, const rate& r) {
  if (r.per_second <= 0) return std::chrono::seconds(3600);
  const double missing = std::max(0.0, 1.0 - b.tokens);
  const auto s = static_cast<std::int64_t>(std::ceil(missing / r.per_second));
  return std::chrono::seconds(std::max<std::int64_t>(s, 1));
}

throttle::bucket* throttle::address_bucket(std::string_view address, const rate& r,
                                           clock::time_point now) {
  if (address_overflow_.tokens < 0) address_overflow_ = bucket{r.burst, now};
  return find_or_add(addresses_, address_key(address), r, now, &address_overflow_);
}

throttle::bucket* throttle::find_or_add(table& t, std::string_view key, const rate& r,
                                        clock::time_point now, bucket* overflow) {
  auto it = t.find(std::string(key));
  if (it != t.end()) {
    refill(it->second, r, now);
    return &it->second;
  }
  if (t.size() >= max_keys_) {
    // A refilled bucket is the same as none at all.
    for (auto i = t.begin(); i != t.end();) {
      refill(i->second, r, now);
      i = i->second.tokens >= r.burst ? t.erase(i) : std::next(i);
    }
    if (t.size() >= max_keys_) {
      if (overflow) refill(*overflow, r, now);
      return overflow;
    }
  }
  return &t.emplace(std::string(key), bucket{r.burst, now}).first->second;
}

throttle::decision throttle::begin_password_check(std::string_view name, std::string_view address,
                                                  const limits_config& limits,
                                                  clock::time_point now) {
  const auto nr = name_rate(limits);
  const auto ar = address_rate(limits);
  std::lock_guard lock(auth_mutex_);
  bucket* by_name = find_or_add(names_, name, nr, now);
  bucket* by_address = address_bucket(address, ar, now);
  if (by_name == nullptr || by_address == nullptr) return {false, std::chrono::seconds(60)};
  if (by_name->tokens < 1 || by_address->tokens < 1) {
    auto wait = std::chrono::seconds(0);
    if (by_name->tokens < 1) wait = std::max(wait, wait_for_token(*by_name, nr));
    if (by_address->tokens < 1) wait = std::max(wait, wait_for_token(*by_address, ar));
    return {false, wait};
  }
  by_name->tokens -= 1;
  by_address->tokens -= 1;
  return {};
}

void throttle::end_password_check(std::string_view name, std::string_view address, bool succeeded,
                                  const limits_config& limits, clock::time_point now) {
  if (!succeeded) return;
  const auto nr = name_rate(limits);
  const auto ar = address_rate(limits);
  std::lock_guard lock(auth_mutex_);
  // The buckets may have been dropped meanwhile; then there is nothing to
  // give back (absent means full).
  if (auto it = names_.find(std::string(name)); it != names_.end()) {
    refill(it->second, nr, now);
    it->second.tokens = std::min(nr.burst, it->second.tokens + 1);
  }
  // An address not in the table was served by the overflow bucket if the
  // table is full, else its bucket has been dropped as full.
  bucket* by_address = addresses_.size() >= max_keys_ ? &address_overflow_ : nullptr;
  if (auto it = addresses_.find(address_key(address)); it != addresses_.end()) {
    by_address = &it->second;
  }
  if (by_address != nullptr && by_address->tokens >= 0) {
    refill(*by_address, ar, now);
    by_address->tokens = std::min(ar.burst, by_address->tokens + 1);
  }
}

throttle::decision throttle::record_cheap_failure(std::string_view address,
                                                  const limits_config& limits,
                                                  clock::time_point now) {
  const auto ar = address_rate(limits);
  std::lock_guard lock(auth_mutex_);
  bucket* b = address_bucket(address, ar, now);
  if (b->tokens < 1) return {false, wait_for_token(*b, ar)};
  b->tokens -= 1;
  return {};
}

throttle::decision throttle::admit_request(std::string_view account_name,
                                           const limits_config& limits, clock::time_point now) {
  if (limits.requests_per_second == 0) return {};
  const rate r{static_cast<double>(limits.requests_per_second),
               static_cast<double>(limits.request_burst)};
  std::lock_guard lock(request_mutex_);
  bucket* b = find_or_add(accounts_, account_name, r, now);
  if (b == nullptr) return {false, std::chrono::seconds(1)};
  if (b->tokens < 1) return {false, wait_for_token(*b, r)};
  b->tokens -= 1;
  return {};
}

throttle::auth_outcome throttle::authenticate_basic(const account_table& accounts,
                                                    std::string_view name,
                                                    std::string_view password,
                                                    std::string_view address,
                                                    const limits_config& limits) {
  // A password verified within the cache's lifetime costs no KDF, so it is
  // not throttled: a user logged in before an attack on their name goes on.
  if (auto a = accounts.find(name);
      a && a->password_hash && accounts.cache().contains(name, password, *a->password_hash)) {
    return {a, std::nullopt};
  }
  if (auto d = begin_password_check(name, address, limits, clock::now()); !d.allowed) {
    return {nullptr, d.retry_after};
  }
  auto who = accounts.authenticate_basic(name, password);
  end_password_check(name, address, who != nullptr, limits, clock::now());
  return {std::move(who), std::nullopt};
}

throttle::auth_outcome throttle::authenticate_bearer(const account_table& accounts,
                                                     std::string_view token,
                                                     std::string_view address,
                                                     const limits_config& limits) {
  if (auto who = accounts.authenticate_bearer(token)) return {std::move(who), std::nullopt};
  if (auto d = record_cheap_failure(address, limits, clock::now()); !d.allowed) {
    return {nullptr, d.retry_after};
  }
  return {};
}

throttle::auth_outcome throttle::authenticate_cert(const account_table& accounts,
                                                   std::string_view fingerprint,
                                                   std::string_view address,
                                                   const limits_config& limits) {
  if (auto who = accounts.authenticate_cert(fingerprint)) return {std::move(who), std::nullopt};
  if (auto d = record_cheap_failure(address, limits, clock::now()); !d.allowed) {
    return {nullptr, d.retry_after};
  }
  return {};
}

std::size_t throttle::tracked_names() const {
  std::lock_guard lock(auth_mutex_);
  return names_.size();
}

std::size_t throttle::tracked_addresses() const {
  std::lock_guard lock(auth_mutex_);
  return addresses_.size();
}

std::size_t throttle::tracked_accounts() const {
  std::lock_guard lock(request_mutex_);
  return accounts_.size();
}

response throttled_response(std::chrono::seconds retry_after, std::string_view description,
                            unsigned version) {
  auto res = error_response(http::status::too_many_requests, description, version);
  res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(retry_after.count(), 1)));
  return res;
}

}  // namespace cairn::server
