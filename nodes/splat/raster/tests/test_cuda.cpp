// The CUDA path against the CPU path (skipped without a GPU).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "splat/raster/render.h"

TEST(RasterCuda, Placeholder) { GTEST_SKIP() << "todo"; }
