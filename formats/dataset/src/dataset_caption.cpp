// Caption wording of camera motion records (camgraph/formats/dataset_caption.h).
#include "camgraph/formats/dataset_caption.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace camgraph::dataset {

using nlohmann::json;

namespace {

const MotionVerb* verb_of(const std::string& type) {
  for (const auto& v : motion_verbs())
    if (type == v.type) return &v;
  return nullptr;
}

std::string direction_of(const json& m) {
  return m.contains("direction") && m["direction"].is_string() ? m["direction"].get<std::string>() : "";
}

std::string phrase(const json& m, bool gerund) {
  const MotionVerb* v = verb_of(m.value("type", ""));
  std::string s = v ? (gerund ? v->gerund : v->third) : (gerund ? "moving" : "moves");
  const std::string direction = direction_of(m);
  if (!direction.empty()) s += " " + direction;
  const std::string speed = m.contains("speed") && m["speed"].is_string() ? m["speed"].get<std::string>() : "";
  if (speed == "slow") s += " slowly";
  else if (speed == "fast") s += " quickly";
  return s;
}

std::pair<double, double> range_of(const json& m) {
  if (m.contains("frames") && m["frames"].is_array() && m["frames"].size() == 2 && m["frames"][0].is_number() &&
      m["frames"][1].is_number())
    return {m["frames"][0].get<double>(), m["frames"][1].get<double>()};
  return {0, 0};
}

std::vector<json> moving_records(const json& motion) {
  std::vector<json> moves;
  if (motion.is_array())
    for (const auto& m : motion)
      if (m.is_object() && m.value("type", "") != "static") moves.push_back(m);
  return moves;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// `phrase` occurs in `text` as whole words.
bool has_words(const std::string& text, const std::string& phrase) {
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
  for (size_t p = text.find(phrase); p != std::string::npos; p = text.find(phrase, p + 1)) {
    const bool start_ok = p == 0 || !word_char(text[p - 1]);
    const size_t end = p + phrase.size();
    const bool end_ok = end == text.size() || !word_char(text[end]);
    if (start_ok && end_ok) return true;
  }
  return false;
}

}  // namespace

const std::vector<MotionVerb>& motion_verbs() {
  static const std::vector<MotionVerb> verbs = {
      {"pan", "pans", "panning"},
      {"tilt", "tilts", "tilting"},
      {"roll", "rolls", "rolling"},
      {"truck", "trucks", "trucking"},
      {"pedestal", "pedestals", "pedestaling"},
      {"dolly", "dollies", "dollying"},
      {"zoom", "zooms", "zooming"},
      {"orbit", "orbits", "orbiting"},
      {"arc", "arcs", "arcing"},
      {"crane", "cranes", "craning"},
      {"dolly_zoom", "dolly-zooms", "dolly-zooming"},
      {"keyframes", "moves along a keyframed path", "moving along a keyframed path"}};
  return verbs;
}

std::string describe_motion(const json& motion) {
  std::vector<json> moves = moving_records(motion);
  if (moves.empty()) return "static camera";
  std::stable_sort(moves.begin(), moves.end(),
                   [](const json& a, const json& b) { return range_of(a).first < range_of(b).first; });
  std::string s = "camera " + phrase(moves[0], false);
  double end = range_of(moves[0]).second;
  for (size_t i = 1; i < moves.size(); ++i) {
    const auto [first, last] = range_of(moves[i]);
    if (first < end) s += " while " + phrase(moves[i], true);  // overlapping frame ranges
    else s += ", then " + phrase(moves[i], false);
    end = std::max(end, last);
  }
  return s;
}

std::vector<std::string> caption_motion_problems(const std::string& caption, const json& motion) {
  std::vector<std::string> problems;
  const std::string text = lower(caption);
  const std::vector<json> moves = moving_records(motion);
  const bool says_static = has_words(text, "static camera");
  if (moves.empty()) {
    if (!says_static) problems.push_back("the motion record is static but the caption does not say \"static camera\"");
  } else if (says_static) {
    problems.push_back("the caption says \"static camera\" but the motion record moves");
  }
  std::set<std::string> recorded;
  for (const json& m : moves) {
    const std::string type = m.value("type", "");
    recorded.insert(type);
    const MotionVerb* v = verb_of(type);
    if (!v) continue;  // a type this vocabulary does not word: nothing to compare
    const std::string direction = direction_of(m);
    const std::string suffix = direction.empty() ? "" : " " + lower(direction);
    if (!has_words(text, v->third + suffix) && !has_words(text, v->gerund + suffix))
      problems.push_back("the motion record is " + type + (direction.empty() ? "" : " " + direction) +
                         " but the caption does not say \"" + v->third + suffix + "\"");
  }
  for (const auto& v : motion_verbs()) {
    if (recorded.count(v.type)) continue;
    // "dolly-zooms" contains neither "dollies" nor "zooms" as whole words, so no overlap between verbs.
    if (has_words(text, v.third) || has_words(text, v.gerund))
      problems.push_back(std::string("the caption says \"") + (has_words(text, v.third) ? v.third : v.gerund) +
                         "\" but no motion record is " + v.type);
  }
  return problems;
}

}  // namespace camgraph::dataset
