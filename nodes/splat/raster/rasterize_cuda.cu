// CUDA tile binning and rasterization. One 16x16 thread block per tile, one thread per pixel;
// the tile's Gaussians are staged through shared memory in batches of 256. Same rules and saved
// state (final transmittance, list position of the last contributor) as the CPU path.
#include <cuda_runtime.h>

#include "splat/raster/cuda_kernels.h"

namespace camgraph::splat::cuda {

namespace {

constexpr int kBlockPix = kTile * kTile;
constexpr int kThreads = 256;
inline int blocks(int n) { return (n + kThreads - 1) / kThreads; }
inline int launched() { return (int)cudaGetLastError(); }

__global__ void bin_count_kernel(int n, int tiles_x, int tiles_y, const float* __restrict__ means2d,
                                 const float* __restrict__ conics, const float* __restrict__ opacities,
                                 const int* __restrict__ radii, int* counts) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int rect[4];
  counts[i] = gaussian_tiles(means2d + 2 * i, conics + 3 * i, opacities[i], radii[i], tiles_x, tiles_y, rect)
                  ? (rect[2] - rect[0]) * (rect[3] - rect[1])
                  : 0;
}

__global__ void bin_fill_kernel(int n, int tiles_x, int tiles_y, const float* __restrict__ means2d,
                                const float* __restrict__ conics, const float* __restrict__ opacities,
                                const int* __restrict__ radii, const float* __restrict__ depths,
                                const int64_t* __restrict__ ends, int64_t* keys, int* gauss) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int rect[4];
  if (!gaussian_tiles(means2d + 2 * i, conics + 3 * i, opacities[i], radii[i], tiles_x, tiles_y, rect)) return;
  int64_t pos = i == 0 ? 0 : ends[i - 1];
  const int64_t depth_bits = (int64_t)__float_as_uint(depths[i]);  // depths > 0: bits sort like values
  for (int ty = rect[1]; ty < rect[3]; ++ty)
    for (int tx = rect[0]; tx < rect[2]; ++tx, ++pos) {
      keys[pos] = ((int64_t)(ty * tiles_x + tx) << 32) | depth_bits;
      gauss[pos] = i;
    }
}

// A batch of a tile's Gaussians in shared memory.
struct Batch {
  float mx[kBlockPix], my[kBlockPix], ca[kBlockPix], cb[kBlockPix], cc[kBlockPix], op[kBlockPix];
  float r[kBlockPix], g[kBlockPix], b[kBlockPix], z[kBlockPix];
  int id[kBlockPix];

  __device__ void load(const RasterArgs& a, int slot, int g_id) {
    id[slot] = g_id;
    mx[slot] = a.means2d[2 * g_id];
    my[slot] = a.means2d[2 * g_id + 1];
    ca[slot] = a.conics[3 * g_id];
    cb[slot] = a.conics[3 * g_id + 1];
    cc[slot] = a.conics[3 * g_id + 2];
    op[slot] = a.opacities[g_id];
    r[slot] = a.colors[3 * g_id];
    g[slot] = a.colors[3 * g_id + 1];
    b[slot] = a.colors[3 * g_id + 2];
    z[slot] = a.depths[g_id];
  }
  // Alpha at pixel centre (fx, fy), 0 when skipped; also d = mean - pixel and vis = exp(-power).
  __device__ float alpha_at(int q, float fx, float fy, float* dx, float* dy, float* vis) const {
    *dx = mx[q] - fx;
    *dy = my[q] - fy;
    const float power = 0.5f * (ca[q] * *dx * *dx + cc[q] * *dy * *dy) + cb[q] * *dx * *dy;
    if (power < 0.f) return 0.f;
    *vis = expf(-power);
    const float alpha = fminf(kAlphaMax, op[q] * *vis);
    return alpha < kAlphaMin ? 0.f : alpha;
  }
};

__global__ void rasterize_fwd_kernel(RasterArgs a, float* rgb, float* alpha_out, float* depth_out, float* trans_out,
                                     int* last_out) {
  __shared__ Batch s;
  const int tile = blockIdx.y * a.tiles_x + blockIdx.x;
  const int tid = threadIdx.y * kTile + threadIdx.x;
  const int px = blockIdx.x * kTile + threadIdx.x, py = blockIdx.y * kTile + threadIdx.y;
  const bool inside = px < a.width && py < a.height;
  const float fx = px + 0.5f, fy = py + 0.5f;
  const int start = a.tile_offsets[tile], end = a.tile_offsets[tile + 1];
  float T = 1.f, cr = 0.f, cg = 0.f, cb = 0.f, cd = 0.f;
  int last = -1;
  bool done = !inside;
  for (int base = start; base < end; base += kBlockPix) {
    if (__syncthreads_count(done) == kBlockPix) break;  // also: everyone finished the previous batch
    if (base + tid < end) s.load(a, tid, a.gauss_ids[base + tid]);
    __syncthreads();
    const int batch = min(kBlockPix, end - base);
    for (int q = 0; !done && q < batch; ++q) {
      float dx, dy, vis;
      const float al = s.alpha_at(q, fx, fy, &dx, &dy, &vis);
      if (al == 0.f) continue;
      const float next_T = T * (1.f - al);
      if (next_T < kTransmittanceMin) {
        done = true;
        break;
      }
      const float w = al * T;
      cr += w * s.r[q];
      cg += w * s.g[q];
      cb += w * s.b[q];
      cd += w * s.z[q];
      T = next_T;
      last = base - start + q;
    }
  }
  if (!inside) return;
  const int pix = py * a.width + px;
  rgb[3 * pix] = cr + T * a.background[0];
  rgb[3 * pix + 1] = cg + T * a.background[1];
  rgb[3 * pix + 2] = cb + T * a.background[2];
  const float A = 1.f - T;
  alpha_out[pix] = A;
  depth_out[pix] = A > 0.f ? cd / A : 0.f;
  trans_out[pix] = T;
  last_out[pix] = last;
}

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

__global__ void rasterize_bwd_kernel(RasterArgs a, const float* __restrict__ depth, const float* __restrict__ trans,
                                     const int* __restrict__ last_ids, const float* __restrict__ v_rgb,
                                     const float* __restrict__ v_alpha, const float* __restrict__ v_depth,
                                     float* v_means2d, float* v_conics, float* v_colors, float* v_opacities,
                                     float* v_depths) {
  __shared__ Batch s;
  __shared__ int block_last;
  const int tile = blockIdx.y * a.tiles_x + blockIdx.x;
  const int tid = threadIdx.y * kTile + threadIdx.x, lane = tid % 32;
  const int px = blockIdx.x * kTile + threadIdx.x, py = blockIdx.y * kTile + threadIdx.y;
  const bool inside = px < a.width && py < a.height;
  const int pix = py * a.width + px;
  const float fx = px + 0.5f, fy = py + 0.5f;
  const int start = a.tile_offsets[tile];
  // Per pixel state, as in the CPU backward: T after the current Gaussian, R behind it, Q.
  float T = inside ? trans[pix] : 1.f;
  const int last = inside ? last_ids[pix] : -1;
  float Rr = a.background[0], Rg = a.background[1], Rb = a.background[2], Rd = 0.f, Q = 1.f;
  float vr = 0.f, vg = 0.f, vb = 0.f, vA = 0.f, vD = 0.f;
  if (inside) {
    vr = v_rgb[3 * pix];
    vg = v_rgb[3 * pix + 1];
    vb = v_rgb[3 * pix + 2];
    vA = v_alpha ? v_alpha[pix] : 0.f;
    const float A = 1.f - T;
    if (v_depth && A > 0.f) {
      vD = v_depth[pix] / A;
      vA -= v_depth[pix] * depth[pix] / A;
    }
  }
  if (tid == 0) block_last = -1;
  __syncthreads();
  atomicMax(&block_last, last);
  __syncthreads();
  // Back to front over list positions [0, block_last], in batches.
  for (int hi = block_last + 1; hi > 0; hi -= kBlockPix) {
    const int lo = max(0, hi - kBlockPix);
    __syncthreads();
    if (lo + tid < hi) s.load(a, tid, a.gauss_ids[start + lo + tid]);
    __syncthreads();
    for (int q = hi - lo - 1; q >= 0; --q) {
      float g[10] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};  // mx my ca cb cc r g b op z
      bool contrib = lo + q <= last;
      float dx = 0.f, dy = 0.f, vis = 0.f, al = 0.f;
      if (contrib) {
        al = s.alpha_at(q, fx, fy, &dx, &dy, &vis);
        contrib = al != 0.f;
      }
      if (contrib) {
        const float om = 1.f - al, Ti = T / om, w = al * Ti;
        g[5] = w * vr;
        g[6] = w * vg;
        g[7] = w * vb;
        g[9] = w * vD;
        const float va = Ti *
                         ((s.r[q] - Rr) * vr + (s.g[q] - Rg) * vg + (s.b[q] - Rb) * vb + (s.z[q] - Rd) * vD + Q * vA);
        Rr = s.r[q] * al + om * Rr;
        Rg = s.g[q] * al + om * Rg;
        Rb = s.b[q] * al + om * Rb;
        Rd = s.z[q] * al + om * Rd;
        Q *= om;
        T = Ti;
        const float ov = s.op[q] * vis;
        if (ov <= kAlphaMax) {
          g[8] = vis * va;
          const float vp = -ov * va;
          g[0] = (s.ca[q] * dx + s.cb[q] * dy) * vp;
          g[1] = (s.cb[q] * dx + s.cc[q] * dy) * vp;
          g[2] = 0.5f * dx * dx * vp;
          g[3] = dx * dy * vp;
          g[4] = 0.5f * dy * dy * vp;
        }
      }
      if (!__any_sync(0xffffffffu, contrib)) continue;
      for (int c = 0; c < 10; ++c) g[c] = warp_sum(g[c]);
      if (lane == 0) {
        const int id = s.id[q];
        atomicAdd(v_means2d + 2 * id, g[0]);
        atomicAdd(v_means2d + 2 * id + 1, g[1]);
        atomicAdd(v_conics + 3 * id, g[2]);
        atomicAdd(v_conics + 3 * id + 1, g[3]);
        atomicAdd(v_conics + 3 * id + 2, g[4]);
        atomicAdd(v_colors + 3 * id, g[5]);
        atomicAdd(v_colors + 3 * id + 1, g[6]);
        atomicAdd(v_colors + 3 * id + 2, g[7]);
        atomicAdd(v_opacities + id, g[8]);
        atomicAdd(v_depths + id, g[9]);
      }
    }
  }
}

}  // namespace

int bin_count(int n, int tiles_x, int tiles_y, const float* means2d, const float* conics, const float* opacities,
              const int* radii, int* counts) {
  if (n == 0) return 0;
  bin_count_kernel<<<blocks(n), kThreads>>>(n, tiles_x, tiles_y, means2d, conics, opacities, radii, counts);
  return launched();
}

int bin_fill(int n, int tiles_x, int tiles_y, const float* means2d, const float* conics, const float* opacities,
             const int* radii, const float* depths, const int64_t* ends, int64_t* keys, int* gauss) {
  if (n == 0) return 0;
  bin_fill_kernel<<<blocks(n), kThreads>>>(n, tiles_x, tiles_y, means2d, conics, opacities, radii, depths, ends, keys,
                                           gauss);
  return launched();
}

int rasterize_fwd(const RasterArgs& a, float* rgb, float* alpha, float* depth, float* transmittance, int* last_ids) {
  const dim3 grid(a.tiles_x, a.tiles_y), block(kTile, kTile);
  rasterize_fwd_kernel<<<grid, block>>>(a, rgb, alpha, depth, transmittance, last_ids);
  return launched();
}

int rasterize_bwd(const RasterArgs& a, const float* depth, const float* transmittance, const int* last_ids,
                  const float* v_rgb, const float* v_alpha, const float* v_depth, float* v_means2d, float* v_conics,
                  float* v_colors, float* v_opacities, float* v_depths) {
  const dim3 grid(a.tiles_x, a.tiles_y), block(kTile, kTile);
  rasterize_bwd_kernel<<<grid, block>>>(a, depth, transmittance, last_ids, v_rgb, v_alpha, v_depth, v_means2d, v_conics,
                                        v_colors, v_opacities, v_depths);
  return launched();
}

}  // namespace camgraph::splat::cuda
