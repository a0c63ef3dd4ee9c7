// Device memory in use, for the GPU benchmarks' "peak GPU memory" column. Reads cudaMemGetInfo
// (the whole device: torch's caching allocator keeps what it reserved, so the value after a run is
// its peak reservation plus the CUDA context). Needs no c10_cuda library, so it builds against a
// CPU-only libtorch too; without CUDA kernels in the build, or without a device, it returns -1.
#pragma once

#include <cstdint>

#ifdef CAMGRAPH_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace camgraph::bench {

// Bytes in use on the current CUDA device, or -1 when there is none.
inline int64_t gpu_memory_used() {
#ifdef CAMGRAPH_WITH_CUDA
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error for the next call
    return -1;
  }
  return int64_t(total_bytes - free_bytes);
#else
  return -1;
#endif
}

inline double to_mib(int64_t bytes) { return bytes < 0 ? -1.0 : double(bytes) / (1024.0 * 1024.0); }

}  // namespace camgraph::bench
