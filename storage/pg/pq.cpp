#include "storage/pg/pq.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace cairn::storage::pq {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An array element, double-quoted with \ and " escaped.
void append_quoted(std::string& out, std::string_view v) {
  out += '"';
  for (const char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// The first line of libpq's message, without the trailing newline.
std::string message_of(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return std::string(text);
}

// SQLSTATE classes that mean "no database to talk to": connection
// exceptions (08), operator intervention such as an admin shutdown (57P),
// insufficient resources such as too many connections (53).
bool connection_state(std::string_view state) {
  return state.starts_with("08") || state.starts_with("57P") || state.starts_with("53");
}

bool retryable_state(std::string_view state) {
  return state == "40001" || state == "40P01";
}

void ignore_notice(void*, const char*) {}

}  // namespace

// ---------------------------------------------------------------- params

params& params::text(std::string_view v) {
  values_.emplace_back(std::string(v));
  return *this;
}

params& params::integer(std::int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

params& params::boolean(bool v) {
  values_.emplace_back(v ? "t" : "f");
  return *this;
}

params& params::bytes(std::string_view raw) {
  std::string hex;
  hex.reserve(2 + raw.size() * 2);
  hex += "\\x";
  for (const char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    hex += k_hex[b >> 4];
    hex += k_hex[b & 0xf];
  }
  values_.emplace_back(std::move(hex));
  return *this;
}

params& params::text_array(const std::vector<std::string_view>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    append_quoted(out, values[i]);
  }
  out += '}';
  values_.emplace_back(std::move(out));
  return *this;
}

params& params::integer_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  values_.emplace_back(std::move(out));
  return *this;
}

params& params::null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

// ---------------------------------------------------------------- rows

rows::rows(pg_result* r) : r_(r) {}

rows::rows(rows&& other) noexcept : r_(std::exchange(other.r_, nullptr)) {}

rows& rows::operator=(rows&& other) noexcept {
  if (this != &other) {
    if (r_) PQclear(r_);
    r_ = std::exchange(other.r_, nullptr);
  }
  return *this;
}

rows::~rows() {
  if (r_) PQclear(r_);
}

int rows::size() const {
  return r_ ? PQntuples(r_) : 0;
}

int rows::columns() const {
  return r_ ? PQnfields(r_) : 0;
}

bool rows::is_null(int row, int column) const {
  return PQgetisnull(r_, row, column) != 0;
}

std::string_view rows::text(int row, int column) const {
  return {PQgetvalue(r_, row, column), static_cast<std::size_t>(PQgetlength(r_, row, column))};
}

std::int64_t rows::integer(int row, int column) const {
  const std::string_view v = text(row, column);
  std::int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

bool rows::boolean(int row, int column) const {
  const std::string_view v = text(row, column);
  return !v.empty() && v.front() == 't';
}

std::string rows::bytes(int row, int column) const {
  std::string_view v = text(row, column);
  if (!v.starts_with("\\x")) return {};
  v.remove_prefix(2);
  std::string out;
  out.reserve(v.size() / 2);
  for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
    const int hi = hex_value(v[i]);
    const int lo = hex_value(v[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::optional<formats::merkle::digest> rows::digest(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  const std::string raw = bytes(row, column);
  formats::merkle::digest d;
  if (raw.size() != d.size()) return std::nullopt;
  std::memcpy(d.data(), raw.data(), d.size());
  return d;
}

std::uint64_t rows::affected() const {
  if (!r_) return 0;
  const char* n = PQcmdTuples(r_);
  std::uint64_t out = 0;
  std::from_chars(n, n + std::strlen(n), out);
  return out;
}

// ---------------------------------------------------------------- connection

result<std::unique_ptr<connection>> connection::open(const pg_options& options) {
  const auto timeout_s = std::max<long long>(1, (options.connect_timeout.count() + 999) / 1000);
  const std::string timeout = std::to_string(timeout_s);
  // libpq takes the last value of a repeated keyword: the defaults before
  // "dbname" (which, with expand_dbname, is the conninfo string or URI
  // itself) yield to the conninfo; what follows it does not.
  //
  // A database that vanishes without closing its connections (a partition,
  // a dead host) must not hang a node: TCP keepalives notice a silent peer
  // while a reply is awaited, tcp_user_timeout a request never acknowledged.
  std::vector<const char*> keys = {
      "application_name", "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "tcp_user_timeout", "dbname",          "connect_timeout",
      "client_encoding"};
  std::vector<const char*> values = {
      "cairnd", "1", "10", "5", "3", "20000", options.conninfo.c_str(), timeout.c_str(), "UTF8"};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  std::unique_ptr<connection> c(new connection());
  c->c_ = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!c->c_) return fail(errc::unavailable, "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(c->c_) != CONNECTION_OK) {
    return fail(errc::unavailable,
                "cannot connect to PostgreSQL: " + message_of(PQerrorMessage(c->c_)));
  }
  PQsetNoticeProcessor(c->c_, ignore_notice, nullptr);
  // A number we format: no request text in it.
  auto set = c->exec("SET statement_timeout = " +
                     std::to_string(std::max<long long>(0, options.statement_timeout.count())));
  if (!set) return std::unexpected(set.error());
  return c;
}

connection::~connection() {
  if (c_) PQfinish(c_);
}

result<rows> connection::exec(std::string_view sql) {
  return finish(PQexec(c_, std::string(sql).c_str()));
}

result<rows> connection::run(const statement& s, const params& p) {
  if (!prepared_.contains(std::string_view(s.name))) {
    auto prepared = finish(PQprepare(c_, s.name, s.sql, 0, nullptr));
    if (!prepared) return prepared;
    prepared_.emplace(s.name);
  }
  std::vector<const char*> values;
  values.reserve(p.values_.size());
  for (const auto& v : p.values_) values.push_back(v ? v->c_str() : nullptr);
  return finish(PQexecPrepared(c_, s.name, static_cast<int>(values.size()), values.data(), nullptr,
                               nullptr, 0));
}

result<rows> connection::finish(pg_result* raw) {
  rows r(raw);
  if (!raw) {
    // Out of memory, or no connection to send on.
    broken_ = true;
    return fail(errc::unavailable,
                "lost the connection to PostgreSQL: " + message_of(PQerrorMessage(c_)));
  }
  const ExecStatusType status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return r;
  }
  const char* state_field = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  const std::string_view state = state_field ? state_field : "";
  const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = message_of(primary ? primary : PQresultErrorMessage(raw));
  if (state == "53100" && PQstatus(c_) == CONNECTION_OK) {
    // disk_full: told apart, as the LMDB store's full map (the server's 507).
    return fail(errc::storage_full, "PostgreSQL: " + message + " (53100)");
  }
  if (PQstatus(c_) != CONNECTION_OK || connection_state(state) || state.empty()) {
    // Without an SQLSTATE the error came from libpq itself (a lost socket).
    broken_ = true;
    return fail(errc::unavailable, "lost the connection to PostgreSQL: " + message);
  }
  if (retryable_state(state)) {
    return fail(errc::unavailable, "PostgreSQL: " + message + " (" + std::string(state) + ")");
  }
  return fail(errc::io, "PostgreSQL: " + message + " (" + std::string(state) + ")");
}

result<void> connection::begin(std::string_view mode) {
  auto r = exec(mode);
  if (!r) return std::unexpected(r.error());
  return {};
}

result<void> connection::commit() {
  auto r = exec("COMMIT");
  if (!r) return std::unexpected(r.error());
  // COMMIT of a transaction that failed answers ROLLBACK, without an error.
  if (std::strcmp(PQcmdStatus(r->r_), "COMMIT") != 0) {
    return fail(errc::io, "PostgreSQL rolled the transaction back");
  }
  return {};
}

void connection::rollback() {
  if (broken()) return;
  if (PQtransactionStatus(c_) == PQTRANS_IDLE) return;
  (void)exec("ROLLBACK");
}

bool connection::broken() const {
  return broken_ || !c_ || PQstatus(c_) != CONNECTION_OK ||
         PQtransactionStatus(c_) == PQTRANS_UNKNOWN;
}

bool connection::in_transaction() const {
  if (broken()) return false;
  return PQtransactionStatus(c_) != PQTRANS_IDLE;
}

// ---------------------------------------------------------------- pool

pool::pool(pg_options options) : options_(std::move(options)) {
  if (options_.pool_size == 0) options_.pool_size = 1;
}

pool::~pool() = default;

pool::lease::lease(lease&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), c_(std::move(other.c_)) {}

pool::lease& pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    if (owner_ && c_) owner_->give_back(std::move(c_));
    owner_ = std::exchange(other.owner_, nullptr);
    c_ = std::move(other.c_);
  }
  return *this;
}

pool::lease::~lease() {
  if (owner_ && c_) owner_->give_back(std::move(c_));
}

result<pool::lease> pool::acquire() {
  std::unique_lock lock(mutex_);
  const bool got = freed_.wait_for(lock, options_.acquire_timeout,
                                   [&] { return !idle_.empty() || open_ < options_.pool_size; });
  if (!got) {
    return fail(errc::unavailable, "no PostgreSQL connection came free within " +
                                       std::to_string(options_.acquire_timeout.count()) + " ms");
  }
  lease out;
  out.owner_ = this;
  if (!idle_.empty()) {
    out.c_ = std::move(idle_.front());
    idle_.pop_front();
    return out;
  }
  ++open_;
  lock.unlock();
  auto c = connection::open(options_);
  lock.lock();
  if (!c) {
    --open_;
    const bool was = std::exchange(unreachable_, true);
    lock.unlock();
    freed_.notify_one();
    if (!was && options_.notice) options_.notice(c.error().message);
    return std::unexpected(c.error());
  }
  const bool was = std::exchange(unreachable_, false);
  lock.unlock();
  if (was && options_.notice) options_.notice("reconnected to PostgreSQL");
  out.c_ = std::move(*c);
  return out;
}

bool pool::unreachable() const {
  std::lock_guard lock(mutex_);
  return unreachable_;
}

void pool::give_back(std::unique_ptr<connection> c) {
  // A lease given back inside a transaction (an error path) ends it here.
  if (c->in_transaction()) c->rollback();
  std::deque<std::unique_ptr<connection>> dropped;
  bool lost = false;
  {
    std::lock_guard lock(mutex_);
    if (c->broken()) {
      // The database went away or restarted: the idle ones are likely
      // dead too, and a fresh connection costs little.
      dropped.swap(idle_);
      open_ -= static_cast<unsigned>(1 + dropped.size());
      lost = !std::exchange(unreachable_, true);
    } else {
      unreachable_ = false;
      idle_.push_back(std::move(c));
    }
  }
  freed_.notify_all();
  if (lost && options_.notice) options_.notice("lost a PostgreSQL connection");
  // dropped and c close here, outside the lock.
}

}  // namespace cairn::storage::pq
