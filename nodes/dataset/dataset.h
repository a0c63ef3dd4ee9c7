// dataset family: helpers shared by the nodes and their tests.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "camgraph/camera.h"

namespace camgraph {
class NodeContext;
}

namespace camgraph::dataset {

void encode_video_execute(NodeContext& ctx);
void annotate_execute(NodeContext& ctx);

// "camera pans left slowly, then dollies in"; "static camera" for a static (or empty) record list.
std::string describe_motion(const nlohmann::json& motion);
// Fills {scene}, {subject}, {motion} and drops the empty comma-separated parts.
std::string format_caption(const std::string& tmpl, const std::string& scene, const std::string& subject,
                           const std::string& motion);
// RealEstate10K text: line 1 the clip id, then per frame timestamp_us fx/W fy/H cx/W cy/H 0 0 and the
// 3x4 world-to-camera (OpenCV axes), row-major; numbers in their shortest round-trip form.
std::string realestate10k_poses(const std::string& id, const std::vector<Camera>& cameras, double fps);
// The shortest decimal that reads back as exactly `v`.
std::string shortest(double v);

}  // namespace camgraph::dataset
