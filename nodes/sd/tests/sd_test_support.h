// What the sd family's tests share: the goldens' folder (nodes/sd/tests/golden, made by make_goldens.py)
// and the relative error they compare against it with.
#pragma once
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

namespace camgraph::sd::testing {

inline std::filesystem::path golden_dir() {
  return std::filesystem::path(CAMGRAPH_SOURCE_DIR) / "nodes/sd/tests/golden";
}

// max |got - want| / max |want| (an all-zero `want` divides by 1e-12).
inline double rel_err(const at::Tensor& got, const at::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-12);
}

}  // namespace camgraph::sd::testing
