// .cube LUTs (Adobe/IRIDAS and DaVinci Resolve flavours): 1D, 3D, and Resolve's 1D shaper + 3D.
#pragma once
#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace camgraph::grade {

struct CubeLut {
  std::string title;
  // 1D table: size1d entries of RGB; on its own, or the shaper in front of the 3D table.
  int size1d = 0;
  std::vector<float> table1d;  // [size1d][3]
  std::array<double, 3> min1d{0, 0, 0}, max1d{1, 1, 1};
  // 3D table: size3d^3 entries of RGB, red fastest (index r + g N + b N^2), as the file lists them.
  int size3d = 0;
  std::vector<float> table3d;  // [size3d^3][3]
  std::array<double, 3> min3d{0, 0, 0}, max3d{1, 1, 1};
  bool trilinear = false;  // 3D interpolation: tetrahedral (default) or trilinear

  // Throws std::runtime_error("line N: ...") on malformed text.
  static CubeLut parse(const std::string& text);
  static CubeLut load(const std::filesystem::path& file);  // errors name the file

  // In place on n RGB triplets: the 1D table (linear interpolation per channel, input clamped to its
  // domain), then the 3D table (tetrahedral or trilinear interpolation, input clamped to its domain).
  void apply(float* rgb, size_t n) const;
};

// One RGB value through the 3D table only (tetrahedral); exposed for tests.
std::array<float, 3> tetrahedral(const CubeLut& lut, std::array<float, 3> rgb);
std::array<float, 3> trilinear(const CubeLut& lut, std::array<float, 3> rgb);

}  // namespace camgraph::grade
