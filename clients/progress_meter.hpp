#pragma once
// A one-line progress display on a terminal: objects, bytes, rate, elapsed.
// Disabled (every call a no-op) when the output is not a terminal or the user
// asked for quiet. Redraws at most ten times a second. One thread.

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace cairn::clients {

class progress_meter {
 public:
  // out: where to draw (stderr); enabled: isatty(2) && !quiet.
  progress_meter(std::FILE* out, bool enabled, std::string label);
  ~progress_meter();
  progress_meter(const progress_meter&) = delete;
  progress_meter& operator=(const progress_meter&) = delete;

  // A known total (publish) shows a percentage.
  void set_total(std::size_t objects) { total_ = objects; }
  void add(std::size_t objects, std::size_t bytes);
  // Clears the line so that a message can follow.
  void finish();

  std::size_t objects() const { return objects_; }
  std::size_t bytes() const { return bytes_; }
  double elapsed_seconds() const;

 private:
  void draw();

  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::size_t total_ = 0;
  std::size_t objects_ = 0;
  std::size_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.5 MiB", "312 B"
std::string human_bytes(double bytes);

}  // namespace cairn::clients
