// PLY files: the standard 3DGS Gaussian layout (read + write) and plain point clouds (read).
//
// 3DGS layout (binary_little_endian, float32 vertex properties, in this order):
//   x y z nx ny nz f_dc_0..2 f_rest_0..(3*(K-1)-1) opacity scale_0..2 rot_0..3
// f_dc_c is channel c of the DC coefficient; f_rest is channel-major: f_rest_{c*(K-1) + j} is
// channel c of coefficient j + 1. Opacity is a logit, scales are logs, rot is w x y z.
#pragma once
#include <ATen/ATen.h>

#include <filesystem>
#include <string>

#include "gaussians.h"

namespace camgraph::splat {

// Writes `g` (any device; copied to CPU) atomically (temp file + rename). SH degree 0..3.
void write_gaussian_ply(const std::filesystem::path& path, const GaussianSet& g);
std::string gaussian_ply_bytes(const GaussianSet& g);  // the file's bytes

// Reads a 3DGS PLY (binary or ascii); the SH degree comes from the f_rest count.
// Tensors are float32 on the CPU. Throws std::runtime_error naming the file and problem.
GaussianSet read_gaussian_ply(const std::filesystem::path& path);

struct PointCloud {
  at::Tensor xyz;      // [P, 3] float32
  at::Tensor colours;  // [P, 3] float32 in [0, 1]; undefined when the file has none
};

// Reads the vertex element's x y z (float or double, any order) and, when present,
// red green blue (uchar -> /255, or float in [0, 1]). Other properties and elements are ignored.
PointCloud read_point_cloud_ply(const std::filesystem::path& path);

}  // namespace camgraph::splat
