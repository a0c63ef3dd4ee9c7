// dataset family: helpers shared by the nodes and their tests.
#pragma once
#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "camgraph/camera.h"
#include "camgraph/formats/dataset_caption.h"  // describe_motion: the caption vocabulary

namespace camgraph {
class NodeContext;
}

namespace camgraph::dataset {

void encode_video_execute(NodeContext& ctx);
void annotate_execute(NodeContext& ctx);
void export_execute(NodeContext& ctx);

// POSIX ustar: the 512-byte header of one regular file (mode 0644, mtime 0); throws for names over
// 100 bytes. append_tar_member adds header, bytes and the padding to a 512-byte boundary.
std::string ustar_header(const std::string& name, uint64_t size);
void append_tar_member(std::string& tar, const std::string& name, const std::string& bytes);

// Fills {scene}, {subject}, {motion} and drops the empty comma-separated parts.
std::string format_caption(const std::string& tmpl, const std::string& scene, const std::string& subject,
                           const std::string& motion);
// RealEstate10K text: line 1 the clip id, then per frame timestamp_us fx/W fy/H cx/W cy/H 0 0 and the
// 3x4 world-to-camera (OpenCV axes), row-major; numbers in their shortest round-trip form.
std::string realestate10k_poses(const std::string& id, const std::vector<Camera>& cameras, double fps);
// Adds what made the item to its metadata line, from the run's provenance record
// (NodeContext::provenance()) seen from the annotate node `self`: provenance {camgraph, graph_hash,
// node_versions and input files (content hashes: model weights, images) of the nodes upstream},
// seeds, scene_id and character_id (hashes of what computed the scene / the billboard's image, so
// every camera move of one scene shares them), render_fps and interpolation {method, factor}, and
// encoder settings (from the encode node's params and `video`, its record). Nothing without a record.
void add_provenance(nlohmann::json& item, const nlohmann::json& provenance, const std::string& self, double fps,
                    const nlohmann::json& video);
// The shortest decimal that reads back as exactly `v`.
std::string shortest(double v);

}  // namespace camgraph::dataset
