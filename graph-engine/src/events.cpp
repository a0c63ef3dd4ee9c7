#include "camgraph/events.h"

namespace camgraph {

const char* to_string(EventKind k) {
  switch (k) {
    case EventKind::RunStarted: return "run_started";
    case EventKind::NodeStarted: return "node_started";
    case EventKind::Progress: return "progress";
    case EventKind::NodeDone: return "node_done";
    case EventKind::NodeCached: return "node_cached";
    case EventKind::NodeFailed: return "node_failed";
    case EventKind::NodeSkipped: return "node_skipped";
    case EventKind::Warning: return "warning";
    case EventKind::RunFinished: return "run_finished";
    case EventKind::Preview: return "preview";
  }
  return "?";
}

nlohmann::json Event::to_json() const {
  nlohmann::json j = {{"event", to_string(kind)}};
  if (!node.empty()) j["node"] = node;
  switch (kind) {
    case EventKind::Progress:
      j["fraction"] = fraction;
      if (eta_s >= 0) j["eta_s"] = eta_s;
      break;
    case EventKind::NodeDone:
    case EventKind::NodeFailed:
    case EventKind::RunFinished: j["seconds"] = seconds; break;
    case EventKind::Preview:
      if (value) j["value"] = value->summary();
      break;
    default: break;
  }
  if (!message.empty()) j["message"] = message;
  if (!param.empty()) j["param"] = param;
  for (auto it = data.begin(); it != data.end(); ++it) j[it.key()] = *it;
  return j;
}

}  // namespace camgraph
