#include "clients/cli.hpp"

#include <algorithm>
#include <cinttypes>
#include <expected>
#include <filesystem>
#include <functional>
#include <optional>

#include "clients/audit_proof.hpp"
#include "clients/durable_file.hpp"
#include "clients/progress_meter.hpp"
#include "clients/publisher.hpp"
#include "clients/puller.hpp"
#include "clients/taxii_client.hpp"
#include "formats/json.hpp"
#include "formats/stix.hpp"

namespace cairn::clients {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr std::uint64_t max_input_bytes = std::uint64_t{2} << 30;

void pretty(const formats::json_view& v, std::string& out, int indent) {
  if (v.is_object() && v.size() > 0) {
    out += "{\n";
    for (std::size_t i = 0; i < v.size(); ++i) {
      out.append(static_cast<std::size_t>(indent + 2), ' ');
      out += '"';
      out += formats::json_escape(v.key_at(i));
      out += "\": ";
      pretty(v.value_at(i), out, indent + 2);
      out += i + 1 < v.size() ? ",\n" : "\n";
    }
    out.append(static_cast<std::size_t>(indent), ' ');
    out += '}';
  } else if (v.is_array() && v.size() > 0) {
    out += "[\n";
    for (std::size_t i = 0; i < v.size(); ++i) {
      out.append(static_cast<std::size_t>(indent + 2), ' ');
      pretty(v.value_at(i), out, indent + 2);
      out += i + 1 < v.size() ? ",\n" : "\n";
    }
    out.append(static_cast<std::size_t>(indent), ' ');
    out += ']';
  } else {
    out += v.dump();
  }
}

void print(std::FILE* f, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), f);
}

void say(cli_io& io, std::string_view text) {
  print(io.err, "cairn: ");
  print(io.err, text);
  print(io.err, "\n");
}

// JSON for the reader: indented on a terminal, one line otherwise.
void print_json(cli_io& io, std::string_view json) {
  if (io.out_is_tty) {
    print(io.out, pretty_json(json));
  } else {
    print(io.out, json);
  }
  print(io.out, "\n");
}

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

object_filters filters_from(const cli_args& a) {
  object_filters f;
  f.added_after = a.since;
  f.limit = a.page_limit;
  f.types = a.types;
  f.ids = a.ids;
  f.versions = a.versions;
  f.spec_versions = a.spec_versions;
  return f;
}

// Everything a command needs: the client and the API root.
struct session {
  taxii_client client;
  std::string root;
};

result<taxii_client> connect(const cli_args& a) {
  client_options o = a.connection;
  if (o.user_agent.empty()) o.user_agent = "cairn/0.1";
  return taxii_client::make(std::move(o));
}

result<session> open_root(const cli_args& a) {
  auto client = connect(a);
  if (!client) return std::unexpected(client.error());
  auto root = client->resolve_api_root(a.root);
  if (!root) return std::unexpected(root.error());
  return session{std::move(*client), std::move(*root)};
}

std::string collection_ref(session& s, const std::string& given) {
  return s.client.resolve_collection(s.root, given);
}

int fail_with(cli_io& io, const error& e) {
  say(io, e.to_string());
  return exit_failure;
}

// ---- commands ----

int cmd_discover(const cli_args& a, cli_io& io) {
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  auto d = client->discovery();
  if (!d) return fail_with(io, d.error());
  if (a.json) {
    print_json(io, d->json);
    return exit_ok;
  }
  std::string out = d->title + "\n";
  if (!d->description.empty()) out += "  " + d->description + "\n";
  if (!d->contact.empty()) out += "  contact: " + d->contact + "\n";
  out += "API roots:\n";
  if (d->api_roots.empty()) out += "  (none listed for this account)\n";
  for (const auto& r : d->api_roots) {
    out += "  " + r;
    if (r == d->default_root) out += "  (default)";
    out += "\n";
    auto ref = resolve_reference(client->server(), r);
    if (!ref || ref->host != client->server().host || ref->port != client->server().port) {
      continue;
    }
    std::string path = ref->path;
    if (path.back() != '/') path += '/';
    auto info = client->api_root(path);
    if (!info) {
      out += "    (cannot read: " + info.error().message + ")\n";
      continue;
    }
    out += "    title: " + info->title + "\n";
    if (!info->description.empty()) out += "    description: " + info->description + "\n";
    std::string versions;
    for (const auto& v : info->versions) versions += (versions.empty() ? "" : ", ") + v;
    out += "    versions: " + versions + "\n";
    out += "    max_content_length: " + std::to_string(info->max_content_length) + " (" +
           human_bytes(static_cast<double>(info->max_content_length)) + ")\n";
  }
  print(io.out, out);
  return exit_ok;
}

int cmd_collections(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  auto cols = s->client.collections(s->root);
  if (!cols) return fail_with(io, cols.error());
  if (a.json) {
    std::string json = "{\"api_root\":\"" + formats::json_escape(s->root) + "\"";
    if (!cols->empty()) {
      json += ",\"collections\":[";
      for (std::size_t i = 0; i < cols->size(); ++i) {
        json += (i ? "," : "") + (*cols)[i].json;
      }
      json += "]";
    }
    json += "}";
    print_json(io, json);
    return exit_ok;
  }
  std::string out = "API root " + s->root + "\n";
  if (cols->empty()) {
    out += "  no collections visible to this account\n";
  } else {
    std::size_t alias_width = 5;
    for (const auto& c : *cols) alias_width = std::max(alias_width, c.alias.size());
    out += pad("ID", 38) + pad("ALIAS", alias_width + 2) + "READ WRITE TITLE\n";
    for (const auto& c : *cols) {
      out += pad(c.id, 38) + pad(c.alias, alias_width + 2) + pad(yes_no(c.can_read), 5) +
             pad(yes_no(c.can_write), 6) + c.title + "\n";
    }
  }
  print(io.out, out);
  return exit_ok;
}

int cmd_publish(const cli_args& a, cli_io& io) {
  std::vector<publish_input> inputs;
  bool stdin_used = false;
  for (std::size_t i = 1; i < a.positionals.size(); ++i) {
    const std::string& name = a.positionals[i];
    if (name == "-") {
      if (stdin_used) {
        say(io, "'-' (standard input) can be given only once");
        return exit_usage;
      }
      stdin_used = true;
      auto text = io.read_stdin ? io.read_stdin() : read_whole_file("/dev/stdin", max_input_bytes);
      if (!text) return fail_with(io, text.error());
      inputs.push_back({"-", std::move(*text)});
      continue;
    }
    auto text = read_whole_file(name, max_input_bytes);
    if (!text) return fail_with(io, text.error());
    inputs.push_back({name, std::move(*text)});
  }
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  const std::string collection = collection_ref(*s, a.positionals[0]);

  progress_meter progress(io.err, io.progress && !a.quiet, "publish");
  publish_settings settings;
  settings.max_objects_per_request = a.batch_objects;
  settings.status_wait = a.status_wait;
  publisher pub(s->client, settings, &progress);
  auto report = pub.run(s->root, collection, inputs);
  progress.finish();
  if (!report) return fail_with(io, report.error());

  const std::size_t ok = report->count(outcome_kind::succeeded);
  const std::size_t total = report->outcomes.size();
  if (a.json) {
    formats::json_writer w;
    w.begin_object();
    w.member("collection", a.positionals[0]);
    w.member("total", static_cast<std::int64_t>(total));
    w.member("succeeded", static_cast<std::int64_t>(ok));
    w.member("failed", static_cast<std::int64_t>(total - ok));
    w.member("requests", static_cast<std::int64_t>(report->requests));
    w.key("status_ids").begin_array();
    for (const auto& id : report->status_ids) w.string(id);
    w.end_array();
    if (!report->request_error.empty()) w.member("error", report->request_error);
    w.key("objects").begin_array();
    for (const auto& o : report->outcomes) {
      w.begin_object();
      w.member("id", o.id);
      w.member("version", o.version);
      w.member("result", outcome_name(o.kind));
      if (!o.message.empty()) w.member("message", o.message);
      w.member("source", o.source);
      w.end_object();
    }
    w.end_array();
    w.end_object();
    print(io.out, w.str());
    print(io.out, "\n");
  } else {
    std::string out;
    for (const auto& o : report->outcomes) {
      if (o.kind == outcome_kind::succeeded && a.quiet) continue;
      out += pad(std::string(outcome_name(o.kind)), 9);
      out += o.id.empty() ? "(no id)" : o.id;
      if (!o.version.empty()) out += " " + o.version;
      if (o.kind == outcome_kind::invalid || o.kind == outcome_kind::not_sent ||
          o.kind == outcome_kind::failed) {
        out += "  [" + o.source + "]";
      }
      if (!o.message.empty()) out += ": " + o.message;
      out += "\n";
      if (out.size() > (1u << 16)) {
        print(io.out, out);
        out.clear();
      }
    }
    print(io.out, out);
  }
  std::string summary = "published " + std::to_string(ok) + " of " + std::to_string(total) +
                        " objects to " + a.positionals[0] + " in " +
                        std::to_string(report->requests) + " request(s)";
  if (ok != total) {
    summary += "; " + std::to_string(report->count(outcome_kind::invalid)) + " invalid, " +
               std::to_string(report->count(outcome_kind::failed)) + " failed, " +
               std::to_string(report->count(outcome_kind::pending)) + " pending, " +
               std::to_string(report->count(outcome_kind::not_sent)) + " not sent";
  }
  if (!a.json || ok != total) say(io, summary);
  if (!report->request_error.empty()) say(io, "stopped: " + report->request_error);
  return report->all_succeeded() ? exit_ok : exit_failure;
}

int cmd_pull(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  pull_settings settings;
  settings.api_root = s->root;
  settings.collection = collection_ref(*s, a.positionals[0]);
  settings.filters = filters_from(a);
  settings.format = a.format;
  settings.out_file = a.out_file;
  settings.state_file = a.state_file;
  url_parts root_url = s->client.server();
  root_url.path = s->root;
  settings.state_url = root_url.to_string();

  progress_meter progress(io.err, io.progress && !a.quiet, "pull");
  puller p(s->client, &progress, io.stop);
  std::fflush(io.out);
  auto report = p.run(settings, fileno(io.out));
  progress.finish();
  if (!report) {
    say(io, report.error().to_string());
    if (!a.state_file.empty()) {
      say(io, "the state file still holds the last safe position; run the same command again");
    }
    return exit_failure;
  }
  if (report->discarded_bytes > 0) {
    say(io, "discarded " + std::to_string(report->discarded_bytes) + " bytes of " + a.out_file +
                " written after the last recorded position (an interrupted pull)");
  }
  if (report->interrupted) {
    say(io, "interrupted after " + std::to_string(report->objects) + " objects" +
                (report->state_written ? "; run the same command to resume"
                                       : "; nothing was recorded, run the same command again"));
    return exit_failure;
  }
  if (!a.quiet) {
    std::string msg = "pulled " + std::to_string(report->objects) + " objects (" +
                      human_bytes(static_cast<double>(report->bytes)) + ", " +
                      std::to_string(report->pages) + " page(s)) from " + a.positionals[0];
    if (report->state_written) {
      msg += "; the next pull starts after " + (report->last_date_added.empty()
                                                    ? std::string("the same point")
                                                    : report->last_date_added);
    }
    say(io, msg);
  }
  return exit_ok;
}

int cmd_get(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  const std::string collection = collection_ref(*s, a.positionals[0]);
  const std::string& id = a.positionals[1];
  if (a.list_versions) {
    std::vector<std::string> all;
    object_filters f;
    f.spec_versions = a.spec_versions;
    for (int pages = 0; pages < 100000; ++pages) {
      auto v = s->client.versions(s->root, collection, id, f);
      if (!v) return fail_with(io, v.error());
      all.insert(all.end(), v->versions.begin(), v->versions.end());
      if (!v->more) break;
      if (!v->next.empty()) {
        f.next = v->next;
      } else if (!v->date_added_last.empty() && v->date_added_last != f.added_after) {
        f.added_after = v->date_added_last;
      } else {
        break;
      }
    }
    if (all.empty()) {
      say(io, id + " has no versions in " + a.positionals[0]);
      return exit_failure;
    }
    if (a.json) {
      formats::json_writer w;
      w.begin_object().key("versions").begin_array();
      for (const auto& v : all) w.string(v);
      w.end_array().end_object();
      print(io.out, w.str());
      print(io.out, "\n");
    } else {
      for (const auto& v : all) print(io.out, v + "\n");
    }
    return exit_ok;
  }
  object_filters f;
  f.versions = a.versions;
  f.spec_versions = a.spec_versions;
  f.added_after = a.since;
  f.limit = a.page_limit;
  std::vector<std::string> objects;
  for (int pages = 0; pages < 100000; ++pages) {
    auto page = s->client.get_object(s->root, collection, id, f);
    if (!page) return fail_with(io, page.error());
    objects.insert(objects.end(), page->objects.begin(), page->objects.end());
    if (!page->more) break;
    if (!page->next.empty()) {
      f.next = page->next;
    } else if (!page->date_added_last.empty() && page->date_added_last != f.added_after) {
      f.added_after = page->date_added_last;
    } else {
      break;
    }
  }
  if (objects.empty()) {
    say(io, id + " was not found in " + a.positionals[0]);
    return exit_failure;
  }
  for (const auto& o : objects) {
    if (a.json) {
      print(io.out, o);
      print(io.out, "\n");
    } else {
      print_json(io, o);
    }
  }
  return exit_ok;
}

int cmd_manifest(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  const std::string collection = collection_ref(*s, a.positionals[0]);
  object_filters f = filters_from(a);
  std::vector<manifest_record> records;
  for (int pages = 0; pages < 1000000; ++pages) {
    auto page = s->client.manifest(s->root, collection, f);
    if (!page) return fail_with(io, page.error());
    records.insert(records.end(), page->objects.begin(), page->objects.end());
    if (!page->more) break;
    if (!page->next.empty()) {
      f.next = page->next;
    } else if (!page->date_added_last.empty() && page->date_added_last != f.added_after) {
      f.next.clear();
      f.added_after = page->date_added_last;
    } else {
      break;
    }
  }
  if (a.json) {
    formats::json_writer w;
    w.begin_object();
    if (!records.empty()) {
      w.key("objects").begin_array();
      for (const auto& r : records) {
        w.begin_object();
        w.member("id", r.id);
        w.member("date_added", r.date_added);
        w.member("version", r.version);
        if (!r.media_type.empty()) w.member("media_type", r.media_type);
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
    print(io.out, w.str());
    print(io.out, "\n");
    return exit_ok;
  }
  std::string out;
  for (const auto& r : records) {
    out += pad(r.date_added, 29) + pad(r.version, 27) + r.id + "\n";
    if (out.size() > (1u << 16)) {
      print(io.out, out);
      out.clear();
    }
  }
  print(io.out, out);
  if (!a.quiet) say(io, std::to_string(records.size()) + " manifest entries");
  return exit_ok;
}

void print_details(std::string& out, std::string_view label,
                   const std::vector<status_detail>& list) {
  for (const auto& d : list) {
    out += "  " + pad(std::string(label), 9) + d.id;
    if (!d.version.empty()) out += " " + d.version;
    if (!d.message.empty()) out += ": " + d.message;
    out += "\n";
  }
}

int cmd_status(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  auto st = s->client.get_status(s->root, a.positionals[0]);
  if (!st) return fail_with(io, st.error());
  if (a.json) {
    print_json(io, st->json);
    return exit_ok;
  }
  std::string out = "status " + st->id + ": " + st->status + "\n";
  if (!st->request_timestamp.empty()) out += "  requested " + st->request_timestamp + "\n";
  out += "  total " + std::to_string(st->total_count) + ", succeeded " +
         std::to_string(st->success_count) + ", failed " + std::to_string(st->failure_count) +
         ", pending " + std::to_string(st->pending_count) + "\n";
  print_details(out, "ok", st->successes);
  print_details(out, "failed", st->failures);
  print_details(out, "pending", st->pendings);
  print(io.out, out);
  return exit_ok;
}

int cmd_delete(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  const std::string collection = collection_ref(*s, a.positionals[0]);
  object_filters f;
  f.versions = a.versions;
  f.spec_versions = a.spec_versions;
  auto r = s->client.delete_object(s->root, collection, a.positionals[1], f);
  if (!r) return fail_with(io, r.error());
  if (!a.quiet) {
    std::string what = a.positionals[1];
    if (!a.versions.empty()) {
      what += " (version";
      for (const auto& v : a.versions) what += " " + v;
      what += ")";
    }
    say(io, "deleted " + what + " from " + a.positionals[0]);
  }
  return exit_ok;
}

// Reads a whole file ('-': standard input) of at most max bytes.
result<std::string> read_input(cli_io& io, const std::string& path, std::size_t max) {
  if (path == "-") {
    if (!io.read_stdin) return fail("standard input is not available");
    return io.read_stdin();
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail("cannot read " + path);
  std::string text;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= max) text.append(buf, n);
  std::fclose(f);
  if (text.size() > max) return fail(path + " is larger than " + std::to_string(max) + " bytes");
  return text;
}

int cmd_audit_verify_proof(const cli_args& a, cli_io& io) {
  proof_inputs in;
  auto records = read_input(io, a.record_file, std::size_t{1} << 30);
  if (!records) return fail_with(io, records.error());
  in.records = std::move(*records);
  auto key = read_input(io, a.public_key_file, 16 * 1024);
  if (!key) return fail_with(io, key.error());
  in.public_key_pem = std::move(*key);
  if (!a.checkpoint_file.empty()) {
    auto cp = read_input(io, a.checkpoint_file, 1 << 20);
    if (!cp) return fail_with(io, cp.error());
    in.checkpoint_json = std::move(*cp);
  }
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  auto out = verify_record_proofs(*client, in);
  if (!out) return fail_with(io, out.error());
  for (const auto& line : out->lines) print(io.out, line + "\n");
  return out->ok ? exit_ok : exit_failure;
}

// cairn audit exposure: the answer of /cairn/v1/audit/exposure, as it came
// (--json) or as a table.
int cmd_audit_exposure(const cli_args& a, cli_io& io) {
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  auto r = client->get_ok("/cairn/v1/audit/exposure?object=" + percent_encode(a.audit_object));
  if (!r) {
    if (client->last_status() == 404) {
      return fail_with(io,
                       error{r.error().message + " (this server has no Cairn exposure endpoint)"});
    }
    return fail_with(io, r.error());
  }
  if (a.json) {
    print_json(io, r->body);
    return exit_ok;
  }
  auto doc = formats::parse_json(r->body, {});
  if (!doc || !doc->root().is_object()) {
    return fail_with(io, error{"the exposure response is not a JSON object"});
  }
  const auto root = doc->root();
  auto recipients = root.get("recipients");
  if (!recipients || !recipients->is_array()) {
    return fail_with(io, error{"the exposure response has no \"recipients\" list"});
  }
  auto text = [](const formats::json_view& v, std::string_view k) -> std::string {
    auto m = v.get(k);
    if (!m || m->is_null()) return "-";
    return m->is_string() ? std::string(m->as_string()) : m->dump();
  };
  auto current = root.get("current_version");
  auto revoked = root.get("revoked");
  std::string out = a.audit_object + ": ";
  if (current && current->is_string()) {
    out += "current version " + std::string(current->as_string());
    out += revoked && revoked->is_bool() && revoked->as_bool() ? ", revoked\n" : "\n";
  } else {
    out += "no live version\n";
  }
  out += pad("account", 20) + pad("last version received", 27) + pad("time", 30) + "current\n";
  for (std::size_t i = 0; i < recipients->size(); ++i) {
    const auto rec = recipients->value_at(i);
    auto is_current = rec.get("current");
    out += pad(text(rec, "account"), 20) + pad(text(rec, "last_version_received"), 27) +
           pad(text(rec, "time"), 30) +
           (is_current && is_current->is_bool() && is_current->as_bool() ? "yes" : "no") + "\n";
  }
  print(io.out, out);
  if (!a.quiet) say(io, std::to_string(recipients->size()) + " recipients");
  return exit_ok;
}

int cmd_audit(const cli_args& a, cli_io& io) {
  if (!a.positionals.empty() && a.positionals[0] == "exposure") return cmd_audit_exposure(a, io);
  if (!a.positionals.empty()) return cmd_audit_verify_proof(a, io);
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  std::string base = "/cairn/v1/audit";
  std::string query;
  auto add = [&query](std::string_view k, const std::string& v) {
    if (v.empty()) return;
    query += query.empty() ? '?' : '&';
    query += std::string(k) + "=" + percent_encode(v, ":,");
  };
  add("object", a.audit_object);
  add("account", a.audit_account);
  add("collection", a.audit_collection);
  add("action", a.audit_action);
  add("since", a.since);
  add("until", a.until);
  if (a.page_limit) add("limit", std::to_string(*a.page_limit));
  std::string next;
  std::size_t count = 0;
  std::string out;
  for (int pages = 0; pages < 1000000; ++pages) {
    std::string target = base + query;
    if (!next.empty()) target += (query.empty() ? "?" : "&") + ("next=" + percent_encode(next));
    auto r = client->get_ok(target);
    if (!r) {
      if (client->last_status() == 404) {
        return fail_with(io,
                         error{r.error().message + " (this server has no Cairn audit endpoint)"});
      }
      return fail_with(io, r.error());
    }
    auto doc = formats::parse_json(r->body, {});
    if (!doc || !doc->root().is_object()) {
      return fail_with(io, error{"the audit response is not a JSON object"});
    }
    const auto root = doc->root();
    auto records = root.get("records");
    if (!records || !records->is_array()) {
      return fail_with(io, error{"the audit response has no \"records\" list"});
    }
    for (std::size_t i = 0; i < records->size(); ++i) {
      const auto rec = records->value_at(i);
      ++count;
      if (a.json) {
        out += rec.dump() + "\n";
      } else {
        auto text = [&](std::string_view k) -> std::string {
          auto v = rec.get(k);
          if (!v) return "-";
          return v->is_string() ? std::string(v->as_string()) : v->dump();
        };
        out += pad(text("seq"), 8) + pad(text("time"), 29) + pad(text("account"), 14) +
               pad(text("action"), 13) + pad(text("status"), 5);
        if (auto c = rec.get("collection"); c && c->is_string()) {
          out += " collection " + std::string(c->as_string());
        }
        out += "\n";
        if (auto objs = rec.get("objects"); objs && objs->is_array()) {
          for (std::size_t j = 0; j < objs->size(); ++j) {
            const auto o = objs->value_at(j);
            auto id = o.get("id");
            auto version = o.get("version");
            out += "        ";
            out += id && id->is_string() ? std::string(id->as_string()) : "?";
            if (version && version->is_string()) out += " " + std::string(version->as_string());
            out += "\n";
          }
        }
        // An alert: its kind, what it says, and the records that raised it.
        if (auto k = rec.get("kind"); k && k->is_string()) {
          out += "        " + std::string(k->as_string()) + ": " + text("detail");
          if (auto ev = rec.get("evidence"); ev && ev->is_array() && ev->size() > 0) {
            out += " (evidence " + ev->dump() + ")";
          }
          out += "\n";
        }
        // An auth-failure counter: how many failures, and for which accounts.
        if (auto n = rec.get("suppressed"); n && n->is_integer()) {
          out += "        counted " + n->dump() + " failures";
          if (auto names = rec.get("accounts"); names && names->is_object()) {
            for (std::size_t j = 0; j < names->size(); ++j) {
              out += j == 0 ? ": " : ", ";
              out += std::string(names->key_at(j)) + " " + names->value_at(j).dump();
            }
          }
          out += "\n";
        }
      }
      if (out.size() > (1u << 16)) {
        print(io.out, out);
        out.clear();
      }
    }
    auto more = root.get("more");
    auto n = root.get("next");
    if (!more || !more->is_bool() || !more->as_bool() || !n || !n->is_string() ||
        n->as_string().empty()) {
      break;
    }
    next = std::string(n->as_string());
  }
  print(io.out, out);
  if (!a.json && !a.quiet) say(io, std::to_string(count) + " audit records");
  return exit_ok;
}

// ---- lookup and export (Cairn extensions) ----

int cmd_lookup(const cli_args& a, cli_io& io) {
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  std::string target = "/cairn/v1/lookup?value=" + percent_encode(a.positionals[0], ":/@");
  if (!a.types.empty()) target += "&type=" + percent_encode(a.types[0]);
  auto r = client->get_ok(target);
  if (!r) {
    if (client->last_status() == 404) {
      return fail_with(io,
                       error{r.error().message + " (this server has no Cairn lookup endpoint)"});
    }
    return fail_with(io, r.error());
  }
  auto doc = formats::parse_json(r->body, {});
  if (!doc || !doc->root().is_object()) {
    return fail_with(io, error{"the lookup response is not a JSON object"});
  }
  const auto root = doc->root();
  auto matches = root.get("matches");
  if (!matches || !matches->is_array()) {
    return fail_with(io, error{"the lookup response has no \"matches\" list"});
  }
  if (a.json) {
    print_json(io, r->body);
    return exit_ok;
  }
  std::string out;
  for (std::size_t i = 0; i < matches->size(); ++i) {
    const auto m = matches->value_at(i);
    auto text = [&](std::string_view k) -> std::string {
      auto v = m.get(k);
      if (!v || v->is_null()) return "-";
      return v->is_string() ? std::string(v->as_string()) : v->dump();
    };
    out += pad(text("id"), 55) + " " + pad(text("version"), 26) + " " + pad(text("tlp"), 13) + " " +
           text("api_root") + "/" + text("collection");
    if (auto rv = m.get("revoked"); rv && rv->is_bool() && rv->as_bool()) out += " revoked";
    if (auto vu = m.get("valid_until"); vu && vu->is_string()) {
      out += " valid until " + std::string(vu->as_string());
    }
    out += "\n";
  }
  print(io.out, out);
  auto more = root.get("more");
  const bool has_more = more && more->is_bool() && more->as_bool();
  if (!a.quiet) {
    say(io, std::to_string(matches->size()) + (matches->size() == 1 ? " match" : " matches") +
                (has_more ? " (more exist: the server lists at most that many)" : ""));
  }
  return exit_ok;
}

int cmd_export(const cli_args& a, cli_io& io) {
  auto s = open_root(a);
  if (!s) return fail_with(io, s.error());
  // The export path names the API root by its name: the root path's last
  // segment.
  std::string_view root = s->root;
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  root = root.substr(root.rfind('/') + 1);
  std::string target = "/cairn/v1/export/" + percent_encode(root) + "/" +
                       percent_encode(a.positionals[0]) + "?format=" + a.export_format;
  if (!a.types.empty()) {
    std::string list;
    for (const auto& t : a.types) list += (list.empty() ? "" : ",") + t;
    target += "&type=" + percent_encode(list, ",");
  }
  const std::filesystem::path out_path = a.out_file;
  const std::filesystem::path part =
      a.out_file.empty() ? std::filesystem::path{} : std::filesystem::path(a.out_file + ".part");
  std::optional<durable_file> file;
  if (!a.out_file.empty()) {
    auto f = durable_file::open(part, durable_file::open_mode::truncate);
    if (!f) return fail_with(io, f.error());
    file.emplace(std::move(*f));
  }
  std::uint64_t bytes = 0;
  auto sink = [&](std::string_view piece) -> result<void> {
    bytes += piece.size();
    if (io.stop && io.stop->load()) return fail("interrupted");
    if (file) return file->write(piece);
    if (std::fwrite(piece.data(), 1, piece.size(), io.out) != piece.size()) {
      return fail("cannot write the export to standard output");
    }
    return {};
  };
  header_list headers;
  headers.emplace_back("Accept", a.export_format == "stix"  ? "application/stix+json;version=2.1"
                                 : a.export_format == "csv" ? "text/csv"
                                                            : "text/plain");
  auto r = s->client.get_to(target, headers, sink);
  auto discard = [&] {
    if (!file) return;
    (void)file->close();
    std::error_code ignored;
    std::filesystem::remove(part, ignored);
  };
  if (!r) {
    discard();
    return fail_with(io, r.error());
  }
  if (file) {
    if (auto c = file->close(); !c) {
      discard();
      return fail_with(io, c.error());
    }
    if (auto m = rename_durably(part, out_path); !m) {
      discard();
      return fail_with(io, m.error());
    }
  }
  if (!a.quiet && !a.out_file.empty()) {
    say(io, "wrote " + std::to_string(bytes) + " bytes to " + a.out_file);
  }
  return exit_ok;
}

// A table cell from a member of a listed JSON object: "-" when absent or
// empty, strings as they are, anything else as JSON.
std::string cell(formats::json_view row, std::string_view key) {
  auto v = row.get(key);
  if (!v) return "-";
  if (!v->is_string()) return v->dump();
  return v->as_string().empty() ? "-" : std::string(v->as_string());
}

// One of Cairn's JSON list endpoints ({"<list>":[...],"more":bool,"next":"..."}),
// followed through next for at most max_pages pages. Rows are printed as they
// come: one JSON object per line with --json, else header then table(row).
// An error (what was not yet printed is dropped), or whether the list was
// read to its end.
struct cairn_list {
  std::string_view path;  // "/cairn/v1/alerts"
  std::string_view list;  // the answer's member, "alerts"
  int max_pages = 0;
};

std::expected<bool, error> follow_list(taxii_client& client, const cli_args& a, cli_io& io,
                                       const cairn_list& what, const std::string& query,
                                       std::string header,
                                       const std::function<std::string(formats::json_view)>& table,
                                       std::size_t& count) {
  const std::string what_list(what.list);
  std::string next;
  std::string out = a.json ? std::string() : std::move(header);
  for (int pages = 0; pages < what.max_pages; ++pages) {
    std::string target = std::string(what.path) + query;
    if (!next.empty()) target += (query.empty() ? "?" : "&") + ("next=" + percent_encode(next));
    auto r = client.get_ok(target);
    if (!r) {
      if (client.last_status() == 404) {
        return std::unexpected(
            error{r.error().message + " (this server has no Cairn " + what_list + " endpoint)"});
      }
      return std::unexpected(r.error());
    }
    auto doc = formats::parse_json(r->body, {});
    if (!doc || !doc->root().is_object()) {
      return std::unexpected(error{"the " + what_list + " response is not a JSON object"});
    }
    const auto root = doc->root();
    auto rows = root.get(what.list);
    if (!rows || !rows->is_array()) {
      return std::unexpected(
          error{"the " + what_list + " response has no \"" + what_list + "\" list"});
    }
    for (std::size_t i = 0; i < rows->size(); ++i) {
      const auto row = rows->value_at(i);
      ++count;
      out += a.json ? row.dump() + "\n" : table(row);
      if (out.size() > (1u << 16)) {
        print(io.out, out);
        out.clear();
      }
    }
    auto more = root.get("more");
    auto n = root.get("next");
    if (!more || !more->is_bool() || !more->as_bool() || !n || !n->is_string() ||
        n->as_string().empty()) {
      print(io.out, out);
      return true;
    }
    next = std::string(n->as_string());
  }
  print(io.out, out);
  return false;
}

// cairn alerts: GET /cairn/v1/alerts, following next to the end (at most
// k_max_alert_pages pages), as a table or one JSON alert per line.
constexpr int k_max_alert_pages = 10'000;

int cmd_alerts(const cli_args& a, cli_io& io) {
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  std::string query;
  auto add = [&query](std::string_view k, const std::string& v) {
    if (v.empty()) return;
    query += query.empty() ? '?' : '&';
    query += std::string(k) + "=" + percent_encode(v, ":,");
  };
  add("kind", a.alert_kind);
  add("account", a.audit_account);
  add("since", a.since);
  add("until", a.until);
  if (a.page_limit) add("limit", std::to_string(*a.page_limit));
  std::size_t count = 0;
  auto complete = follow_list(
      *client, a, io, {"/cairn/v1/alerts", "alerts", k_max_alert_pages}, query,
      pad("SEQ", 8) + pad("TIME", 29) + pad("KIND", 20) + pad("ACCOUNT", 14) + pad("REMOTE", 17) +
          "DETAIL\n",
      [](formats::json_view rec) {
        std::string line = pad(cell(rec, "seq"), 8) + pad(cell(rec, "time"), 29) +
                           pad(cell(rec, "kind"), 20) + pad(cell(rec, "account"), 14) +
                           pad(cell(rec, "remote"), 17) + cell(rec, "detail") + "\n";
        if (auto ev = rec.get("evidence"); ev && ev->is_array() && ev->size() > 0) {
          line += "        evidence " + ev->dump() + "\n";
        }
        return line;
      },
      count);
  if (!complete) return fail_with(io, complete.error());
  if (!*complete) {
    say(io, "stopped after " + std::to_string(k_max_alert_pages) +
                " pages: narrow the query with --since or --kind");
    return exit_failure;
  }
  if (!a.json && !a.quiet) say(io, std::to_string(count) + " alerts");
  return exit_ok;
}

// ---- statuses (Cairn extension) ----

// Follows `next` for at most this many pages (the server keeps a few days of
// statuses; 100 per page).
constexpr int k_max_status_pages = 10'000;

int cmd_statuses(const cli_args& a, cli_io& io) {
  auto client = connect(a);
  if (!client) return fail_with(io, client.error());
  const std::string query = a.page_limit ? "?limit=" + std::to_string(*a.page_limit) : "";
  std::size_t count = 0;
  auto complete = follow_list(
      *client, a, io, {"/cairn/v1/statuses", "statuses", k_max_status_pages}, query,
      pad("STATUS ID", 38) + pad("API ROOT", 12) + pad("REQUESTED", 29) + pad("STATUS", 10) +
          pad("TOTAL", 7) + pad("STORED", 7) + pad("FAILED", 7) + "PENDING\n",
      [](formats::json_view st) {
        return pad(cell(st, "id"), 38) + pad(cell(st, "api_root"), 12) +
               pad(cell(st, "request_timestamp"), 29) + pad(cell(st, "status"), 10) +
               pad(cell(st, "total_count"), 7) + pad(cell(st, "success_count"), 7) +
               pad(cell(st, "failure_count"), 7) + cell(st, "pending_count") + "\n";
      },
      count);
  if (!complete) return fail_with(io, complete.error());
  if (!*complete) {
    say(io, "stopped after " + std::to_string(k_max_status_pages) + " pages");
    return exit_failure;
  }
  if (!a.json && !a.quiet) say(io, std::to_string(count) + " statuses");
  return exit_ok;
}

}  // namespace

std::string pretty_json(std::string_view json) {
  auto doc = formats::parse_json(json, {});
  if (!doc) return std::string(json);
  std::string out;
  pretty(doc->root(), out, 0);
  return out;
}

int run_cli(const std::vector<std::string>& args, cli_io& io) {
  env_lookup env = io.env ? io.env : [](std::string_view) { return std::optional<std::string>{}; };
  auto parsed = parse_cli_args(args, env);
  if (!parsed) {
    say(io, parsed.error().to_string());
    say(io, "run `cairn --help` or `cairn COMMAND --help` for usage");
    return exit_usage;
  }
  cli_args& a = *parsed;
  if (a.help) {
    print(io.out, help_text(a.command));
    return exit_ok;
  }
  if (auto r = load_secrets(a); !r) {
    say(io, r.error().to_string());
    return exit_usage;
  }
  if (a.insecure_warning) {
    print(io.err,
          "WARNING: --insecure: the server's certificate is NOT verified. Anyone on the network "
          "path can read and change this traffic, including your credentials. Use --cacert or "
          "--pin instead.\n");
  }
  int rc = exit_failure;
  switch (a.command) {
    case cli_command::discover: rc = cmd_discover(a, io); break;
    case cli_command::collections: rc = cmd_collections(a, io); break;
    case cli_command::publish: rc = cmd_publish(a, io); break;
    case cli_command::pull: rc = cmd_pull(a, io); break;
    case cli_command::get: rc = cmd_get(a, io); break;
    case cli_command::manifest: rc = cmd_manifest(a, io); break;
    case cli_command::status: rc = cmd_status(a, io); break;
    case cli_command::delete_object: rc = cmd_delete(a, io); break;
    case cli_command::audit: rc = cmd_audit(a, io); break;
    case cli_command::lookup: rc = cmd_lookup(a, io); break;
    case cli_command::export_values: rc = cmd_export(a, io); break;
    case cli_command::alerts: rc = cmd_alerts(a, io); break;
    case cli_command::statuses: rc = cmd_statuses(a, io); break;
    case cli_command::none:
      print(io.out, help_text(a.command));
      rc = exit_ok;
      break;
  }
  std::fflush(io.out);
  std::fflush(io.err);
  return rc;
}

}  // namespace cairn::clients
