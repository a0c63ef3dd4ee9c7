// Weight-free frame interpolation: dense optical flow both ways (OpenCV DIS), both frames warped to
// time t, blended with occlusion weights from forward-backward flow consistency.
//
// For a pair (I0, I1) with flows F01 (I0 -> I1) and F10 (I1 -> I0), the flows from the
// intermediate frame back to the inputs come from forward splatting: every pixel x0 of I0 lands at
// x0 + t F01(x0) and gives F_t0 = -t F01(x0), F_t1 = (1 - t) F01(x0); likewise every pixel of I1
// lands at x1 + (1 - t) F10(x1). Where both land the more consistent one (smaller
// forward-backward error) wins; small holes take the mean of their neighbours, and what is still
// empty uses the linear guess of Super SloMo (Jiang et al.):
//   F_t0 = -(1 - t) t F01 + t^2 F10,      F_t1 = (1 - t)^2 F01 - t (1 - t) F10
// Both intermediate flows then go through a 5x5 median three times: isolated wrong vectors (DIS
// outliers, a splat that won by a tie) would otherwise pull single pixels from the wrong place,
// which costs SSIM more than PSNR.
// I0 and I1 are sampled at x + F_t0 and x + F_t1; each sample is weighted by its time distance
// ((1 - t) for I0, t for I1) times exp(-(e / sigma)^2), e the forward-backward error of the
// source pixel (|F01(x) + F10(x + F01(x))|): a pixel that disappears in the other frame is not
// trusted. Works on CV_32FC3 images (any channel order) in [0, 1].
#pragma once
#include <opencv2/core.hpp>

namespace camgraph::interp {

struct FlowOptions {
  int preset = 2;                 // cv::DISOpticalFlow preset: 0 ultrafast, 1 fast, 2 medium
  float occlusion_sigma = 0.25f;  // pixels of forward-backward error at which trust falls to 1/e
  int finest_scale = 0;           // DIS finest scale (-1: the preset's; medium's is 1 = half size); 0 = full size
  bool variational_refinement = true;
  int patch_stride = -1;           // DIS patch stride (-1: the preset's, 3 for medium; smaller = denser, slower)
  int refinement_iterations = -1;  // variational refinement iterations (-1: the preset's)
  bool splat = true;               // intermediate flows by forward splatting (else the linear guess only)
  // Brightness-constancy error |I_a(x) - I_b(x + F_ab(x))| (mean over channels, [0, 1] units) at
  // which trust in a source pixel falls to 1/e, on top of the forward-backward weight (0: off).
  float photometric_sigma = 0.03f;
  int flow_median = 5;         // median filter (3 or 5) on the intermediate flows after splatting (0: off)
  int flow_median_passes = 3;  // how often the median is applied (repeated 5x5 passes ~ a wider median)
  int input_median = 0;        // median filter (3 or 5) on both DIS flows before splatting (0: off)
  bool cubic_warp = false;     // sample the images bicubically (sharper) instead of bilinearly
};

// Flows of one frame pair, computed once and reused for every t.
struct FlowPair {
  cv::Mat image0, image1;  // CV_32FC3
  cv::Mat flow01, flow10;  // CV_32FC2, pixels
  cv::Mat error0, error1;  // CV_32FC1 forward-backward error of each frame's pixels
  cv::Mat photo0, photo1;  // CV_32FC1 brightness-constancy error of each frame's pixels
};

FlowPair compute_flow_pair(const cv::Mat& image0, const cv::Mat& image1, const FlowOptions& options = {});
// The frame at time t in [0, 1] (t = 0 and t = 1 return the inputs exactly).
cv::Mat interpolate_flow(const FlowPair& pair, float t, const FlowOptions& options = {});
// Plain cross-fade (reference point for benchmarks).
cv::Mat interpolate_blend(const cv::Mat& image0, const cv::Mat& image1, float t);
// Sample `image` at x + flow(x) (bilinear, border replicate).
cv::Mat warp_by_flow(const cv::Mat& image, const cv::Mat& flow, bool cubic = false);

}  // namespace camgraph::interp
