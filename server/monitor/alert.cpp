#include "server/monitor/alert.hpp"

#include "formats/json.hpp"

namespace cairn::server {

std::string alert_json(const alert& a) {
  formats::json_writer w;
  w.begin_object();
  w.member("account", a.account);
  w.member("detail", a.detail);
  w.key("evidence").begin_array();
  for (const std::uint64_t seq : a.evidence) w.integer(static_cast<std::int64_t>(seq));
  w.end_array();
  w.member("kind", a.kind);
  w.member("remote", a.remote);
  w.member("seq", static_cast<std::int64_t>(a.seq));
  w.member("time", a.time);
  w.end_object();
  return w.take();
}

}  // namespace cairn::server
