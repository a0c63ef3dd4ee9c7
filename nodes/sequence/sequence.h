// sequence family: several shots joined into one clip with cut / fade / dissolve transitions.
#pragma once
#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "camgraph/camera.h"

namespace camgraph {
class NodeContext;
}

namespace camgraph::sequence {

struct Shot {
  at::Tensor frames;  // [N, H, W, C]
  at::Tensor depth;   // [N, H, W] or undefined
  std::vector<Camera> cameras;
  std::string caption;
};

struct Joined {
  at::Tensor frames, depth;  // depth undefined unless every shot has it
  std::vector<Camera> cameras;
  nlohmann::json shots = nlohmann::json::array();        // {index, caption, frames [first, last]}
  nlohmann::json transitions = nlohmann::json::array();  // {type, after_shot, frames [first, last]}
};

// cut: back to back. fade: the last `t` frames of a shot fade to black and the first `t` of the next
// fade in from black (no frames lost). dissolve: the last `t` frames of a shot and the first `t` of the
// next are blended (weight of the next (j + 1) / (t + 1)), so each dissolve shortens the clip by t;
// the blended frames carry the incoming shot's cameras and depth. A shot's frame range is where any
// of its frames appear (inclusive).
Joined join_shots(const std::vector<Shot>& shots, const std::string& transition, int t);

void join_execute(NodeContext& ctx);

}  // namespace camgraph::sequence
