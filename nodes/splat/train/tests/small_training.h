// The small training problem the trainer and device tests share: a 60-Gaussian random scene seen by
// 9 cameras at 32x32, and 60 steps with densification every 10 from step 5.
#pragma once
#include "splat/train/trainer.h"
#include "synthetic.h"

namespace camgraph::splat::test_scenes {

inline const SplatDataset& small_dataset() {
  static SplatDataset d = synth::render_dataset(synth::random_scene(60, 0.25, 11), 9, 32);
  return d;
}

inline TrainOptions small_options() {
  TrainOptions o;
  o.iterations = 60;
  o.seed = 5;
  o.init = InitMode::kRandom;
  o.random_points = 300;
  o.random_half_size = 0.3;
  o.sh_degree = 1;
  o.sh_degree_interval = 10;
  o.refine_start = 5;
  o.refine_every = 10;
  o.refine_stop = 50;
  o.opacity_reset_every = 30;
  o.grad_threshold = 0.00005;
  return o;
}

}  // namespace camgraph::splat::test_scenes
