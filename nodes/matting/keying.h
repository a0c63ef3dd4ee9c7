// Weight-free background removal for images on a plain background (the seeds generate characters
// "on a plain white background"): background colours from the border, a trimap, GrabCut, then a
// soft alpha at the boundary and foreground colour decontamination.
// Images are cv::Mat CV_32FC3 RGB in [0, 1]; alphas CV_32FC1 in [0, 1].
#pragma once
#include <opencv2/core.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "matting/refine.h"

namespace camgraph::matting {

struct KeyingOptions {
  double border_fraction = 0.02;  // border strip sampled for background colours (of the shorter side)
  int max_colours = 3;            // background colour clusters tried
  double bg_tolerance = 0.0;      // colour distance (RGB, 0..sqrt 3) surely background; 0: from border noise
  int grabcut_iterations = 5;
  int grabcut_max_side = 640;  // GrabCut runs on a copy no larger than this
  int band = 0;                // unknown band (pixels each side of the GrabCut boundary); 0: automatic
                               // (background-side pixels that differ from the background colour
                               // within 3 bands of the foreground are unknown too: faint wisps)
  bool soft_edges = true;      // estimate a soft alpha in the band (else: the hard GrabCut mask)
  RefineOptions refine;        // how the soft alpha is estimated
  bool decontaminate = true;   // remove the background colour from edge pixels
};

struct KeyingResult {
  cv::Mat alpha;                              // CV_32FC1
  cv::Mat foreground;                         // CV_32FC3, decontaminated (or the input)
  cv::Mat trimap;                             // CV_8UC1 (refine.h's values)
  std::vector<cv::Vec3f> background_colours;  // RGB
  double border_noise = 0;  // ~RMS colour distance of the kept border pixels to their colour (1.5 x median)
};

// Thrown when nothing stands out from the background.
struct NoForeground : std::runtime_error {
  using std::runtime_error::runtime_error;
};

KeyingResult key_plain_background(const cv::Mat& rgb, const KeyingOptions& opt = {});

}  // namespace camgraph::matting
