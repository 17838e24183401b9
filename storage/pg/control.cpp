// The PostgreSQL backend of the control store (storage/control.hpp): the
// tables of schema_control.cpp in the deployment's database, so that every
// node and `cairnd account resume` on any machine see one state. Each call is
// one statement (autocommit): atomic, and durable once it returns.

#include "storage/control.hpp"

#include <string>

#include "storage/pg/pq.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::storage {

namespace {

const pq::statement k_list{"cairn_control_list",
                           "SELECT account, kind, alert_seq, since FROM suspensions "
                           "ORDER BY since, account"};
const pq::statement k_suspend{"cairn_control_suspend",
                              "INSERT INTO suspensions (account, kind, alert_seq, since) "
                              "VALUES ($1, $2, $3, $4) ON CONFLICT (account) DO NOTHING"};
const pq::statement k_resume{"cairn_control_resume", "DELETE FROM suspensions WHERE account = $1"};
const pq::statement k_load{"cairn_control_load", "SELECT value FROM control_state WHERE key = $1"};
const pq::statement k_save{"cairn_control_save",
                           "INSERT INTO control_state (key, value) VALUES ($1, $2) "
                           "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"};

class pg_control final : public control_store {
 public:
  explicit pg_control(pg_options o) : options_(std::move(o)) {}

  result<std::vector<suspension>> suspensions() override {
    auto r = run(k_list, {});
    if (!r) return std::unexpected(r.error());
    std::vector<suspension> out;
    for (int i = 0; i < r->size(); ++i) {
      suspension s;
      s.account = std::string(r->text(i, 0));
      s.kind = std::string(r->text(i, 1));
      s.alert_seq = static_cast<std::uint64_t>(r->integer(i, 2));
      s.since = r->integer(i, 3);
      out.push_back(std::move(s));
    }
    return out;
  }

  result<bool> suspend(const suspension& s) override {
    if (s.account.empty()) return fail("a suspension names an account");
    auto r = run(k_suspend, pq::params()
                                .text(s.account)
                                .text(s.kind)
                                .integer(static_cast<std::int64_t>(s.alert_seq))
                                .integer(s.since));
    if (!r) return std::unexpected(r.error());
    return r->affected() == 1;
  }

  result<bool> resume(std::string_view account) override {
    auto r = run(k_resume, pq::params().text(account));
    if (!r) return std::unexpected(r.error());
    return r->affected() == 1;
  }

  result<std::optional<std::string>> load(std::string_view key) override {
    auto r = run(k_load, pq::params().text(key));
    if (!r) return std::unexpected(r.error());
    if (r->size() == 0) return std::optional<std::string>{};
    return std::optional<std::string>(r->bytes(0, 0));
  }

  result<void> save(std::string_view key, std::string_view value) override {
    auto r = run(k_save, pq::params().text(key).bytes(value));
    if (!r) return std::unexpected(r.error());
    return {};
  }

 private:
  // On the one connection, opened (again) when missing or broken.
  result<pq::rows> run(const pq::statement& s, const pq::params& p) {
    if (!c_ || c_->broken()) {
      c_.reset();
      auto c = pq::connection::open(options_);
      if (!c) return std::unexpected(c.error());
      c_ = std::move(*c);
    }
    return c_->run(s, p);
  }

  pg_options options_;
  std::unique_ptr<pq::connection> c_;
};

}  // namespace

result<std::unique_ptr<control_store>> open_pg_control(const pg_options& options) {
  auto c = std::make_unique<pg_control>(options);
  // Fails now, not at the first use, when the database is not there.
  if (auto probe = c->load("schema-probe"); !probe) return std::unexpected(probe.error());
  return std::unique_ptr<control_store>(std::move(c));
}

}  // namespace cairn::storage
