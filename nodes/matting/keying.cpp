#include "matting/keying.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "matting/refine.h"

namespace camgraph::matting {

namespace {

// Border strip pixels, [N, 3] float RGB.
cv::Mat border_pixels(const cv::Mat& rgb, int b) {
  cv::Mat rows;
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x)
      if (y < b || y >= rgb.rows - b || x < b || x >= rgb.cols - b)
        rows.push_back(cv::Mat(rgb.at<cv::Vec3f>(y, x)).t());
  return rows;
}

std::string colour_text(const std::vector<cv::Vec3f>& cs) {
  std::string s;
  for (const auto& c : cs) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s(%.0f, %.0f, %.0f)", s.empty() ? "" : ", ", c[0] * 255, c[1] * 255, c[2] * 255);
    s += buf;
  }
  return s;
}

}  // namespace

KeyingResult key_plain_background(const cv::Mat& rgb, const KeyingOptions& opt) {
  CV_Assert(rgb.type() == CV_32FC3 && !rgb.empty());
  const int H = rgb.rows, W = rgb.cols;
  KeyingResult res;

  // 1. Background colours: k-means over the border strip. Clusters holding >= 10% of it are
  // candidates; when some are tight (median distance to the centre <= 0.04 and <= max(0.015, 2 x
  // the smallest)), only those are kept, so
  // a subject crossing the border (legs cut by the frame) is not taken for background.
  const int b = std::max(1, int(std::lround(opt.border_fraction * std::min(H, W))));
  const cv::Mat border = border_pixels(rgb, b);  // [N, 3]
  const int k = std::clamp(opt.max_colours, 1, border.rows);
  cv::Mat labels, centres;
  cv::theRNG().state = 0x6d617474;  // deterministic k-means seeding
  cv::kmeans(border, k, labels, cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 20, 1e-4), 3,
             cv::KMEANS_PP_CENTERS, centres);
  std::vector<int> count(size_t(k), 0);
  std::vector<std::vector<float>> dists(static_cast<size_t>(k));  // distances of each cluster's pixels to its centre
  for (int i = 0; i < labels.rows; ++i) {
    const int l = labels.at<int>(i);
    ++count[size_t(l)];
    dists[size_t(l)].push_back(float(cv::norm(border.at<cv::Vec3f>(i) - centres.at<cv::Vec3f>(l))));
  }
  // Spread: the median distance to the centre (robust to the mixed pixels at subject edges).
  std::vector<double> spread(size_t(k), 0);
  for (int c = 0; c < k; ++c) {
    auto& d = dists[size_t(c)];
    if (d.empty()) continue;
    std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
    spread[size_t(c)] = d[d.size() / 2];
  }
  std::vector<int> candidates, tight;
  double min_spread = 1e9;
  for (int c = 0; c < k; ++c)
    if (count[size_t(c)] >= 0.1 * border.rows) {
      candidates.push_back(c);
      min_spread = std::min(min_spread, spread[size_t(c)]);
    }
  // Tight: a plain colour, and not much looser than the plainest candidate (a dark, low-contrast
  // part of the subject can be compact too).
  for (int c : candidates)
    if (spread[size_t(c)] <= 0.04 && spread[size_t(c)] <= std::max(0.015, 2 * min_spread)) tight.push_back(c);
  const std::vector<int>& kept = tight.empty() ? candidates : tight;
  for (int c : kept) res.background_colours.push_back(centres.at<cv::Vec3f>(c));
  double noise = 0;
  int noise_n = 0;
  for (int c : kept) {
    noise += spread[size_t(c)] * count[size_t(c)];
    noise_n += count[size_t(c)];
  }
  res.border_noise = 1.5 * noise / std::max(1, noise_n);  // ~ RMS for Gaussian noise
  auto dist_to_bg = [&](const cv::Vec3f& p) {
    float best = 1e9f;
    for (const auto& c : res.background_colours) best = std::min(best, float(cv::norm(p - c)));
    return best;
  };
  // Textured backgrounds give a large noise: cap the tolerances so GrabCut still gets seeds.
  const double t_lo = opt.bg_tolerance > 0 ? opt.bg_tolerance : std::clamp(3 * res.border_noise, 0.03, 0.12);
  const double t_hi = std::max(2 * t_lo, 0.10);

  cv::Mat dist(H, W, CV_32F);  // colour distance to the nearest background colour
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) dist.at<float>(y, x) = dist_to_bg(rgb.at<cv::Vec3f>(y, x));
  if (cv::countNonZero(dist > t_hi) == 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  "no foreground: every pixel is within %.3f (RGB distance) of the background colour(s) ", t_hi);
    throw NoForeground(buf + colour_text(res.background_colours) + " sampled from the border");
  }

  // 2. GrabCut, seeded from the colour distance, on a copy no larger than grabcut_max_side.
  const double s = std::min(1.0, double(opt.grabcut_max_side) / std::max(H, W));
  cv::Mat small, dsmall;
  const cv::Size ssize(std::max(1, int(std::lround(W * s))), std::max(1, int(std::lround(H * s))));
  cv::resize(rgb, small, ssize, 0, 0, cv::INTER_AREA);
  cv::resize(dist, dsmall, ssize, 0, 0, cv::INTER_AREA);
  cv::Mat small8;
  small.convertTo(small8, CV_8UC3, 255.0);
  cv::Mat near_bg = dsmall < t_lo;
  cv::Mat cc;
  const int ncc = cv::connectedComponents(near_bg, cc, 4, CV_32S);
  std::vector<char> touches(size_t(ncc), 0);
  for (int y = 0; y < cc.rows; ++y)
    for (int x = 0; x < cc.cols; ++x)
      if (y == 0 || x == 0 || y == cc.rows - 1 || x == cc.cols - 1) touches[size_t(cc.at<int>(y, x))] = 1;
  cv::Mat gc(ssize, CV_8U);
  int n_fg = 0, n_bg = 0;
  for (int y = 0; y < gc.rows; ++y)
    for (int x = 0; x < gc.cols; ++x) {
      const float d = dsmall.at<float>(y, x);
      unsigned char v;
      if (d < t_lo) v = touches[size_t(cc.at<int>(y, x))] ? cv::GC_BGD : cv::GC_PR_BGD;
      else if (d > 0.5 * (t_lo + t_hi)) v = cv::GC_PR_FGD;
      else v = cv::GC_PR_BGD;
      (v == cv::GC_PR_FGD ? n_fg : n_bg)++;
      gc.at<unsigned char>(y, x) = v;
    }
  if (n_fg == 0) {  // the foreground vanished in the downscale: seed its most distinct pixel
    cv::Point p;
    cv::minMaxLoc(dsmall, nullptr, nullptr, nullptr, &p);
    gc.at<unsigned char>(p) = cv::GC_PR_FGD;
  }
  if (n_bg == 0)
    throw NoForeground("no background: no pixel matches the border colours " + colour_text(res.background_colours));
  cv::Mat bgd_model, fgd_model;
  cv::grabCut(small8, gc, cv::Rect(), bgd_model, fgd_model, opt.grabcut_iterations, cv::GC_INIT_WITH_MASK);
  cv::Mat hard_small;
  cv::Mat((gc == cv::GC_FGD) | (gc == cv::GC_PR_FGD)).convertTo(hard_small, CV_32F, 1.0 / 255);
  cv::Mat hard_f;
  cv::resize(hard_small, hard_f, rgb.size(), 0, 0, cv::INTER_LINEAR);
  const cv::Mat hard = hard_f > 0.5;  // CV_8U 0/255
  if (cv::countNonZero(hard) == 0)
    throw NoForeground("no foreground: GrabCut assigned every pixel to the background colour(s) " +
                       colour_text(res.background_colours));

  // 3. Trimap around the GrabCut boundary, soft alpha in it, decontaminated colours.
  const int band = opt.band > 0 ? opt.band : std::max(2, int(std::lround(std::min(H, W) / 200.0)));
  res.trimap = trimap_from_mask(hard, band);
  {
    cv::Mat near_fg;
    const int reach = 3 * band;
    cv::dilate(hard, near_fg, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * reach + 1, 2 * reach + 1)));
    res.trimap.setTo(kTrimapUnknown, (res.trimap == kTrimapBg) & near_fg & (dist > t_lo));
    // Background-coloured pixels GrabCut put inside the subject (small enclosed holes) are not
    // sure foreground: they would pass the background colour into the foreground estimate. In the
    // band, alpha follows the colour line unless the nearby foreground is itself close to the
    // background colour (white on white), where refine keeps GrabCut's answer.
    res.trimap.setTo(kTrimapUnknown, (res.trimap == kTrimapFg) & (dist < t_lo));
  }
  if (cv::countNonZero(res.trimap == kTrimapFg) == 0) {  // thin structures: keep their most distinct pixels
    double dmax = 0;
    cv::minMaxLoc(dist, nullptr, &dmax, nullptr, nullptr, hard);
    res.trimap.setTo(kTrimapFg, hard & (dist >= 0.9 * dmax));
  }
  cv::Mat prior;
  hard.convertTo(prior, CV_32F, 1.0 / 255);
  res.alpha = opt.soft_edges ? refine_alpha(rgb, res.trimap, prior, opt.refine) : prior;
  res.foreground = opt.decontaminate ? decontaminate(rgb, res.alpha) : rgb.clone();
  return res;
}

}  // namespace camgraph::matting
