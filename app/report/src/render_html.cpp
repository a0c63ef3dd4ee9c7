// The dataset report as one self-contained HTML page: counts and score histograms as inline SVG, the
// problems, and a contact sheet of each item's first / middle / last frame (JPEG data URIs).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "camgraph/dataset_report.h"

namespace camgraph::report {

namespace {

std::string escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  o.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = uint8_t(bytes[i]), b1 = i + 1 < bytes.size() ? uint8_t(bytes[i + 1]) : 0,
                   b2 = i + 2 < bytes.size() ? uint8_t(bytes[i + 2]) : 0;
    const uint32_t n = b0 << 16 | b1 << 8 | b2;
    o += k[n >> 18 & 63];
    o += k[n >> 12 & 63];
    o += i + 1 < bytes.size() ? k[n >> 6 & 63] : '=';
    o += i + 2 < bytes.size() ? k[n & 63] : '=';
  }
  return o;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Horizontal bars, one per value, labelled with the value and its count.
std::string bar_chart(const std::string& title, const std::map<std::string, size_t>& values) {
  size_t top = 1;
  for (const auto& [v, n] : values) top = std::max(top, n);
  const int row = 18, label_w = 220, bar_w = 300;
  std::ostringstream o;
  o << "<figure class=\"chart\" data-chart=\"" << escape(title) << "\"><figcaption>" << escape(title)
    << "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << label_w + bar_w + 60 << "\" height=\""
    << row * values.size() + 4 << "\">";
  int y = 2;
  for (const auto& [v, n] : values) {
    const double w = double(bar_w) * double(n) / double(top);
    const std::string label = v.size() > 34 ? v.substr(0, 33) + "…" : v;
    o << "<text x=\"" << label_w - 6 << "\" y=\"" << y + 13 << "\" text-anchor=\"end\">" << escape(label) << "</text>"
      << "<rect class=\"bar\" x=\"" << label_w << "\" y=\"" << y + 2 << "\" width=\"" << fmt(std::max(1.0, w))
      << "\" height=\"" << row - 4 << "\"><title>" << escape(v) << ": " << n << "</title></rect>"
      << "<text x=\"" << label_w + w + 6 << "\" y=\"" << y + 13 << "\">" << n << "</text>";
    y += row;
  }
  o << "</svg></figure>\n";
  return o.str();
}

// A 12-bin histogram of one QC score.
std::string histogram(const ScoreSummary& s) {
  double lo = s.values.front().first, hi = lo;
  for (const auto& [v, id] : s.values) lo = std::min(lo, v), hi = std::max(hi, v);
  const int bins = 12, w = 360, h = 100;
  std::vector<size_t> count(bins, 0);
  const double span = hi > lo ? hi - lo : 1.0;
  for (const auto& [v, id] : s.values) count[std::min(bins - 1, int((v - lo) / span * bins))]++;
  const size_t top = std::max<size_t>(1, *std::max_element(count.begin(), count.end()));
  std::ostringstream o;
  o << "<figure class=\"chart\" data-chart=\"" << escape(s.path) << "\"><figcaption>" << escape(s.path) << " ("
    << (s.higher_is_better ? "higher" : "lower") << " is better)</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
    << "width=\"" << w << "\" height=\"" << h + 18 << "\">";
  for (int b = 0; b < bins; ++b) {
    const double bh = double(h) * double(count[b]) / double(top);
    o << "<rect class=\"bar\" x=\"" << b * w / bins + 1 << "\" y=\"" << fmt(h - bh) << "\" width=\"" << w / bins - 2
      << "\" height=\"" << fmt(bh) << "\"><title>" << count[b] << " item(s)</title></rect>";
  }
  o << "<text x=\"0\" y=\"" << h + 14 << "\">" << fmt(lo) << "</text><text x=\"" << w << "\" y=\"" << h + 14
    << "\" text-anchor=\"end\">" << fmt(hi) << "</text></svg><p>worst:";
  for (size_t i = 0; i < std::min<size_t>(5, s.values.size()); ++i)
    o << " <a href=\"#item-" << escape(s.values[i].second) << "\">" << escape(s.values[i].second) << "</a> ("
      << fmt(s.values[i].first) << ")";
  o << "</p></figure>\n";
  return o.str();
}

const char* kStyle = R"(body{font-family:sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{margin:0}figcaption{font-weight:bold;margin-bottom:4px}
svg text{font-size:12px;fill:#333}.bar{fill:#4a78b5}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
.problems td{color:#a00}.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
.item{border:1px solid #ddd;padding:6px}.item img{width:160px;margin-right:2px}.item p{margin:4px 0;font-size:13px}
.fail{color:#a00;font-weight:bold}.ok{color:#070})";

}  // namespace

std::string report_html(const DatasetReport& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Dataset report: "
    << escape(r.folder.filename().string()) << "</title><style>" << kStyle << "</style></head><body>\n";
  o << "<h1>Dataset report: " << escape(r.folder.string()) << "</h1>\n<p id=\"summary\">" << r.items.size()
    << " item(s), <span id=\"problem-count\">" << r.problems.size() << "</span> problem(s)";
  if (r.qc_checked) o << "; QC passed " << r.qc_checked - r.qc_failed << " of " << r.qc_checked;
  if (r.label_checked)
    o << "; camera-motion labels agreeing with the pixels " << r.label_agreed << " of " << r.label_checked;
  if (!r.videos_decoded) o << " (videos not decoded)";
  o << "</p>\n";
  o << "<h2>Problems</h2>\n";
  if (r.problems.empty()) o << "<p class=\"ok\">None found.</p>\n";
  else {
    o << "<table class=\"problems\"><tr><th>item</th><th>problem</th></tr>\n";
    for (const auto& p : r.problems)
      o << "<tr><td>" << escape(p.item) << "</td><td>" << escape(p.what) << "</td></tr>\n";
    o << "</table>\n";
  }
  o << "<h2>Counts</h2>\n<div class=\"charts\">\n";
  for (const auto& name : count_categories())
    if (auto it = r.counts.find(name); it != r.counts.end()) o << bar_chart(name, it->second);
  o << "</div>\n<h2>Size, frame rate, length</h2>\n<div class=\"charts\">\n";
  for (const auto& name : shape_keys())
    if (auto it = r.shape_counts.find(name); it != r.shape_counts.end()) o << bar_chart(name, it->second);
  o << "</div>\n";
  for (const auto& [name, ids] : r.non_uniform) {
    o << "<p class=\"fail\">Not uniform in " << escape(name) << ":";
    for (const auto& id : ids) o << " " << escape(id);
    o << "</p>\n";
  }
  if (!r.scores.empty()) {
    o << "<h2>QC scores</h2>\n<div class=\"charts\">\n";
    for (const auto& s : r.scores) o << histogram(s);
    o << "</div>\n";
  }
  o << "<h2>Contact sheet</h2>\n<p>First, middle and last frame of each item.</p>\n<div class=\"sheet\">\n";
  for (const auto& it : r.items) {
    o << "<div class=\"item\" id=\"item-" << escape(it.id) << "\"><p><b>" << escape(it.id) << "</b> "
      << escape(it.camera_move) << ", " << it.width << "x" << it.height << ", " << it.frames << " frames @ "
      << fmt(it.fps) << " fps";
    if (it.has_qc) o << (it.qc_pass ? " <span class=\"ok\">QC pass</span>" : " <span class=\"fail\">QC fail</span>");
    o << "</p><div>";
    static const char* kWhich[] = {"first", "middle", "last"};
    for (size_t k = 0; k < it.thumbnails.size(); ++k)
      if (!it.thumbnails[k].empty())
        o << "<img alt=\"" << kWhich[k] << " frame of " << escape(it.id) << "\" src=\"data:image/jpeg;base64,"
          << base64(it.thumbnails[k]) << "\">";
    if (it.thumbnails.empty()) o << "<p>(no frames: the video was not decoded)</p>";
    o << "</div><p>" << escape(it.caption) << "</p></div>\n";
  }
  o << "</div>\n</body></html>\n";
  return o.str();
}

}  // namespace camgraph::report
