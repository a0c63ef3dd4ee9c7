// Node specs: a node declares its type, inputs, outputs and parameters once; the engine,
// the CLI (`nodes --json`) and the editor's palette and inspector all read this.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "camgraph/types.h"

namespace camgraph {

class NodeContext;
struct ValueRenderer;  // preview.h
using json = nlohmann::json;

// What the editor's 3D viewport draws from an output over a scene upstream of the node. The kinds
// are a contract between the node families and the editor:
//   "camera_path": a CameraPath output, drawn as its track with camera frusta;
//   "billboards":  a Record {"billboards": [{foot, up, content, foot_px, height, cutout, ...}]}
//                  (docs/camera-motion.md), drawn in place with frame `cutout` of output `images`.
struct OverlaySpec {
  std::string kind;    // empty: no overlay
  std::string images;  // "billboards": the FrameSequence output holding the cutouts
  bool empty() const { return kind.empty(); }
};

struct PortSpec {
  std::string name;
  PortType type = PortType::Any;
  std::string doc;
  bool optional = false;  // inputs only: may be left unconnected
  OverlaySpec overlay;    // outputs only (see with_overlay)
};

// Declares an output's viewport overlay: with_overlay({"path", PortType::CameraPath, "..."}, "camera_path").
PortSpec with_overlay(PortSpec port, std::string kind, std::string images = {});

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Float;
  json default_value;                // must satisfy the constraints below
  std::optional<double> min, max;    // Int, Float, Seed
  std::vector<std::string> choices;  // Enum
  std::string doc;
  std::string file_filter;     // Path: e.g. "Images (*.png *.jpg)"; "dir" for folders
  bool is_input_file = false;  // Path: fingerprinted into the cache key
  bool multiline = false;      // String: prompts
  // False for parameters that cannot change the outputs (how often to send previews): they are
  // left out of the cache key and the graph hash, so editing them re-runs nothing.
  bool affects_outputs = true;
};

// Factories that keep specs readable: p_int("steps", 500, 1, 1e6, "training steps").
ParamSpec p_int(std::string name, int64_t def, double min, double max, std::string doc);
ParamSpec p_float(std::string name, double def, double min, double max, std::string doc);
ParamSpec p_bool(std::string name, bool def, std::string doc);
ParamSpec p_enum(std::string name, std::string def, std::vector<std::string> choices, std::string doc);
ParamSpec p_string(std::string name, std::string def, std::string doc);
ParamSpec p_text(std::string name, std::string def, std::string doc);  // multi-line (prompts)
// An input file or folder; its content fingerprint is part of the cache key.
ParamSpec p_input_path(std::string name, std::string def, std::string filter, std::string doc);
ParamSpec p_output_path(std::string name, std::string def, std::string doc);
ParamSpec p_colour(std::string name, std::string def, std::string doc);  // "#rrggbb[aa]"
ParamSpec p_seed(std::string name, int64_t def, std::string doc);
// Marks a parameter that cannot change the node's outputs (see ParamSpec::affects_outputs).
ParamSpec outputs_unaffected(ParamSpec p);

using ExecuteFn = std::function<void(NodeContext&)>;
// Upgrades a node's stored params from `from_version` to the next version, in place.
using ParamMigration = std::function<void(json& params, int from_version)>;

struct NodeSpec {
  std::string type;      // stable id, e.g. "splat.train"; written once
  int version = 1;       // bump when outputs for the same params change
  std::string category;  // palette group, e.g. "3D"
  std::string title;     // display name
  std::string doc;
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;
  std::vector<ParamSpec> params;
  bool is_output = false;  // writes files; a run's default targets
  bool cacheable = true;   // false: always re-run (e.g. reads a clock)
  ExecuteFn execute;
  ParamMigration migrate;  // optional: old params -> current
  // Optional: more cache-key material, computed from the canonical params and the graph's
  // folder before the node runs; for files a node finds itself that are too large to
  // content-hash (model weights: size + modification time), so replacing one re-runs the node.
  std::function<json(const json& params, const std::filesystem::path& graph_dir)> cache_stamp;

  const PortSpec* input(std::string_view name) const;
  const PortSpec* output(std::string_view name) const;
  const ParamSpec* param(std::string_view name) const;
  json to_json() const;  // everything but execute/migrate
};

// Every node type known to a process.
class Registry {
 public:
  void add(NodeSpec spec);  // throws on a duplicate type or an invalid spec
  const NodeSpec* find(std::string_view type) const;
  std::vector<const NodeSpec*> all() const;  // sorted by type
  json to_json() const;

  // Preview renderers keyed by value type (preview.h): a family registers how its values are
  // rendered for the editor's viewport, next to its nodes.
  void add_renderer(PortType type, ValueRenderer renderer);  // throws on a duplicate or an empty one
  const ValueRenderer* find_renderer(PortType type) const;   // nullptr when none is registered
  const ValueRenderer& renderer(PortType type) const;        // throws std::out_of_range naming the type

 private:
  std::map<std::string, std::shared_ptr<const NodeSpec>, std::less<>> specs_;
  std::map<PortType, std::shared_ptr<const ValueRenderer>> renderers_;
};

// Checks a parameter value against its spec; returns the normalised value (e.g. 3 -> 3.0 for Float)
// or throws GraphError naming `node_id` and the parameter.
json check_param(const std::string& node_id, const ParamSpec& spec, const json& value);
// Parses a command-line string ("0.5", "true", "left") as a value of the parameter's type.
json parse_param_text(const std::string& node_id, const ParamSpec& spec, const std::string& text);

}  // namespace camgraph
