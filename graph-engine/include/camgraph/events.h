// The event stream that describes a run. The CLI (`--events json`) and the editor consume it.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "camgraph/value.h"

namespace camgraph {

enum class EventKind {
  RunStarted,  // data: {"nodes": [ids to run], "device": "cpu"}
  NodeStarted,
  Progress,     // fraction, message, eta_s
  NodeDone,     // seconds, data: output summaries
  NodeCached,   // data: {"tier": "memory"|"disk"}
  NodeFailed,   // message, param
  NodeSkipped,  // message (why: upstream failed, cancelled)
  Warning,      // message
  RunFinished,  // data: {"status": "ok"|"failed"|"cancelled", counts}
  Preview,      // an intermediate result while the node runs (a training snapshot, a decoded
                // latent): value + message (label); only sent when RunOptions::previews is set
};

const char* to_string(EventKind k);

struct Event {
  EventKind kind = EventKind::Progress;
  std::string node;     // empty for run-level events
  std::string param;    // NodeFailed: parameter at fault, if known
  double fraction = 0;  // Progress
  double eta_s = -1;    // Progress: estimated seconds left in the node, -1 unknown
  double seconds = 0;   // NodeDone/NodeFailed/RunFinished: elapsed
  std::string message;
  nlohmann::json data = nlohmann::json::object();
  Value value;  // Preview: the intermediate value (shared, never modified afterwards)

  nlohmann::json to_json() const;  // {"event": "node_done", "node": ..., ...}
};

using EventSink = std::function<void(const Event&)>;

}  // namespace camgraph
