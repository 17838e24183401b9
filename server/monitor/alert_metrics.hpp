#pragma once
// The alert sink that counts alerts in the metrics (cairn_alerts_total{kind}).
// The monitor tells it of each alert once recorded; counting is one atomic
// increment, so it never blocks the monitor.

#include "server/metrics/server_metrics.hpp"
#include "server/monitor/alert.hpp"

namespace cairn::server {

class alert_metrics final : public alert_sink {
 public:
  // m must outlive this.
  explicit alert_metrics(server_metrics& m) : metrics_(m) {}
  void on_alert(const alert& a) override;

 private:
  server_metrics& metrics_;
};

}  // namespace cairn::server
