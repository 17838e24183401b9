#pragma once
// The server's log: one JSON object per line on stderr (or any stream), e.g.
//   {"time":"2026-11-27T10:00:00.123456Z","level":"info","msg":"config loaded","sha256":"..."}
// "time", "level" and "msg" come first; fields follow in the order given.
//
// Secrets never reach the log: callers must not pass passwords, tokens,
// Authorization header values, password or token hashes, or private keys as
// fields. To make the rule easy to keep, nothing in this API accepts a request
// or its headers; log an account name or "auth-failure", never what was
// presented.
//
// Thread-safe: a line is formatted outside the lock and written whole under
// it, so lines from different threads never interleave.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace cairn::server {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };

std::string_view to_string(log_level level);

struct log_field {
  using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

  log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
  log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  log_field(std::string_view k, long v) : key(k), value(std::int64_t{v}) {}
  log_field(std::string_view k, long long v) : key(k), value(std::int64_t{v}) {}
  log_field(std::string_view k, unsigned v) : key(k), value(std::uint64_t{v}) {}
  log_field(std::string_view k, unsigned long v) : key(k), value(std::uint64_t{v}) {}
  log_field(std::string_view k, unsigned long long v) : key(k), value(std::uint64_t{v}) {}
  log_field(std::string_view k, double v) : key(k), value(v) {}
  log_field(std::string_view k, bool v) : key(k), value(v) {}

  std::string_view key;  // borrowed for the duration of the call
  value_type value;
};

class logger {
 public:
  // Writes to out (which must outlive the logger); lines below min_level are
  // dropped.
  explicit logger(std::ostream& out, log_level min_level = log_level::info);
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  void set_level(log_level min_level);
  bool enabled(log_level level) const;

  void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields = {});
  void debug(std::string_view msg, std::initializer_list<log_field> fields = {}) {
    log(log_level::debug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<log_field> fields = {}) {
    log(log_level::info, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<log_field> fields = {}) {
    log(log_level::warn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<log_field> fields = {}) {
    log(log_level::error, msg, fields);
  }

  // The line that log() would write, without the trailing newline (tests).
  static std::string format(log_level level, std::string_view msg,
                            std::initializer_list<log_field> fields, std::int64_t time_micros);

 private:
  std::ostream& out_;
  std::mutex mutex_;
  std::atomic<int> min_level_;
};

// The process-wide logger on std::cerr.
logger& default_logger();

}  // namespace cairn::server
