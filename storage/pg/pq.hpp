#pragma once
// storage/ only: a thin RAII layer over libpq for the PostgreSQL backend.
// Every statement that takes a value is prepared (by name, on first use on
// each connection) and gets its values as parameters: no SQL is ever built
// from request text. Values travel in text format; bytea columns as hex
// ('\x...') both ways.
//
// Errors: a lost or refused connection, an admin shutdown and the like
// (SQLSTATE classes 08, 57P, 53) are errc::unavailable and leave the
// connection broken() (the pool drops it); a serialization failure or
// deadlock (40001, 40P01) is errc::unavailable too, on a usable connection;
// a full disk (53100) is errc::storage_full; anything else is errc::io with
// PostgreSQL's message (never a password).
//
// Threads: a connection is used by one thread at a time; the pool from any
// thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/error.hpp"
#include "formats/merkle.hpp"
#include "storage/postgres_store.hpp"

struct pg_conn;
struct pg_result;

namespace cairn::storage::pq {

// A named statement: the name is its identity on every connection.
struct statement {
  const char* name;
  const char* sql;
};

// Parameters of one execution, as text (nullopt: SQL NULL).
class params {
 public:
  params& text(std::string_view v);
  params& integer(std::int64_t v);
  params& boolean(bool v);
  params& bytes(std::string_view raw);  // bytea, sent as '\x' hex
  params& digest(const formats::merkle::digest& d) {
    return bytes({reinterpret_cast<const char*>(d.data()), d.size()});
  }
  // A PostgreSQL array literal ({"a","b"}) of text / bigint values.
  params& text_array(const std::vector<std::string_view>& values);
  params& integer_array(const std::vector<std::int64_t>& values);
  params& null();
  std::size_t size() const { return values_.size(); }

 private:
  friend class connection;
  std::vector<std::optional<std::string>> values_;
};

// The rows of one statement. Views returned stay valid while it lives.
class rows {
 public:
  rows() = default;
  explicit rows(pg_result* r);
  rows(rows&&) noexcept;
  rows& operator=(rows&&) noexcept;
  ~rows();
  int size() const;  // number of rows
  int columns() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  std::int64_t integer(int row, int column) const;  // 0 for NULL
  bool boolean(int row, int column) const;          // 't'
  std::string bytes(int row, int column) const;     // bytea decoded
  std::optional<formats::merkle::digest> digest(int row, int column) const;
  std::uint64_t affected() const;  // INSERT/UPDATE/DELETE row count

 private:
  friend class connection;
  pg_result* r_ = nullptr;
};

class connection {
 public:
  // Connects within options.connect_timeout, sets statement_timeout and
  // client_encoding UTF8. The password, if any, goes to libpq as a
  // parameter beside conninfo, never into a string that could be logged.
  static result<std::unique_ptr<connection>> open(const pg_options& options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // A statement without parameters (BEGIN, COMMIT, DDL; may hold several).
  result<rows> exec(std::string_view sql);
  // A prepared statement (prepared on this connection on first use).
  result<rows> run(const statement& s, const params& p = {});

  // Transactions: begin(), then commit() or rollback(). rollback() never
  // fails (a broken connection is left broken).
  result<void> begin(std::string_view mode = "BEGIN");
  result<void> commit();
  void rollback();

  // The connection can no longer be used (lost, or a protocol error).
  bool broken() const;
  // Inside a transaction block (begun, not yet committed or rolled back).
  bool in_transaction() const;

 private:
  connection() = default;
  // Takes a statement's result: rows, or the error it reports.
  result<rows> finish(pg_result* r);
  pg_conn* c_ = nullptr;
  bool broken_ = false;
  std::set<std::string, std::less<>> prepared_;
};

// At most `size` connections, opened on demand; a broken one is dropped when
// returned. acquire() waits at most options.acquire_timeout for a free one
// and fails with errc::unavailable when none comes or none can be opened.
class pool {
 public:
  explicit pool(pg_options options);
  ~pool();

  class lease {
   public:
    lease() = default;
    lease(lease&&) noexcept;
    lease& operator=(lease&&) noexcept;
    ~lease();  // gives the connection back
    connection& operator*() const { return *c_; }
    connection* operator->() const { return c_.get(); }
    explicit operator bool() const { return c_ != nullptr; }

   private:
    friend class pool;
    pool* owner_ = nullptr;
    std::unique_ptr<connection> c_;
  };

  result<lease> acquire();
  // Whether the last attempt to open or use a connection failed for lack of
  // a database (cleared by the next success).
  bool unreachable() const;

 private:
  void give_back(std::unique_ptr<connection> c);
  pg_options options_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::deque<std::unique_ptr<connection>> idle_;
  unsigned open_ = 0;  // leased + idle
  bool unreachable_ = false;
};

}  // namespace cairn::storage::pq
