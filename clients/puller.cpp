#include "clients/puller.hpp"

#include <chrono>
#include <filesystem>
#include <optional>

#include "clients/durable_file.hpp"
#include "clients/pull_state.hpp"
#include "formats/stix.hpp"
#include "formats/time.hpp"

namespace cairn::clients {

namespace {

// Orders TAXII timestamps by instant (servers write different fraction
// lengths); unparsable text never wins.
bool later_than(const std::string& a, const std::string& b) {
  if (b.empty()) return !a.empty();
  auto ta = formats::parse_rfc3339(a);
  auto tb = formats::parse_rfc3339(b);
  if (!ta) return false;
  if (!tb) return true;
  return *ta > *tb;
}

// Writes objects in the chosen format.
class object_writer {
 public:
  object_writer(durable_file& file, output_format format) : file_(file), format_(format) {}

  result<void> begin() {
    if (format_ != output_format::bundle) return {};
    return file_.write("{\"type\":\"bundle\",\"id\":\"bundle--" + formats::new_uuid_v4() +
                       "\",\"objects\":[");
  }
  result<void> object(std::string_view json) {
    if (format_ == output_format::jsonl) {
      if (auto r = file_.write(json); !r) return r;
      return file_.write("\n");
    }
    if (auto r = file_.write(first_ ? "\n" : ",\n"); !r) return r;
    first_ = false;
    return file_.write(json);
  }
  result<void> end() {
    if (format_ != output_format::bundle) return {};
    return file_.write(first_ ? "]}\n" : "\n]}\n");
  }

 private:
  durable_file& file_;
  output_format format_;
  bool first_ = true;
};

}  // namespace

puller::puller(taxii_client& client, progress_meter* progress, const std::atomic<bool>* stop)
    : client_(client), progress_(progress), stop_(stop) {}

result<pull_report> puller::run(const pull_settings& settings, int out_fd) {
  pull_report report;
  const bool incremental = !settings.state_file.empty();
  const bool append =
      incremental && settings.format == output_format::jsonl && !settings.out_file.empty();

  std::optional<pull_state> state;
  if (incremental) {
    auto read = read_pull_state(settings.state_file);
    if (!read) return std::unexpected(read.error());
    state = std::move(*read);
    if (state && (state->collection != settings.collection || state->url != settings.state_url)) {
      return fail("the state file " + settings.state_file + " records collection \"" +
                  state->collection + "\" at " + state->url +
                  "; use another --state file for this pull");
    }
  }

  object_filters filters = settings.filters;
  if (state && !state->added_after.empty()) filters.added_after = state->added_after;
  report.started_after = filters.added_after;

  // Open the output.
  std::filesystem::path out_path, partial_path;
  std::optional<durable_file> file;
  if (settings.out_file.empty()) {
    file.emplace(durable_file::over_descriptor(out_fd, "standard output"));
  } else if (append) {
    std::error_code ec;
    out_path = std::filesystem::absolute(settings.out_file, ec);
    if (ec) out_path = settings.out_file;
    auto opened = durable_file::open(out_path, durable_file::open_mode::append);
    if (!opened) return std::unexpected(opened.error());
    file.emplace(std::move(*opened));
    if (state && state->output == out_path.string() && file->size() > state->output_bytes) {
      // An earlier pull was interrupted after writing objects it never
      // recorded: they will come again, so drop them.
      report.discarded_bytes = file->size() - state->output_bytes;
      if (auto r = file->truncate(state->output_bytes); !r) return std::unexpected(r.error());
    }
  } else {
    out_path = settings.out_file;
    partial_path = out_path;
    partial_path += ".partial";
    auto opened = durable_file::open(partial_path, durable_file::open_mode::truncate);
    if (!opened) return std::unexpected(opened.error());
    file.emplace(std::move(*opened));
  }
  auto abandon_partial = [&] {
    if (!partial_path.empty()) {
      file.reset();
      std::error_code ignored;
      std::filesystem::remove(partial_path, ignored);
    }
  };

  std::string newest = state ? state->added_after : std::string{};
  auto record_state = [&]() -> result<void> {
    pull_state s;
    s.url = settings.state_url;
    s.collection = settings.collection;
    s.added_after = newest.empty() ? filters.added_after : newest;
    if (append) {
      s.output = out_path.string();
      s.output_bytes = file->size();
    }
    if (auto r = write_pull_state(settings.state_file, s); !r) return r;
    report.state_written = true;
    return {};
  };
  if (append) {
    // Record where this run starts appending before anything is appended: a
    // run killed before its first periodic record then leaves a state file
    // that tells the next run to drop what it wrote.
    if (auto r = record_state(); !r) return std::unexpected(r.error());
  }

  object_writer writer(*file, settings.format);
  if (auto r = writer.begin(); !r) {
    abandon_partial();
    return std::unexpected(r.error());
  }
  auto last_commit = std::chrono::steady_clock::now();

  // Page through. `next` goes with the same filters; without it, resume
  // after the last date_added (T 3.5).
  int stalled = 0;
  for (;;) {
    auto page = client_.get_objects(settings.api_root, settings.collection, filters);
    if (!page) {
      abandon_partial();
      if (append && file->sync()) {
        // Every page written so far is whole: record it, so that the next run
        // does not fetch it again.
        (void)record_state();
      }
      return std::unexpected(page.error());
    }
    ++report.pages;
    report.bytes += page->body_bytes;
    for (const auto& obj : page->objects) {
      if (auto r = writer.object(obj); !r) {
        abandon_partial();
        return std::unexpected(r.error());
      }
    }
    report.objects += page->objects.size();
    if (progress_) progress_->add(page->objects.size(), page->body_bytes);
    if (later_than(page->date_added_last, newest)) newest = page->date_added_last;
    if (later_than(page->date_added_last, report.last_date_added)) {
      report.last_date_added = page->date_added_last;
    }

    if (append && std::chrono::steady_clock::now() - last_commit >= std::chrono::seconds(1)) {
      if (auto r = file->sync(); !r) return std::unexpected(r.error());
      if (auto r = record_state(); !r) return std::unexpected(r.error());
      last_commit = std::chrono::steady_clock::now();
    }

    if (!page->more) break;
    if (stop_ && stop_->load()) {
      report.interrupted = true;
      break;
    }
    if (!page->next.empty()) {
      filters.next = page->next;
      stalled = 0;
      continue;
    }
    // No `next`: continue after the last record of this page.
    filters.next.clear();
    if (page->date_added_last.empty()) {
      abandon_partial();
      return fail(
          "the server says more objects remain but gives neither \"next\" nor "
          "X-TAXII-Date-Added-Last; cannot continue safely");
    }
    if (!later_than(page->date_added_last, filters.added_after)) {
      // The same position again: a server that does not advance would loop
      // forever.
      if (++stalled >= 3) {
        abandon_partial();
        return fail("the server keeps answering \"more\" without advancing past " +
                    filters.added_after);
      }
    } else {
      stalled = 0;
    }
    filters.added_after = page->date_added_last;
  }

  if (report.interrupted && append) {
    if (auto r = file->sync(); !r) return std::unexpected(r.error());
    if (auto r = record_state(); !r) return std::unexpected(r.error());
    return report;
  }
  if (report.interrupted) {
    // Nothing half-done is kept or recorded: run again to get it all.
    if (!partial_path.empty()) {
      abandon_partial();
    } else {
      (void)writer.end();
      (void)file->sync();
    }
    return report;
  }
  if (auto r = writer.end(); !r) {
    abandon_partial();
    return std::unexpected(r.error());
  }
  if (auto r = file->sync(); !r) {
    abandon_partial();
    return std::unexpected(r.error());
  }
  if (!partial_path.empty()) {
    if (auto r = file->close(); !r) {
      abandon_partial();
      return std::unexpected(r.error());
    }
    if (auto r = rename_durably(partial_path, out_path); !r) {
      abandon_partial();
      return std::unexpected(r.error());
    }
  }
  if (incremental) {
    if (auto r = record_state(); !r) return std::unexpected(r.error());
  }
  return report;
}

}  // namespace cairn::clients
