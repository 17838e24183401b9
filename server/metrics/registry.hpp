#pragma once
// Counters, gauges and histograms, and their Prometheus text exposition
// (format 0.0.4: HELP and TYPE lines, escaped label values, histograms as
// _bucket{le}, _sum and _count).
//
// The request path only ever touches atomics: updating a metric is a relaxed
// fetch_add, and finding a labelled child (family::with) probes a fixed,
// insert-only table of atomic pointers, with no lock. Children are created
// on first use and never removed, so a family holds at most max_children of
// them; label values beyond that are counted in one child whose every label
// is "other". Callers give label values from bounded sets (route names,
// configured accounts and collections, fixed kinds), never from a request's
// raw path or an object id.
//
// Families are registered at start-up (control plane: a bad name or a second
// family of one name throws std::invalid_argument) and live as long as the
// registry; the references registration returns stay valid. expose() may run
// on any thread at any time, concurrently with updates.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::server {

class counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class histogram {
 public:
  // bounds: the buckets' upper bounds, finite and strictly ascending (the
  // +Inf bucket is implicit).
  explicit histogram(std::span<const double> bounds);

  void observe(double v);

  struct reading {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;  // == cumulative.back()
  };
  reading read() const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // not cumulative; last is +Inf
  std::atomic<double> sum_{0};
};

// Buckets for latencies in seconds, from 0.5 ms to 10 s.
std::span<const double> latency_buckets();
// Buckets for counts of things per batch: 1, 2, 4, ... 1024.
std::span<const double> batch_buckets();

enum class metric_type { counter, gauge, histogram };

// The part of a family that the exposition sees.
class family_base {
 public:
  family_base(std::string name, std::string help, metric_type type,
              std::vector<std::string> label_names);
  virtual ~family_base() = default;
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  const std::string& name() const { return name_; }
  metric_type type() const { return type_; }
  // Appends the family's HELP, TYPE and sample lines to out.
  void write(std::string& out) const;

 protected:
  // Every child's samples, in the order of their label values.
  virtual void write_samples(std::string& out) const = 0;
  void write_sample(std::string& out, std::string_view suffix,
                    std::span<const std::string> label_values, std::string_view extra_label,
                    std::string_view extra_value, double value) const;

  std::string name_;
  std::string help_;
  metric_type type_;
  std::vector<std::string> label_names_;
};

// A metric with labels: one child per distinct tuple of label values.
template <class Metric>
class family final : public family_base {
 public:
  // bounds: histograms only.
  family(std::string name, std::string help, metric_type type, std::vector<std::string> label_names,
         std::size_t max_children, std::vector<double> bounds = {});
  ~family() override;

  // The child for these label values (as many as the family has labels),
  // created at first use. Lock-free; any thread.
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with(std::span<const std::string_view> values);

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct child {
    std::vector<std::string> values;
    std::size_t hash = 0;
    std::unique_ptr<Metric> metric;
  };
  std::unique_ptr<child> make(std::span<const std::string_view> values, std::size_t hash) const;
  void write_samples(std::string& out) const override;

  std::size_t max_children_;
  std::vector<double> bounds_;
  std::size_t mask_;  // slots - 1 (a power of two, at least twice max_children)
  std::unique_ptr<std::atomic<child*>[]> slots_;
  std::atomic<std::size_t> size_{0};
  std::unique_ptr<child> overflow_;  // label values all "other"
  std::atomic<bool> overflow_used_{false};
};

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

class registry {
 public:
  // Families with labels. max_children bounds the distinct label tuples.
  family<counter>& counter_family(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::size_t max_children = 1024);
  family<gauge>& gauge_family(std::string name, std::string help,
                              std::vector<std::string> label_names,
                              std::size_t max_children = 1024);
  family<histogram>& histogram_family(std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::span<const double> bounds,
                                      std::size_t max_children = 256);

  // Metrics without labels.
  counter& add_counter(std::string name, std::string help);
  gauge& add_gauge(std::string name, std::string help);
  histogram& add_histogram(std::string name, std::string help, std::span<const double> bounds);

  // A value read when the metrics are exposed (sizes, queue depths, counts
  // kept elsewhere); nullopt leaves the sample out. read runs on the
  // exposing thread and must not block for long.
  using read_fn = std::function<std::optional<double>()>;
  void add_callback(std::string name, std::string help, metric_type type, read_fn read);

  // Every family, sorted by name, in the text format 0.0.4.
  std::string expose() const;

  // The media type of expose()'s text.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  void check_new_name(const std::string& name);

  mutable std::mutex mutex_;  // registration and exposition only
  std::vector<std::unique_ptr<family_base>> families_;
};

// True for a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and label name
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool is_metric_name(std::string_view name);
bool is_label_name(std::string_view name);

// A sample value as the text format writes it: integers without a fraction,
// others in the shortest form that reads back exactly, +Inf, -Inf, NaN.
std::string format_value(double v);
// A label value or HELP text with \, " (label values only) and newline escaped.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

}  // namespace cairn::server
