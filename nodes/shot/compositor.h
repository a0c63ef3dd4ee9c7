// Billboards in a splat render: ray-plane rendering of an RGBA cutout (premultiplied, bilinear,
// pre-filtered when minified, supersampled edges), depth ordering against the splats (the Gaussians
// are split by the billboard's plane), a soft contact shadow on the ground and a global
// colour/brightness match.
// Tensors are CPU float32, images [H, W, C] (channels last), one frame at a time.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>

#include "camera/geometry.h"

namespace camgraph::shot {

// One image layer, premultiplied: colour already multiplied by alpha.
struct Layer {
  at::Tensor rgb;    // [H, W, 3] premultiplied
  at::Tensor alpha;  // [H, W]
  at::Tensor depth;  // [H, W] camera z (0 where alpha == 0)
};

// The cutout (straight RGBA [h, w, 4], exactly the billboard's cutout_size) seen through `camera`.
// `supersample` x `supersample` samples per pixel.
Layer render_billboard(const cam::Billboard& b, const at::Tensor& cutout_rgba, const Camera& camera,
                       int supersample = 2);

// `front` over `back` (premultiplied): colour and alpha C_f + (1 - a_f) C_b; depth the
// alpha-weighted mean of the two depths.
Layer over(const Layer& front, const Layer& back);
Layer empty_layer(int height, int width);

// Which Gaussians lie behind the billboard's plane as seen from `eye` (the plane through the foot,
// facing the eye): [N] bool. Every ray from the eye crosses the plane once, so along any ray the
// Gaussians in front of the plane come before the billboard and those behind come after it:
// rendering the two sets separately and compositing front / billboard / back puts the character
// at its depth per pixel, hidden by nearer splats (semi-transparent ones included).
// Exception: the ground under the feet (Gaussians less than kGroundBand x height in front of the
// plane and below kGroundBand x height above the foot) counts as behind, so it does not cut the feet.
constexpr double kGroundBand = 0.1;
at::Tensor behind_plane(const at::Tensor& means, const cam::Billboard& b, const Vec3& eye);  // means [N, 3]

// Darkens the base layer's surfaces near the billboard's foot: factor
// 1 - strength * exp(-2 (r / radius)^2) * exp(-(h / (0.25 height))^2), r the horizontal distance and
// h the height above the foot of the surface point given by the layer's depth.
void apply_contact_shadow(Layer& base, const cam::Billboard& b, const Camera& camera, double strength, double radius);

// Gains that move the cutout's alpha-weighted mean colour towards the scene's mean colour in
// `scene_rgb` [H, W, 3] (premultiplied, with `scene_alpha`) within `radius_px` of pixel (u, v):
// brightness: one gain (luminance ratio)^strength; colour: per-channel (colour ratio)^strength.
// Clamped to [0.25, 4]. Returns {1, 1, 1} when the neighbourhood is empty.
std::array<double, 3> colour_match_gains(const at::Tensor& cutout_rgba, const at::Tensor& scene_rgb,
                                         const at::Tensor& scene_alpha, double u, double v, double radius_px,
                                         bool per_channel, double strength);

// Tight box of the pixels whose alpha exceeds `threshold`: {u0, v0, u1, v1} in pixels (u1, v1
// exclusive), and the foot pixel (horizontal centre of the lowest rows' alpha, bottom edge).
struct ContentBox {
  std::array<double, 4> box{0, 0, 0, 0};
  std::array<double, 2> foot{0, 0};
  bool empty = true;
};
ContentBox content_box(const at::Tensor& alpha, double threshold);  // alpha [h, w]

}  // namespace camgraph::shot
