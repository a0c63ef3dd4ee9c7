// depth family tests: what the test files share (paths, the pattern image of make_tiny_models.py,
// golden comparisons, a graph run with its warnings, a courtyard view with exact depth).
#pragma once
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"
#include "splat/procedural_scene.h"
#include "test_support.h"

namespace camgraph::depth::tests {

namespace fs = std::filesystem;
using nlohmann::json;

inline const fs::path kSource = CAMGRAPH_SOURCE_DIR;
inline const fs::path kGolden = kSource / "nodes/depth/tests/golden";
inline const fs::path kTinyDa = kGolden / "da_v2_tiny.pth";  // Depth Anything V2, tiny random weights

inline json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// The image of make_tiny_models.py.
inline cv::Mat pattern(int h, int w) {
  cv::Mat img(h, w, CV_32FC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<cv::Vec3f>(y, x) = {float(((x * 37 + y * 11) % 64) / 63.0), float(((x * 5 + y * 23) % 50) / 49.0),
                                 float(((x * x + y) % 31) / 30.0)};
  return img;
}

inline double max_golden_diff(const cv::Mat& out, const json& g) {
  const int step = g["step"];
  double worst = 0;
  const auto& rows = g["values"];
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j)
      worst = std::max(worst, std::abs(out.at<float>(int(i) * step, int(j) * step) - rows[i][j].get<double>()));
  return worst;
}

struct NodeRun {
  RunResult result;
  std::map<std::string, Value> outputs;
  std::vector<std::string> warnings;
};

inline NodeRun run_graph(const json& nodes, const json& links, const std::string& target, const fs::path& dir) {
  const json doc = {{"format", "camgraph"}, {"version", 1}, {"graph", {{"nodes", nodes}, {"links", links}}}};
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir;
  opt.graph_dir = dir;
  opt.targets = {target};
  NodeRun r;
  opt.on_event = [&](const Event& e) {
    if (e.kind == EventKind::Warning) r.warnings.push_back(e.message);
  };
  r.result = ev.run(load_cgraph_text(doc.dump(), builtin_registry()).graph, opt);
  if (r.result.ok) r.outputs = ev.outputs(target);
  return r;
}

template <class V>
inline std::shared_ptr<const V> out(const NodeRun& r, const std::string& port) {
  return std::dynamic_pointer_cast<const V>(r.outputs.at(port));
}

inline double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return 10 * std::log10(1 / std::max(mse, 1e-12));
}

// A courtyard view with exact depth.
struct Courtyard {
  Camera cam;
  splat::ProceduralRender r;
};
inline Courtyard courtyard(int w = 96, int h = 72) {
  Courtyard c;
  c.cam = splat::courtyard_ring(1, 1, w, h, 60, 2.3, 1.2, 1.2)[0];
  c.r = splat::render_courtyard(c.cam, 2);
  return c;
}

}  // namespace camgraph::depth::tests
