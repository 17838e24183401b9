#include "server/metrics/registry.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace cairn::server {

namespace {

constexpr double k_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
constexpr double k_batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

std::size_t hash_values(std::span<const std::string_view> values) {
  // FNV-1a, with a separator so that ("ab","c") and ("a","bc") differ.
  std::uint64_t h = 1469598103934665603ull;
  for (auto v : values) {
    for (unsigned char c : v) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h);
}

bool same_values(const std::vector<std::string>& a, std::span<const std::string_view> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

std::string_view type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

// A metric whose value is read at exposition.
class callback_metric final : public family_base {
 public:
  callback_metric(std::string name, std::string help, metric_type type, registry::read_fn read)
      : family_base(std::move(name), std::move(help), type, {}), read_(std::move(read)) {}

 private:
  void write_samples(std::string& out) const override {
    if (auto v = read_()) write_sample(out, "", {}, "", "", *v);
  }
  registry::read_fn read_;
};

}  // namespace

// ------------------------------------------------------------------ values

histogram::histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
    }
  }
}

void histogram::observe(double v) {
  // Few buckets: a linear scan beats a binary search's branches.
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::reading histogram::read() const {
  reading r;
  r.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    r.cumulative.push_back(total);
  }
  r.count = total;
  r.sum = sum_.load(std::memory_order_relaxed);
  return r;
}

std::span<const double> latency_buckets() {
  return k_latency_buckets;
}

std::span<const double> batch_buckets() {
  return k_batch_buckets;
}

// ------------------------------------------------------------------ text

bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool is_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integers up to 2^53 are exact in a double: written without a fraction.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// ------------------------------------------------------------------ families

family_base::family_base(std::string name, std::string help, metric_type type,
                         std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (!is_metric_name(name_)) throw std::invalid_argument("bad metric name: " + name_);
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    const auto& l = label_names_[i];
    if (!is_label_name(l) || (type_ == metric_type::histogram && l == "le")) {
      throw std::invalid_argument("bad label name for " + name_ + ": " + l);
    }
    if (std::find(label_names_.begin(), label_names_.begin() + i, l) != label_names_.begin() + i) {
      throw std::invalid_argument("label " + l + " twice in " + name_);
    }
  }
}

void family_base::write(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += escape_help(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
  write_samples(out);
}

void family_base::write_sample(std::string& out, std::string_view suffix,
                               std::span<const std::string> label_values,
                               std::string_view extra_label, std::string_view extra_value,
                               double value) const {
  out += name_;
  out += suffix;
  if (!label_values.empty() || !extra_label.empty()) {
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < label_values.size(); ++i) {
      if (!first) out += ',';
      first = false;
      out += label_names_[i];
      out += "=\"";
      out += escape_label_value(label_values[i]);
      out += '"';
    }
    if (!extra_label.empty()) {
      if (!first) out += ',';
      out += extra_label;
      out += "=\"";
      out += escape_label_value(extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += format_value(value);
  out += '\n';
}

template <class Metric>
family<Metric>::family(std::string name, std::string help, metric_type type,
                       std::vector<std::string> label_names, std::size_t max_children,
                       std::vector<double> bounds)
    : family_base(std::move(name), std::move(help), type, std::move(label_names)),
      max_children_(std::max<std::size_t>(max_children, 1)),
      bounds_(std::move(bounds)),
      mask_(std::bit_ceil(max_children_ * 2) - 1),
      slots_(std::make_unique<std::atomic<child*>[]>(mask_ + 1)) {
  std::vector<std::string_view> other(label_names_.size(), "other");
  overflow_ = make(other, 0);
}

template <class Metric>
family<Metric>::~family() {
  for (std::size_t i = 0; i <= mask_; ++i) delete slots_[i].load();
}

template <class Metric>
std::unique_ptr<typename family<Metric>::child> family<Metric>::make(
    std::span<const std::string_view> values, std::size_t hash) const {
  auto c = std::make_unique<child>();
  c->values.assign(values.begin(), values.end());
  c->hash = hash;
  if constexpr (std::is_same_v<Metric, histogram>) {
    c->metric = std::make_unique<histogram>(bounds_);
  } else {
    c->metric = std::make_unique<Metric>();
  }
  return c;
}

template <class Metric>
Metric& family<Metric>::with(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    // A caller's mistake, not the client's: counted, not lost.
    overflow_used_.store(true, std::memory_order_relaxed);
    return *overflow_->metric;
  }
  const std::size_t h = hash_values(values);
  std::size_t i = h & mask_;
  for (std::size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
    child* c = slots_[i].load(std::memory_order_acquire);
    if (!c) {
      if (size_.load(std::memory_order_relaxed) >= max_children_) break;
      auto fresh = make(values, h);
      if (slots_[i].compare_exchange_strong(c, fresh.get(), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        size_.fetch_add(1, std::memory_order_relaxed);
        return *fresh.release()->metric;
      }
      // Another thread filled the slot first: c is its child.
    }
    if (c->hash == h && same_values(c->values, values)) return *c->metric;
  }
  overflow_used_.store(true, std::memory_order_relaxed);
  return *overflow_->metric;
}

template <class Metric>
void family<Metric>::write_samples(std::string& out) const {
  std::vector<const child*> children;
  for (std::size_t i = 0; i <= mask_; ++i) {
    if (const child* c = slots_[i].load(std::memory_order_acquire)) children.push_back(c);
  }
  if (overflow_used_.load(std::memory_order_relaxed)) children.push_back(overflow_.get());
  std::sort(children.begin(), children.end(),
            [](const child* a, const child* b) { return a->values < b->values; });
  for (const child* c : children) {
    const Metric& m = *c->metric;
    if constexpr (std::is_same_v<Metric, histogram>) {
      const auto r = m.read();
      const auto bounds = m.bounds();
      for (std::size_t b = 0; b < bounds.size(); ++b) {
        write_sample(out, "_bucket", c->values, "le", format_value(bounds[b]),
                     static_cast<double>(r.cumulative[b]));
      }
      write_sample(out, "_bucket", c->values, "le", "+Inf", static_cast<double>(r.count));
      write_sample(out, "_sum", c->values, "", "", r.sum);
      write_sample(out, "_count", c->values, "", "", static_cast<double>(r.count));
    } else {
      write_sample(out, "", c->values, "", "", static_cast<double>(m.value()));
    }
  }
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// ------------------------------------------------------------------ registry

void registry::check_new_name(const std::string& name) {
  for (const auto& f : families_) {
    if (f->name() == name) throw std::invalid_argument("metric registered twice: " + name);
  }
}

family<counter>& registry::counter_family(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::size_t max_children) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  auto f = std::make_unique<family<counter>>(std::move(name), std::move(help), metric_type::counter,
                                             std::move(label_names), max_children);
  auto& out = *f;
  families_.push_back(std::move(f));
  return out;
}

family<gauge>& registry::gauge_family(std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::size_t max_children) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  auto f = std::make_unique<family<gauge>>(std::move(name), std::move(help), metric_type::gauge,
                                           std::move(label_names), max_children);
  auto& out = *f;
  families_.push_back(std::move(f));
  return out;
}

family<histogram>& registry::histogram_family(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::span<const double> bounds,
                                              std::size_t max_children) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  // Checks the bounds now rather than at first use.
  histogram check(bounds);
  auto f = std::make_unique<family<histogram>>(
      std::move(name), std::move(help), metric_type::histogram, std::move(label_names),
      max_children, std::vector<double>(bounds.begin(), bounds.end()));
  auto& out = *f;
  families_.push_back(std::move(f));
  return out;
}

counter& registry::add_counter(std::string name, std::string help) {
  return counter_family(std::move(name), std::move(help), {}, 1).with({});
}

gauge& registry::add_gauge(std::string name, std::string help) {
  return gauge_family(std::move(name), std::move(help), {}, 1).with({});
}

histogram& registry::add_histogram(std::string name, std::string help,
                                   std::span<const double> bounds) {
  return histogram_family(std::move(name), std::move(help), {}, bounds, 1).with({});
}

void registry::add_callback(std::string name, std::string help, metric_type type, read_fn read) {
  if (type == metric_type::histogram) {
    throw std::invalid_argument("a callback metric is a counter or a gauge: " + name);
  }
  std::lock_guard lock(mutex_);
  check_new_name(name);
  families_.push_back(
      std::make_unique<callback_metric>(std::move(name), std::move(help), type, std::move(read)));
}

std::string registry::expose() const {
  std::vector<const family_base*> sorted;
  std::string out;
  std::lock_guard lock(mutex_);
  sorted.reserve(families_.size());
  for (const auto& f : families_) sorted.push_back(f.get());
  std::sort(sorted.begin(), sorted.end(),
            [](const family_base* a, const family_base* b) { return a->name() < b->name(); });
  for (const auto* f : sorted) f->write(out);
  return out;
}

}  // namespace cairn::server
