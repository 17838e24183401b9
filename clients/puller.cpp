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

// One run of a pull, in its phases: read the state, open the output, page
// through, finish. The members are what the phases hand on to each other.
class pull_run {
 public:
  pull_run(const pull_settings& settings, taxii_client& client, progress_meter* progress,
           const std::atomic<bool>* stop)
      : settings_(settings),
        client_(client),
        progress_(progress),
        stop_(stop),
        incremental_(!settings.state_file.empty()),
        append_(incremental_ && settings.format == output_format::jsonl &&
                !settings.out_file.empty()) {}

  result<pull_report> run(int out_fd) {
    if (auto r = load_state(); !r) return std::unexpected(r.error());
    if (auto r = open_output(out_fd); !r) return std::unexpected(r.error());
    if (append_) {
      // Record where this run starts appending before anything is appended: a
      // run killed before its first periodic record then leaves a state file
      // that tells the next run to drop what it wrote.
      if (auto r = record_state(); !r) return std::unexpected(r.error());
    }
    if (auto r = writer_->begin(); !r) {
      abandon_partial();
      return std::unexpected(r.error());
    }
    if (auto r = fetch_pages(); !r) return std::unexpected(r.error());
    return finish();
  }

 private:
  // The state of an earlier pull, if any; it must be for this collection.
  result<void> load_state() {
    if (incremental_) {
      auto read = read_pull_state(settings_.state_file);
      if (!read) return std::unexpected(read.error());
      state_ = std::move(*read);
      if (state_ &&
          (state_->collection != settings_.collection || state_->url != settings_.state_url)) {
        return fail("the state file " + settings_.state_file + " records collection \"" +
                    state_->collection + "\" at " + state_->url +
                    "; use another --state file for this pull");
      }
    }
    filters_ = settings_.filters;
    if (state_ && !state_->added_after.empty()) filters_.added_after = state_->added_after;
    report_.started_after = filters_.added_after;
    newest_ = state_ ? state_->added_after : std::string{};
    return {};
  }

  result<void> open_output(int out_fd) {
    if (settings_.out_file.empty()) {
      file_.emplace(durable_file::over_descriptor(out_fd, "standard output"));
    } else if (append_) {
      std::error_code ec;
      out_path_ = std::filesystem::absolute(settings_.out_file, ec);
      if (ec) out_path_ = settings_.out_file;
      auto opened = durable_file::open(out_path_, durable_file::open_mode::append);
      if (!opened) return std::unexpected(opened.error());
      file_.emplace(std::move(*opened));
      if (state_ && state_->output == out_path_.string() && file_->size() > state_->output_bytes) {
        // An earlier pull was interrupted after writing objects it never
        // recorded: they will come again, so drop them.
        report_.discarded_bytes = file_->size() - state_->output_bytes;
        if (auto r = file_->truncate(state_->output_bytes); !r) return r;
      }
    } else {
      out_path_ = settings_.out_file;
      partial_path_ = out_path_;
      partial_path_ += ".partial";
      auto opened = durable_file::open(partial_path_, durable_file::open_mode::truncate);
      if (!opened) return std::unexpected(opened.error());
      file_.emplace(std::move(*opened));
    }
    writer_.emplace(*file_, settings_.format);
    return {};
  }

  void abandon_partial() {
    if (!partial_path_.empty()) {
      writer_.reset();
      file_.reset();
      std::error_code ignored;
      std::filesystem::remove(partial_path_, ignored);
    }
  }

  result<void> record_state() {
    pull_state s;
    s.url = settings_.state_url;
    s.collection = settings_.collection;
    s.added_after = newest_.empty() ? filters_.added_after : newest_;
    if (append_) {
      s.output = out_path_.string();
      s.output_bytes = file_->size();
    }
    if (auto r = write_pull_state(settings_.state_file, s); !r) return r;
    report_.state_written = true;
    return {};
  }

  // Pages through to the end or an interruption. `next` goes with the same
  // filters; without it, resume after the last date_added (T 3.5).
  result<void> fetch_pages() {
    auto last_commit = std::chrono::steady_clock::now();
    int stalled = 0;
    for (;;) {
      auto page = client_.get_objects(settings_.api_root, settings_.collection, filters_);
      if (!page) {
        abandon_partial();
        if (append_ && file_->sync()) {
          // Every page written so far is whole: record it, so that the next
          // run does not fetch it again.
          (void)record_state();
        }
        return std::unexpected(page.error());
      }
      if (auto r = write_page(*page); !r) {
        abandon_partial();
        return r;
      }
      if (append_ && std::chrono::steady_clock::now() - last_commit >= std::chrono::seconds(1)) {
        if (auto r = file_->sync(); !r) return r;
        if (auto r = record_state(); !r) return r;
        last_commit = std::chrono::steady_clock::now();
      }
      if (!page->more) return {};
      if (stop_ && stop_->load()) {
        report_.interrupted = true;
        return {};
      }
      if (auto r = advance(*page, stalled); !r) {
        abandon_partial();
        return r;
      }
    }
  }

  result<void> write_page(const envelope_page& page) {
    ++report_.pages;
    report_.bytes += page.body_bytes;
    for (const auto& obj : page.objects) {
      if (auto r = writer_->object(obj); !r) return r;
    }
    report_.objects += page.objects.size();
    if (progress_) progress_->add(page.objects.size(), page.body_bytes);
    if (later_than(page.date_added_last, newest_)) newest_ = page.date_added_last;
    if (later_than(page.date_added_last, report_.last_date_added)) {
      report_.last_date_added = page.date_added_last;
    }
    return {};
  }

  // Sets the filters for the page after page (which said "more").
  result<void> advance(const envelope_page& page, int& stalled) {
    if (!page.next.empty()) {
      filters_.next = page.next;
      stalled = 0;
      return {};
    }
    // No `next`: continue after the last record of this page.
    filters_.next.clear();
    if (page.date_added_last.empty()) {
      return fail(
          "the server says more objects remain but gives neither \"next\" nor "
          "X-TAXII-Date-Added-Last; cannot continue safely");
    }
    if (!later_than(page.date_added_last, filters_.added_after)) {
      // The same position again: a server that does not advance would loop
      // forever.
      if (++stalled >= 3) {
        return fail("the server keeps answering \"more\" without advancing past " +
                    filters_.added_after);
      }
    } else {
      stalled = 0;
    }
    filters_.added_after = page.date_added_last;
    return {};
  }

  // Completes the output (or abandons it when interrupted) and records the
  // state last.
  result<pull_report> finish() {
    if (report_.interrupted && append_) {
      if (auto r = file_->sync(); !r) return std::unexpected(r.error());
      if (auto r = record_state(); !r) return std::unexpected(r.error());
      return report_;
    }
    if (report_.interrupted) {
      // Nothing half-done is kept or recorded: run again to get it all.
      if (!partial_path_.empty()) {
        abandon_partial();
      } else {
        (void)writer_->end();
        (void)file_->sync();
      }
      return report_;
    }
    auto completed = complete_output();
    if (!completed) {
      abandon_partial();
      return std::unexpected(completed.error());
    }
    if (incremental_) {
      if (auto r = record_state(); !r) return std::unexpected(r.error());
    }
    return report_;
  }

  // Ends the output, makes it durable and, for a .partial file, puts it in
  // place.
  result<void> complete_output() {
    if (auto r = writer_->end(); !r) return r;
    if (auto r = file_->sync(); !r) return r;
    if (!partial_path_.empty()) {
      if (auto r = file_->close(); !r) return r;
      if (auto r = rename_durably(partial_path_, out_path_); !r) return r;
    }
    return {};
  }

  const pull_settings& settings_;
  taxii_client& client_;
  progress_meter* progress_;
  const std::atomic<bool>* stop_;
  const bool incremental_;
  const bool append_;  // JSON lines appended to --out, with --state

  pull_report report_;
  std::optional<pull_state> state_;
  object_filters filters_;
  std::string newest_;  // the newest date_added seen, for the state
  std::filesystem::path out_path_, partial_path_;
  std::optional<durable_file> file_;
  std::optional<object_writer> writer_;
};

}  // namespace

puller::puller(taxii_client& client, progress_meter* progress, const std::atomic<bool>* stop)
    : client_(client), progress_(progress), stop_(stop) {}

result<pull_report> puller::run(const pull_settings& settings, int out_fd) {
  return pull_run(settings, client_, progress_, stop_).run(out_fd);
}

}  // namespace cairn::clients
