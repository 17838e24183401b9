#include "server/monitor/alert_metrics.hpp"

namespace cairn::server {

void alert_metrics::on_alert(const alert& a) {
  metrics_.alert_raised(a.kind);
}

}  // namespace cairn::server
