// Image + depth + camera -> 3D Gaussians: one per pixel or per block, sized to the pixel footprint,
// flattened along the depth surface, split at depth discontinuities; the camera displacement
// before disoccluded holes exceed a fraction of the frame; hole filling from extra views
// (OpenCV inpainting) and a short photometric refinement.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "camgraph/camera.h"
#include "splat/io/gaussians.h"

namespace camgraph::depth {

struct LiftOptions {
  int block = 1;                // pixels per Gaussian side (1: one Gaussian per pixel)
  double discontinuity = 0.04;  // relative depth jump between neighbours that counts as an edge
  double footprint = 0.6;       // Gaussian std. dev. along the surface, in pixel footprints
  double thickness = 0.1;       // std. dev. along the surface normal, relative to the footprint
  double grazing_cap = 8.0;     // the footprint on grazing surfaces is capped at this x the frontal one
  double opacity = 0.98;
  double max_depth = 0;  // > 0: pixels deeper than this are dropped
};

struct LiftStats {
  int64_t gaussians = 0;
  int64_t block_gaussians = 0;  // from smooth blocks
  int64_t pixel_gaussians = 0;  // from blocks split at a discontinuity (and the image's remainder strips)
  int64_t split_blocks = 0;
  int64_t edge_pixels = 0;  // pixels whose surface frame used a one-sided or frontal difference
};

// rgb [H, W, 3] float in [0, 1]; depth [H, W] camera-space z (<= 0: no surface); valid [H, W] bool
// or undefined (all). Returns Gaussians in world coordinates, SH degree 0.
splat::GaussianSet lift(const at::Tensor& rgb, const at::Tensor& depth, const Camera& camera,
                        const LiftOptions& options, const at::Tensor& valid = {}, LiftStats* stats = nullptr);

// Concatenates Gaussian sets of the same SH degree.
splat::GaussianSet concat(const splat::GaussianSet& a, const splat::GaussianSet& b);

// The source camera moved by `distance` along one of its own axes: "right", "left", "up", "down",
// "forward", "back" (right = +x, up = -y, forward = +z in camera axes).
Camera moved_camera(const Camera& source, const std::string& direction, double distance);
const std::vector<std::string>& move_directions();

struct RenderedView {
  at::Tensor rgb, alpha, depth;  // [H, W, 3], [H, W], [H, W] on the CPU
};
RenderedView render_view(const splat::GaussianSet& g, const Camera& camera);

// Fraction of the frame with accumulated alpha < 0.5 (disoccluded or outside the source view).
double hole_fraction(const splat::GaussianSet& g, const Camera& camera);

struct DisplacementLimit {
  double hole_threshold = 0.02;  // the stated fraction
  double limit = 0;              // min over directions (scene units; metres for metric depth)
  nlohmann::json per_direction = nlohmann::json::object();  // direction -> distance
  nlohmann::json to_json() const;
};
// For each direction: the largest move (bracketed by doubling from 0.1% of the median depth, then
// bisected to 2% of the move) whose hole fraction stays <= threshold; renders at most
// `render_width` pixels wide. `max_distance` caps the search (a direction that never exceeds the
// threshold reports the cap).
DisplacementLimit displacement_limit(const splat::GaussianSet& g, const Camera& source, double median_depth,
                                     double hole_threshold, double max_distance, int render_width = 160);

// Background-biased depth for holes: known depth spread outward by the local maximum, then
// OpenCV Telea inpainting; colour by Telea inpainting. rgb [H, W, 3], depth [H, W], holes [H, W] bool.
void inpaint_view(at::Tensor& rgb, at::Tensor& depth, const at::Tensor& holes, double radius_px);

struct RefineView {
  Camera camera;
  at::Tensor target;  // [H, W, 3]
  at::Tensor weight;  // [H, W] or undefined (all 1)
};
// Short photometric refinement (L1, Adam on every Gaussian parameter) cycling over the views.
// Returns the final mean L1.
double refine(splat::GaussianSet& g, const std::vector<RefineView>& views, int steps, double extent,
              const std::function<bool()>& cancelled = {});

}  // namespace camgraph::depth
