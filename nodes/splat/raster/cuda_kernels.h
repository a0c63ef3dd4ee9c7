// Launchers of the CUDA kernels: raw device pointers, the default stream, no torch.
// Every launcher returns a cudaError_t value as an int (0 = success); see cuda_error_string.
// Array shapes are in the trailing comments; all float arrays are float32, contiguous.
#pragma once

#include <cstdint>

#include "splat/raster/math.h"

namespace camgraph::splat::cuda {

const char* cuda_error_string(int error);

int project_fwd(const CamParams& cam, int n,
                const float* means,       // [N, 3]
                const float* log_scales,  // [N, 3]
                const float* quats,       // [N, 4]
                float* means2d,           // [N, 2] zeroed
                float* depths,            // [N] zeroed
                float* conics,            // [N, 3] zeroed
                int* radii);              // [N]
int project_bwd(const CamParams& cam, int n,
                const float* means,       // [N, 3]
                const float* log_scales,  // [N, 3]
                const float* quats,       // [N, 4]
                const float* conics,      // [N, 3]
                const int* radii,         // [N]
                const float* v_means2d,   // [N, 2]
                const float* v_depths,    // [N]
                const float* v_conics,    // [N, 3]
                float* v_means,           // [N, 3] zeroed
                float* v_log_scales,      // [N, 3] zeroed
                float* v_quats);          // [N, 4] zeroed
int sh_fwd(int degree, V3 campos, int n, int k,
           const float* means,   // [N, 3]
           const float* coeffs,  // [N, K, 3]
           float* colors);       // [N, 3]
int sh_bwd(int degree, V3 campos, int n, int k,
           const float* means,     // [N, 3]
           const float* coeffs,    // [N, K, 3]
           const float* colors,    // [N, 3]
           const float* v_colors,  // [N, 3]
           float* v_means,         // [N, 3] zeroed
           float* v_coeffs);       // [N, K, 3] zeroed

// Binning, step 1: how many tiles each Gaussian is listed in.
int bin_count(int n, int tiles_x, int tiles_y,
              const float* means2d,    // [N, 2]
              const float* conics,     // [N, 3]
              const float* opacities,  // [N]
              const int* radii,        // [N]
              int* counts);            // [N]
// Step 2 (after an inclusive scan of counts): one (key, Gaussian) per listing, key =
// tile << 32 | depth bits; a stable sort by key gives the per-tile front-to-back lists.
int bin_fill(int n, int tiles_x, int tiles_y,
             const float* means2d,    // [N, 2]
             const float* conics,     // [N, 3]
             const float* opacities,  // [N]
             const int* radii,        // [N]
             const float* depths,     // [N]
             const int64_t* ends,     // [N] inclusive scan of counts
             int64_t* keys,           // [pairs]
             int* gauss);             // [pairs]

struct RasterArgs {
  int width, height, tiles_x, tiles_y;
  float background[3];
  const int* tile_offsets;  // [tiles + 1]
  const int* gauss_ids;     // [pairs]
  const float* means2d;     // [N, 2]
  const float* conics;      // [N, 3]
  const float* colors;      // [N, 3]
  const float* opacities;   // [N]
  const float* depths;      // [N]
};
int rasterize_fwd(const RasterArgs& a,
                  float* rgb,            // [H, W, 3]
                  float* alpha,          // [H, W]
                  float* depth,          // [H, W]
                  float* transmittance,  // [H, W]
                  int* last_ids);        // [H, W]
// Gradients are accumulated with atomics (not bitwise deterministic, unlike the CPU path).
int rasterize_bwd(const RasterArgs& a,
                  const float* depth,          // [H, W] forward output
                  const float* transmittance,  // [H, W]
                  const int* last_ids,         // [H, W]
                  const float* v_rgb,          // [H, W, 3]
                  const float* v_alpha,        // [H, W] or null
                  const float* v_depth,        // [H, W] or null
                  float* v_means2d,            // [N, 2] zeroed
                  float* v_conics,             // [N, 3] zeroed
                  float* v_colors,             // [N, 3] zeroed
                  float* v_opacities,          // [N] zeroed
                  float* v_depths);            // [N] zeroed

}  // namespace camgraph::splat::cuda
