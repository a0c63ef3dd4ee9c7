// Minimal fork-join on plain std::threads for the CPU kernels. Unlike OpenMP workers, which
// spin between parallel regions, these threads exist only during a call, so nothing competes
// for the cores between calls (this matters on busy 2-core machines). The thread count is
// cpu_threads() (render.h: set_cpu_threads), independent of torch's intra-op thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace camgraph::splat {

int cpu_threads();  // render.cpp

// Runs fn(worker) for worker in [0, workers) concurrently (worker 0 on the calling thread).
template <typename Fn>
void run_workers(int workers, const Fn& fn) {
  if (workers <= 1) {
    fn(0);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) threads.emplace_back([&fn, w] { fn(w); });
  fn(0);
  for (auto& t : threads) t.join();
}

// fn(begin, end) over [0, n) split into at most cpu_threads() contiguous chunks of at
// least `grain` items. Each index is visited exactly once; which thread runs it does not matter
// to any caller (every item writes only its own outputs).
template <typename Fn>
void parallel_chunks(int64_t n, int64_t grain, const Fn& fn) {
  if (n <= 0) return;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(cpu_threads(), (n + grain - 1) / grain));
  const int64_t size = (n + chunks - 1) / chunks;
  run_workers((int)chunks, [&](int w) {
    const int64_t b = w * size, e = std::min(n, b + size);
    if (b < e) fn(b, e);
  });
}

}  // namespace camgraph::splat
