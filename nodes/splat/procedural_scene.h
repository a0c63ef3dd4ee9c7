// A small textured 3D set, ray traced: the demo's training views need no model weights and no
// downloaded data. World axes: +Z up, metres. A walled courtyard (brick walls, checkered stone
// floor) with a red and white checkered sphere, two boxes and a pillar, lit by a sun with hard shadows.
#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "camgraph/camera.h"

namespace camgraph::splat {

struct ProceduralRender {
  at::Tensor rgb;    // [H, W, 3] float32 in [0, 1]
  at::Tensor depth;  // [H, W] float32, camera-space z of the first hit (0 where nothing was hit)
};

// Renders the courtyard seen by `camera` with `samples` x `samples` supersampling per pixel.
ProceduralRender render_courtyard(const Camera& camera, int samples = 2);

// A ring of views around the set: `views` cameras spread over `rings` heights, all looking at
// the centre of the courtyard.
std::vector<Camera> courtyard_ring(int views, int rings, int width, int height, double fov_y_degrees, double radius,
                                   double min_height, double max_height);

}  // namespace camgraph::splat
