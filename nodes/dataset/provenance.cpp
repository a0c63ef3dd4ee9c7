// dataset.annotate's provenance fields, read from the run's provenance record (see dataset.h).
#include <algorithm>
#include <cstdio>
#include <deque>
#include <set>

#include "camgraph/output_files.h"
#include "dataset.h"

namespace camgraph::dataset {

using nlohmann::json;

namespace {

// Node ids feeding `start` through the given input ports (all ports when empty), nearest first;
// `start` itself is not included.
std::vector<std::string> upstream_of(const json& nodes, const std::string& start,
                                     const std::set<std::string>& ports = {}) {
  std::vector<std::string> order;
  std::set<std::string> seen{start};
  std::deque<std::string> queue{start};
  while (!queue.empty()) {
    const std::string id = queue.front();
    queue.pop_front();
    if (!nodes.contains(id)) continue;
    const json& inputs = nodes[id].value("inputs", json::object());
    for (auto it = inputs.begin(); it != inputs.end(); ++it) {
      if (id == start && !ports.empty() && !ports.count(it.key())) continue;
      const std::string from = it.value().get<std::string>();
      const std::string node = from.substr(0, from.rfind('.'));
      if (seen.insert(node).second) {
        order.push_back(node);
        queue.push_back(node);
      }
    }
  }
  return order;
}

// A 16-hex-digit id of what `ids` compute: their types, versions, params and links (not their ids).
std::string subgraph_id(const json& nodes, const std::vector<std::string>& ids) {
  json doc = json::array();
  for (const auto& id : ids) {
    const json& n = nodes[id];
    json inputs = json::object();
    const json n_inputs = n.value("inputs", json::object());
    for (const auto& [port, from] : n_inputs.items()) {
      const std::string f = from.get<std::string>();
      inputs[port] = nodes.contains(f.substr(0, f.rfind('.')))
                         ? nodes[f.substr(0, f.rfind('.'))].value("type", "") + f.substr(f.rfind('.'))
                         : f;
    }
    doc.push_back({n.value("type", ""), n.value("version", 1), n.value("params", json::object()), inputs});
  }
  std::sort(doc.begin(), doc.end());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash_bytes(doc.dump())));
  return buf;
}

const json* nearest_of_type(const json& nodes, const std::vector<std::string>& ids, const std::set<std::string>& types,
                            std::string* id_out = nullptr) {
  for (const auto& id : ids)
    if (nodes.contains(id) && types.count(nodes[id].value("type", ""))) {
      if (id_out) *id_out = id;
      return &nodes[id];
    }
  return nullptr;
}

}  // namespace

void add_provenance(json& item, const json& provenance, const std::string& self, double fps, const json& video) {
  if (!provenance.is_object() || !provenance.contains("nodes")) return;
  const json& nodes = provenance["nodes"];
  const std::vector<std::string> up = upstream_of(nodes, self);

  json versions = json::object(), files = json::object(), seeds = json::object();
  const json all_files = provenance.value("files", json::object());
  const json all_seeds = provenance.value("seeds", json::object());
  for (const auto& id : up) {
    if (!nodes.contains(id)) continue;
    versions[id] = nodes[id].value("type", "") + "@" + std::to_string(nodes[id].value("version", 1));
    const std::string prefix = id + ".";
    for (const auto& [k, v] : all_files.items())
      if (k.rfind(prefix, 0) == 0) files[k] = v;
    for (const auto& [k, v] : all_seeds.items())
      if (k.rfind(prefix, 0) == 0) seeds[k] = v;
  }
  item["provenance"] = {{"camgraph", provenance.value("camgraph", "")},
                        {"graph_hash", provenance.value("graph_hash", "")},
                        {"node_versions", versions},
                        {"files", files}};
  item["seeds"] = seeds;

  // Scene and character ids: what computed the nearest scene / the billboard's image, so every
  // camera move of one scene shares its scene_id (for dataset splits), whatever the item.
  std::string scene_node;
  if (nearest_of_type(nodes, up, {"splat.train", "splat.load_ply", "scene.procedural", "depth.lift", "sfm.colmap"},
                      &scene_node)) {
    std::vector<std::string> ids = upstream_of(nodes, scene_node);
    ids.push_back(scene_node);
    item["scene_id"] = subgraph_id(nodes, ids);
  }
  std::string billboard;
  if (nearest_of_type(nodes, up, {"shot.billboard"}, &billboard)) {
    const std::vector<std::string> ids = upstream_of(nodes, billboard, {"image", "mask"});
    if (!ids.empty()) item["character_id"] = subgraph_id(nodes, ids);
  }

  // Render rate and interpolation factor.
  std::string interp;
  const json* render_rate = nearest_of_type(nodes, up, {"camera.path", "camera.orbit"});
  if (const json* in = nearest_of_type(nodes, up, {"frames.interpolate"}, &interp)) {
    const json& p = in->value("params", json::object());
    double factor = 0;
    if (p.value("mode", "multiplier") == "multiplier") factor = p.value("multiplier", 1);
    else if (render_rate && render_rate->contains("params") && (*render_rate)["params"].value("fps", 0.0) > 0)
      factor = fps / (*render_rate)["params"].value("fps", 0.0);
    std::string method = p.value("method", "");
    if (method == "auto") method = p.value("model_path", "").empty() ? "flow" : "rife";
    item["interpolation"] = {{"method", method}, {"node", interp}};
    if (factor > 0) {
      item["interpolation"]["factor"] = factor;
      item["render_fps"] = fps / factor;
    }
  } else {
    item["interpolation"] = {{"method", "none"}, {"factor", 1}};
    item["render_fps"] = fps;
  }

  // Encoder settings: the encode node's params and what the encoder reported.
  if (video.is_object() && nodes.contains(self)) {
    json enc = json::object();
    const json& inputs = nodes[self].value("inputs", json::object());
    if (inputs.contains("video")) {
      const std::string from = inputs["video"].get<std::string>();
      const std::string node = from.substr(0, from.rfind('.'));
      if (nodes.contains(node))
        for (const char* k : {"codec", "crf", "preset", "even"})
          if (nodes[node]["params"].contains(k)) enc[k] = nodes[node]["params"][k];
    }
    for (const char* k : {"codec", "encoder", "crf", "pix_fmt", "colour", "even"})
      if (video.contains(k)) enc[k] = video[k];
    item["encoder"] = enc;
  }
}

}  // namespace camgraph::dataset
