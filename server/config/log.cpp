#include "server/config/log.hpp"

#include <iostream>
#include <ostream>

#include "formats/json.hpp"
#include "formats/time.hpp"

namespace cairn::server {

std::string_view to_string(log_level level) {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
  }
  return "info";
}

logger::logger(std::ostream& out, log_level min_level)
    : out_(out), min_level_(static_cast<int>(min_level)) {}

void logger::set_level(log_level min_level) {
  min_level_.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

bool logger::enabled(log_level level) const {
  return static_cast<int>(level) >= min_level_.load(std::memory_order_relaxed);
}

std::string logger::format(log_level level, std::string_view msg,
                           std::initializer_list<log_field> fields, std::int64_t time_micros) {
  formats::json_writer w;
  w.begin_object();
  w.member("time", formats::format_taxii_time(time_micros));
  w.member("level", to_string(level));
  w.member("msg", msg);
  for (const auto& f : fields) {
    // The fixed members come first and are never repeated.
    if (f.key == "time" || f.key == "level" || f.key == "msg") continue;
    w.key(f.key);
    std::visit(
        [&w](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            w.string(v);
          } else if constexpr (std::is_same_v<T, bool>) {
            w.boolean(v);
          } else if constexpr (std::is_same_v<T, double>) {
            w.number(v);
          } else if constexpr (std::is_same_v<T, std::uint64_t>) {
            if (v > static_cast<std::uint64_t>(INT64_MAX)) {
              w.number(static_cast<double>(v));
            } else {
              w.integer(static_cast<std::int64_t>(v));
            }
          } else {
            w.integer(v);
          }
        },
        f.value);
  }
  w.end_object();
  return w.take();
}

void logger::log(log_level level, std::string_view msg, std::initializer_list<log_field> fields) {
  if (!enabled(level)) return;
  std::string line = format(level, msg, fields, formats::now_micros());
  line += '\n';
  std::lock_guard lock(mutex_);
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

logger& default_logger() {
  static logger instance(std::cerr);
  return instance;
}

}  // namespace cairn::server
