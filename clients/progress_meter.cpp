#include "clients/progress_meter.hpp"

namespace cairn::clients {

std::string human_bytes(double bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

progress_meter::progress_meter(std::FILE* out, bool enabled, std::string label)
    : out_(out),
      enabled_(enabled && out != nullptr),
      label_(std::move(label)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

progress_meter::~progress_meter() {
  finish();
}

double progress_meter::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void progress_meter::add(std::size_t objects, std::size_t bytes) {
  objects_ += objects;
  bytes_ += bytes;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw();
}

void progress_meter::draw() {
  const double secs = elapsed_seconds();
  const double rate = secs > 0 ? static_cast<double>(objects_) / secs : 0;
  const int whole = static_cast<int>(secs);
  std::string count = std::to_string(objects_);
  if (total_ > 0) {
    count += "/" + std::to_string(total_) + " (" +
             std::to_string(objects_ * 100 / (total_ ? total_ : 1)) + "%)";
  }
  std::fprintf(out_, "\r\033[K%s: %s objects  %s  %.0f objects/s  %d:%02d", label_.c_str(),
               count.c_str(), human_bytes(static_cast<double>(bytes_)).c_str(), rate, whole / 60,
               whole % 60);
  std::fflush(out_);
  drawn_ = true;
}

void progress_meter::finish() {
  if (enabled_ && drawn_) {
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
    drawn_ = false;
  }
}

}  // namespace cairn::clients
