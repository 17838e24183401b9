#include "tests/clients/fake_taxii.hpp"

#include <charconv>
#include <map>

#include "formats/base64.hpp"
#include "formats/json.hpp"
#include "formats/time.hpp"

namespace cairn::clients::testing {

namespace {

test_reply reply(unsigned status, std::string body, header_list headers = {}) {
  test_reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.emplace_back("Content-Type", "application/taxii+json;version=2.1");
  return r;
}

test_reply error_reply(unsigned status, const std::string& title) {
  return reply(status, "{\"title\":\"" + formats::json_escape(title) + "\"}");
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    const auto eq = part.find('=');
    out[url_decode(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

std::vector<fake_taxii::stored> fake_taxii::objects() const {
  std::lock_guard lock(mutex_);
  return objects_;
}

std::vector<std::string> fake_taxii::audit_queries() const {
  std::lock_guard lock(mutex_);
  return audit_queries_;
}

std::vector<std::size_t> fake_taxii::post_sizes() const {
  std::lock_guard lock(mutex_);
  return post_sizes_;
}

void fake_taxii::store(const std::string& id, const std::string& version, const std::string& json) {
  clock_ += 1000;
  objects_.push_back({clock_, id, version, json});
}

void fake_taxii::add_object(const std::string& json) {
  auto doc = formats::parse_json(json);
  std::string id, version;
  if (doc && doc->root().is_object()) {
    if (auto v = doc->root().get("id")) id = std::string(v->as_string());
    if (auto v = doc->root().get("modified")) version = std::string(v->as_string());
  }
  std::lock_guard lock(mutex_);
  store(id, version, doc ? doc->root().dump() : json);
}

test_reply fake_taxii::handle(const test_request& req) {
  const std::string expected = "Basic " + formats::base64_encode(user + ":" + password);
  if (req.header("Authorization") != expected) {
    test_reply r = error_reply(401, "Authentication required");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"fake\"");
    return r;
  }
  const auto qmark = req.target.find('?');
  const std::string path = req.target.substr(0, qmark);
  const std::string query = qmark == std::string::npos ? "" : req.target.substr(qmark + 1);
  const std::string col = std::string("/api1/collections/") + fake_collection_id + "/";
  const std::string alias = "/api1/collections/ind/";

  if (path == "/cairn/v1/statuses") {
    {
      std::lock_guard lock(mutex_);
      audit_queries_.push_back("statuses:" + query);
    }
    auto make = [](std::string_view id, int failures) {
      return R"({"id":")" + std::string(id) +
             R"(","api_root":"api1","request_timestamp":"2026-01-01T00:00:05.000000Z",)"
             R"("status":"complete","total_count":3,"success_count":)" +
             std::to_string(3 - failures) + R"(,"failure_count":)" + std::to_string(failures) +
             R"(,"pending_count":0})";
    };
    if (query.find("next=s2") == std::string::npos) {
      return reply(200, "{\"statuses\":[" + make("2d1b6c1e-0000-4000-8000-000000000002", 1) +
                            "],\"more\":true,\"next\":\"s2\"}");
    }
    return reply(200, "{\"statuses\":[" + make("2d1b6c1e-0000-4000-8000-000000000001", 0) +
                          "],\"more\":false}");
  }
  if (path == "/cairn/v1/alerts") {
    {
      std::lock_guard lock(mutex_);
      audit_queries_.push_back("alerts:" + query);
    }
    auto make = [](int seq, std::string_view kind, std::string_view account,
                   std::string_view evidence) {
      return R"({"account":")" + std::string(account) +
             R"(","detail":"20 refused requests within 60 s","evidence":[)" +
             std::string(evidence) + R"(],"kind":")" + std::string(kind) +
             R"(","remote":"192.0.2.7","seq":)" + std::to_string(seq) +
             R"(,"time":"2026-01-01T00:00:0)" + std::to_string(seq) + R"(.000000Z"})";
    };
    if (query.find("next=a2") == std::string::npos) {
      return reply(200, "{\"alerts\":[" + make(5, "denied-burst", "acme", "3,4") + "," +
                            make(8, "auth-failure-burst", "", "") +
                            "],\"more\":true,\"next\":\"a2\"}");
    }
    return reply(200, "{\"alerts\":[" + make(9, "denied-burst", "acme", "7") + "],\"more\":false}");
  }
  if (path == "/cairn/v1/audit") {
    {
      std::lock_guard lock(mutex_);
      audit_queries_.push_back(query);
    }
    const std::string rec =
        R"({"seq":%S,"time":"2026-01-01T00:00:0%S.000000Z","account":"acme","action":"pull",)"
        R"("remote":"127.0.0.1","api_root":"api1","collection":"c1","objects":[{"id":"indicator--x",)"
        R"("version":"2024-01-01T00:00:00.000Z"}],"status":200,"prev":"00","hash":"11"})";
    auto make = [&rec](int seq) {
      std::string r = rec;
      for (std::size_t at; (at = r.find("%S")) != std::string::npos;) {
        r.replace(at, 2, std::to_string(seq));
      }
      return r;
    };
    if (query.find("action=auth-failure") != std::string::npos) {
      return reply(
          200, R"({"records":[{"seq":4,"time":"2026-01-01T00:00:04.000000Z","account":"",)"
               R"("accounts":{"reader":3,"writer":2},"action":"auth-failure","remote":"192.0.2.7",)"
               R"("api_root":"","collection":"","objects":[],"status":401,"suppressed":7,)"
               R"("prev":"00","hash":"11"}],"more":false})");
    }
    if (query.find("next=p2") == std::string::npos) {
      return reply(200,
                   "{\"records\":[" + make(1) + "," + make(2) + "],\"more\":true,\"next\":\"p2\"}");
    }
    return reply(200, "{\"records\":[" + make(3) + "],\"more\":false}");
  }
  if (path == "/taxii2/") {
    return reply(200, R"({"title":"Fake exchange","contact":"soc@example.org","default":"/api1/",)"
                      R"("api_roots":["/api1/"]})");
  }
  if (path == "/api1/") {
    return reply(200, R"({"title":"API one","versions":["application/taxii+json;version=2.1"],)"
                      R"("max_content_length":)" +
                          std::to_string(max_content_length.load()) + "}");
  }
  if (path == "/api1/collections/") {
    return reply(200, std::string(R"({"collections":[{"id":")") + fake_collection_id +
                          R"(","title":"Indicators","alias":"ind","can_read":true,)"
                          R"("can_write":true}]})");
  }
  // Like some servers, this one knows collections by id only.
  if (path.starts_with(alias)) return error_reply(404, "No such collection");
  if (path == col + "objects/") {
    if (req.method == "POST") return post(req);
    return objects_page(req, query);
  }
  if (path.starts_with("/api1/status/")) {
    std::lock_guard lock(mutex_);
    if (status_polls_ < pending_polls.load()) {
      ++status_polls_;
      return reply(200, R"({"id":"s1","status":"pending","total_count":1,"success_count":0,)"
                        R"("failure_count":0,"pending_count":1})");
    }
    return reply(200, last_status_json_);
  }
  if (path.starts_with(col + "objects/") && req.method == "DELETE") {
    const std::string id = path.substr(col.size() + 8, path.size() - col.size() - 9);
    std::lock_guard lock(mutex_);
    const auto before = objects_.size();
    std::erase_if(objects_, [&](const stored& s) { return s.id == id; });
    if (objects_.size() == before) return error_reply(404, "No such object");
    return reply(200, "");
  }
  if (path.starts_with(col + "objects/") && path.ends_with("/versions/")) {
    const std::string id = path.substr(col.size() + 8, path.size() - col.size() - 8 - 10);
    std::lock_guard lock(mutex_);
    std::string list;
    for (const auto& s : objects_) {
      if (s.id == id) list += (list.empty() ? "\"" : ",\"") + s.version + "\"";
    }
    if (list.empty()) return error_reply(404, "No such object");
    return reply(200, "{\"versions\":[" + list + "]}");
  }
  if (path.starts_with(col + "objects/")) {
    const std::string id = path.substr(col.size() + 8, path.size() - col.size() - 9);
    std::lock_guard lock(mutex_);
    std::string list;
    for (const auto& s : objects_) {
      if (s.id == id) list = s.json;  // the last version
    }
    if (list.empty()) return error_reply(404, "No such object");
    return reply(200, "{\"objects\":[" + list + "]}");
  }
  if (path == col + "manifest/") {
    std::lock_guard lock(mutex_);
    std::string list;
    for (const auto& s : objects_) {
      list += std::string(list.empty() ? "" : ",") + "{\"id\":\"" + s.id + "\",\"date_added\":\"" +
              formats::format_taxii_time(s.date_added) + "\",\"version\":\"" + s.version + "\"}";
    }
    return reply(200, list.empty() ? "{}" : "{\"objects\":[" + list + "]}");
  }
  return error_reply(404, "Unknown path " + path);
}

test_reply fake_taxii::post(const test_request& req) {
  if (req.header("Content-Type") != "application/taxii+json;version=2.1") {
    return error_reply(415, "Wrong content type");
  }
  {
    std::lock_guard lock(mutex_);
    post_sizes_.push_back(req.body.size());
  }
  if (static_cast<std::int64_t>(req.body.size()) > max_content_length.load()) {
    return error_reply(413, "Too large");
  }
  auto doc = formats::parse_json(req.body);
  if (!doc || !doc->root().is_object()) return error_reply(422, "Not an envelope");
  auto list = doc->root().get("objects");
  if (!list || !list->is_array()) return error_reply(422, "No objects");
  std::string successes, failures;
  int ok = 0, bad = 0;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto o = list->value_at(i);
    const std::string id(o.get("id")->as_string());
    std::string version;
    if (auto m = o.get("modified")) version = std::string(m->as_string());
    const std::string detail = "{\"id\":\"" + id + "\",\"version\":\"" + version + "\"";
    if (refuse_ids.contains(id)) {
      failures += std::string(bad++ ? "," : "") + detail + ",\"message\":\"refused by policy\"}";
      continue;
    }
    store(id, version, o.dump());
    successes += std::string(ok++ ? "," : "") + detail + "}";
  }
  std::string status =
      "{\"id\":\"s1\",\"status\":\"complete\",\"total_count\":" + std::to_string(ok + bad) +
      ",\"success_count\":" + std::to_string(ok) + ",\"failure_count\":" + std::to_string(bad) +
      ",\"pending_count\":0";
  if (ok) status += ",\"successes\":[" + successes + "]";
  if (bad) status += ",\"failures\":[" + failures + "]";
  status += "}";
  last_status_json_ = status;
  status_polls_ = 0;
  if (pending_polls.load() > 0) {
    return reply(202, R"({"id":"s1","status":"pending","total_count":)" + std::to_string(ok + bad) +
                          R"(,"success_count":0,"failure_count":0,)" + R"("pending_count":)" +
                          std::to_string(ok + bad) + "}");
  }
  return reply(202, status);
}

test_reply fake_taxii::objects_page(const test_request&, const std::string& query) {
  const int drop_after = drop_pages_after.load();
  if (drop_after >= 0 && pages_served.load() >= drop_after) {
    test_reply r;
    r.status = 503;
    r.body = "{\"title\":\"going away\"}";
    r.close_silently = true;
    return r;
  }
  auto q = parse_query(query);
  std::int64_t after = 0;
  if (q.contains("added_after")) {
    auto t = formats::parse_rfc3339(q["added_after"]);
    if (!t) return error_reply(400, "Bad added_after");
    after = *t;
  }
  std::size_t start = 0;
  if (q.contains("next")) start = std::stoul(q["next"]);
  std::size_t limit = static_cast<std::size_t>(page_size.load());
  if (q.contains("limit")) limit = std::min<std::size_t>(limit, std::stoul(q["limit"]));
  std::string type_filter = q.contains("match[type]") ? q["match[type]"] : "";

  std::lock_guard lock(mutex_);
  std::vector<const stored*> matching;
  for (const auto& s : objects_) {
    if (s.date_added <= after) continue;
    if (!type_filter.empty() && !s.id.starts_with(type_filter + "--")) continue;
    matching.push_back(&s);
  }
  std::string list;
  std::size_t end = std::min(matching.size(), start + limit);
  for (std::size_t i = start; i < end; ++i) list += (i > start ? "," : "") + matching[i]->json;
  const bool more = end < matching.size();
  std::string body = "{\"more\":" + std::string(more ? "true" : "false");
  if (more && use_next.load()) body += ",\"next\":\"" + std::to_string(end) + "\"";
  if (!list.empty()) body += ",\"objects\":[" + list + "]";
  body += "}";
  header_list headers;
  if (end > start) {
    headers.emplace_back("X-TAXII-Date-Added-First",
                         formats::format_taxii_time(matching[start]->date_added));
    headers.emplace_back("X-TAXII-Date-Added-Last",
                         formats::format_taxii_time(matching[end - 1]->date_added));
  }
  const int served = ++pages_served;
  if (on_page) on_page(served);
  return reply(200, body, headers);
}

}  // namespace cairn::clients::testing
