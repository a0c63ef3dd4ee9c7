// The dataset report as terminal text and JSON, and the dataset card (README.md).
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "camgraph/dataset_report.h"
#include "camgraph/formats/dataset_caption.h"

namespace camgraph::report {

using nlohmann::json;

namespace {

std::string counts_line(const std::map<std::string, size_t>& values) {
  std::string s;
  for (const auto& [v, n] : values) s += (s.empty() ? "" : ", ") + v + " " + std::to_string(n);
  return s;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Min / median / max of a score (values sorted worst first).
std::string distribution(const ScoreSummary& s) {
  std::vector<double> v;
  for (const auto& [x, id] : s.values) v.push_back(x);
  std::sort(v.begin(), v.end());
  return "min " + fmt(v.front()) + ", median " + fmt(v[v.size() / 2]) + ", max " + fmt(v.back());
}

std::string size_category(size_t n) {
  if (n < 1000) return "n<1K";
  if (n < 10000) return "1K<n<10K";
  if (n < 100000) return "10K<n<100K";
  return "100K<n<1M";
}

}  // namespace

const std::vector<std::string>& count_categories() {
  static const std::vector<std::string> c = {"camera move", "direction", "intensity", "scene",
                                             "character",   "action",    "weather"};
  return c;
}

const std::vector<std::string>& shape_keys() {
  static const std::vector<std::string> k = {"size", "fps", "frames"};
  return k;
}

std::string report_text(const DatasetReport& r) {
  std::ostringstream o;
  o << "dataset " << r.folder.string() << ": " << r.items.size() << " item(s), " << r.problems.size() << " problem(s)"
    << (r.videos_decoded ? "" : " (videos not decoded)") << "\n";
  for (const auto& c : count_categories())
    if (auto it = r.counts.find(c); it != r.counts.end()) o << "  " << c << ": " << counts_line(it->second) << "\n";
  for (const auto& c : shape_keys()) {
    auto it = r.shape_counts.find(c);
    if (it == r.shape_counts.end()) continue;
    o << "  " << c << ": " << counts_line(it->second);
    if (auto nu = r.non_uniform.find(c); nu != r.non_uniform.end()) {
      o << "  NOT UNIFORM:";
      for (const auto& id : nu->second) o << " " << id;
    }
    o << "\n";
  }
  if (r.qc_checked) o << "QC: " << r.qc_checked << " item(s) checked, " << r.qc_failed << " failed\n";
  if (r.label_checked)
    o << "label truth: " << r.label_agreed << " of " << r.label_checked
      << " camera-motion labels agree with the pixels\n";
  for (const auto& s : r.scores) {
    o << "  " << s.path << " (" << (s.higher_is_better ? "higher" : "lower") << " is better): " << distribution(s)
      << "; worst:";
    for (size_t i = 0; i < std::min<size_t>(3, s.values.size()); ++i)
      o << " " << s.values[i].second << " (" << fmt(s.values[i].first) << ")";
    o << "\n";
  }
  if (!r.problems.empty()) {
    o << "problems:\n";
    for (const auto& p : r.problems) o << "  [" << p.item << "] " << p.what << "\n";
  }
  return o.str();
}

json report_json(const DatasetReport& r) {
  json j;
  j["folder"] = r.folder.string();
  j["items"] = r.items.size();
  j["videos_decoded"] = r.videos_decoded;
  j["counts"] = r.counts;
  j["shape_counts"] = r.shape_counts;
  j["non_uniform"] = r.non_uniform;
  j["qc"] = {{"checked", r.qc_checked}, {"failed", r.qc_failed}};
  j["label_truth"] = {{"checked", r.label_checked}, {"agreed", r.label_agreed}};
  json scores = json::object();
  for (const auto& s : r.scores) {
    json worst = json::array();
    for (size_t i = 0; i < std::min<size_t>(5, s.values.size()); ++i)
      worst.push_back({{"id", s.values[i].second}, {"value", s.values[i].first}});
    scores[s.path] = {{"higher_is_better", s.higher_is_better}, {"items", s.values.size()}, {"worst", worst}};
  }
  j["scores"] = scores;
  json problems = json::array();
  for (const auto& p : r.problems) problems.push_back({{"item", p.item}, {"problem", p.what}});
  j["problems"] = problems;
  return j;
}

std::string dataset_card(const DatasetReport& r, const std::string& license) {
  std::ostringstream o;
  // The YAML header dataset hubs read: the videos and metadata.jsonl as one video-folder split.
  o << "---\n"
    << "license: " << license << "\n"
    << "task_categories:\n- text-to-video\n- image-to-video\n"
    << "tags:\n- camera-control\n- synthetic\n- camgraph\n"
    << "size_categories:\n- " << size_category(r.items.size()) << "\n"
    << "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path:\n"
    << "    - metadata.jsonl\n    - videos/*.mp4\n"
    << "---\n\n";
  o << "# " << r.folder.filename().string() << "\n\n"
    << "Synthetic videos with the exact camera motion of each clip, made by CamGraph"
    << (r.camgraph_versions.empty() ? "" : " " + r.camgraph_versions.front()) << ". " << r.items.size()
    << " clip(s); each line of `metadata.jsonl` names its video (`file_name`), caption (`text`), motion records "
       "(`motion`), camera poses (`poses`, RealEstate10K text) and cameras (`cameras`, JSON).\n\n";
  o << "## Counts\n\n| | |\n|---|---|\n";
  for (const auto& c : count_categories())
    if (auto it = r.counts.find(c); it != r.counts.end()) o << "| " << c << " | " << counts_line(it->second) << " |\n";
  for (const auto& c : shape_keys())
    if (auto it = r.shape_counts.find(c); it != r.shape_counts.end())
      o << "| " << c << " | " << counts_line(it->second) << " |\n";
  if (r.qc_checked) o << "| QC passed | " << (r.qc_checked - r.qc_failed) << " of " << r.qc_checked << " |\n";
  o << "\n## Camera-move vocabulary\n\nCaptions word the motion records with these verbs (`type` -> caption): ";
  bool first = true;
  for (const auto& v : dataset::motion_verbs()) {
    o << (first ? "" : ", ") << "`" << v.type << "` -> \"" << v.third << "\"";
    first = false;
  }
  o << "; a clip without motion is a \"static camera\". Directions follow the verb (\"pans left\", \"dollies in\"); "
       "speeds add \"slowly\" / \"quickly\".\n\n";
  o << "## Pose convention\n\n`poses/<id>.txt` (RealEstate10K, read unchanged by CameraCtrl, CamI2V, AC3D): line 1 "
       "the item id, then one line per frame of 19 numbers: `timestamp_us fx/W fy/H cx/W cy/H 0 0` and the 3x4 "
       "world-to-camera matrix, row-major, OpenCV axes (x right, y down, z forward).\n\n";
  if (!r.sample_pose_line.empty()) o << "```\n" << r.sample_pose_line << "\n```\n\n";
  o << "## Provenance\n\n";
  o << "- generating graph hash(es): ";
  if (r.graph_hashes.empty()) o << "not recorded";
  for (size_t i = 0; i < r.graph_hashes.size(); ++i) o << (i ? ", " : "") << "`" << r.graph_hashes[i] << "`";
  o << "\n- CamGraph: ";
  if (r.camgraph_versions.empty()) o << "not recorded";
  for (size_t i = 0; i < r.camgraph_versions.size(); ++i) o << (i ? ", " : "") << r.camgraph_versions[i];
  o << "\n- encoder: ";
  if (r.encoders.empty()) o << "not recorded";
  for (size_t i = 0; i < r.encoders.size(); ++i) o << (i ? ", " : "") << r.encoders[i];
  o << "\n";
  return o.str();
}

}  // namespace camgraph::report
