#pragma once
// An alert as the monitor raises it (INTERFACE.md, "Monitoring the exchange
// itself"), and the interface of what is told about each: the metrics
// (cairn_alerts_total{kind}) and the webhook subscribe through alert_sink.
//
// The audit record is the alert's durable form: sinks are told only once it
// is recorded (seq known), on a thread of the monitor's; they must not block.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::server {

// The kinds, as they appear in records, the API and configs.
inline constexpr std::string_view k_alert_auth_failure_burst = "auth-failure-burst";
inline constexpr std::string_view k_alert_denied_burst = "denied-burst";
inline constexpr std::string_view k_alert_new_address = "new-address";
inline constexpr std::string_view k_alert_volume = "volume";
inline constexpr std::string_view k_alert_suspended_use = "suspended-use";
inline constexpr std::string_view k_alert_kinds[] = {k_alert_auth_failure_burst,
                                                     k_alert_denied_burst, k_alert_new_address,
                                                     k_alert_volume, k_alert_suspended_use};

struct alert {
  std::uint64_t seq = 0;  // the audit record's
  std::string time;       // TAXII timestamp, as in the record
  std::string kind;
  std::string account;  // empty when the alert is about an address only
  std::string remote;
  std::string detail;
  std::vector<std::uint64_t> evidence;
};

// The JSON of GET /cairn/v1/alerts' entries and of the webhook's body:
// {"seq":N,"time":"...","kind":"...","account":"...","remote":"...",
//  "detail":"...","evidence":[N,...]} (canonical member order).
std::string alert_json(const alert& a);

class alert_sink {
 public:
  virtual ~alert_sink() = default;
  virtual void on_alert(const alert& a) = 0;
};

}  // namespace cairn::server
