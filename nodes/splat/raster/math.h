// Gaussian splatting math shared by the CPU and CUDA kernels: plain inline float functions,
// no std containers, no torch. Every forward function has a `*_vjp` twin (vector-Jacobian
// product: given v_<output>, return v_<input>).
//
// Conventions (3DGS / gsplat):
//  - quaternions are (w, x, y, z) and normalised inside; scales are exp(log_scales);
//    world covariance  Sigma = R S S^T R^T.
//  - viewmat is world-to-camera, OpenCV axes (x right, y down, z forward), row-major [R | t].
//  - projection: EWA with the perspective Jacobian; x/z inside the Jacobian is clamped to
//    [-(cx / fx + 0.3 tan_fovx), (W - cx) / fx + 0.3 tan_fovx] (= +-1.3 tan_fovx for a centred
//    principal point; likewise y/z), then eps2d is added to the 2D covariance diagonal.
//  - culled (radius 0): camera z outside [near, far], 2D covariance not positive definite, or
//    the radius box entirely outside the image.
//  - pixel (col j, row i) has its centre at (j + 0.5, i + 0.5); means2d = (fx x/z + cx, fy y/z + cy).
//  - radius = ceil(3 sqrt(largest eigenvalue)), with the eigenvalue's discriminant floored at 0.1.
//  - colour = SH(view direction from the camera centre) + 0.5, clamped at 0 (real SH, degree <= 3).
//  - compositing: alpha = min(0.99, opacity exp(-power)), skipped when < 1/255; a pixel stops
//    before the Gaussian that would bring its transmittance below 1e-4.
#pragma once

#include <math.h>

#ifdef __CUDACC__
#define CG_HD __host__ __device__ __forceinline__
#else
#define CG_HD inline
#endif

namespace camgraph::splat {

constexpr int kTile = 16;                   // tile side in pixels
constexpr float kAlphaMin = 1.f / 255.f;    // skip alphas below this
constexpr float kAlphaMax = 0.99f;          // clamp alphas to this
constexpr float kTransmittanceMin = 1e-4f;  // stop compositing below this

struct V3 {
  float x, y, z;
};
struct M3 {
  float m[9];  // row-major
};
struct Sym2 {
  float a, b, c;  // [[a, b], [b, c]]
};

// Camera parameters passed by value to every kernel.
struct CamParams {
  float R[9];  // world-to-camera rotation, row-major
  float t[3];
  float fx, fy, cx, cy;
  int width, height;
  float eps2d, near_plane, far_plane;
};

CG_HD V3 v3(float x, float y, float z) { return V3{x, y, z}; }
CG_HD V3 operator+(V3 a, V3 b) { return V3{a.x + b.x, a.y + b.y, a.z + b.z}; }
CG_HD V3 operator-(V3 a, V3 b) { return V3{a.x - b.x, a.y - b.y, a.z - b.z}; }
CG_HD V3 operator*(float s, V3 a) { return V3{s * a.x, s * a.y, s * a.z}; }
CG_HD float dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

CG_HD M3 matmul(const M3& a, const M3& b) {
  M3 r;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      r.m[3 * i + j] = a.m[3 * i] * b.m[j] + a.m[3 * i + 1] * b.m[3 + j] + a.m[3 * i + 2] * b.m[6 + j];
  return r;
}
CG_HD M3 transpose(const M3& a) {
  M3 r;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r.m[3 * i + j] = a.m[3 * j + i];
  return r;
}
CG_HD V3 matvec(const M3& a, V3 v) {
  return V3{a.m[0] * v.x + a.m[1] * v.y + a.m[2] * v.z, a.m[3] * v.x + a.m[4] * v.y + a.m[5] * v.z,
            a.m[6] * v.x + a.m[7] * v.y + a.m[8] * v.z};
}
CG_HD M3 cam_rotation(const CamParams& cam) {
  M3 r;
  for (int i = 0; i < 9; ++i) r.m[i] = cam.R[i];
  return r;
}
// Camera centre in world coordinates: -R^T t.
CG_HD V3 cam_position(const CamParams& cam) {
  const M3 rt = transpose(cam_rotation(cam));
  const V3 c = matvec(rt, V3{cam.t[0], cam.t[1], cam.t[2]});
  return V3{-c.x, -c.y, -c.z};
}

// ---- quaternion -> rotation ------------------------------------------------------------------
CG_HD M3 quat_to_rotmat(const float* q) {
  const float inv = 1.f / sqrtf(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  const float w = q[0] * inv, x = q[1] * inv, y = q[2] * inv, z = q[3] * inv;
  return M3{{1.f - 2.f * (y * y + z * z), 2.f * (x * y - w * z), 2.f * (x * z + w * y), 2.f * (x * y + w * z),
             1.f - 2.f * (x * x + z * z), 2.f * (y * z - w * x), 2.f * (x * z - w * y), 2.f * (y * z + w * x),
             1.f - 2.f * (x * x + y * y)}};
}
// v_q (4 floats, unnormalised quaternion) from v_R.
CG_HD void quat_to_rotmat_vjp(const float* q, const M3& vR, float* v_q) {
  const float inv = 1.f / sqrtf(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  const float w = q[0] * inv, x = q[1] * inv, y = q[2] * inv, z = q[3] * inv;
  const float* V = vR.m;
  const float vw = 2.f * (-z * V[1] + y * V[2] + z * V[3] - x * V[5] - y * V[6] + x * V[7]);
  const float vx = 2.f *
                   (y * V[1] + z * V[2] + y * V[3] - 2.f * x * V[4] - w * V[5] + z * V[6] + w * V[7] - 2.f * x * V[8]);
  const float vy = 2.f *
                   (-2.f * y * V[0] + x * V[1] + w * V[2] + x * V[3] + z * V[5] - w * V[6] + z * V[7] - 2.f * y * V[8]);
  const float vz = 2.f *
                   (-2.f * z * V[0] - w * V[1] + x * V[2] + w * V[3] - 2.f * z * V[4] + y * V[5] + x * V[6] + y * V[7]);
  // Through the normalisation: (v - qn (qn . v)) / |q|.
  const float d = w * vw + x * vx + y * vy + z * vz;
  v_q[0] = (vw - w * d) * inv;
  v_q[1] = (vx - x * d) * inv;
  v_q[2] = (vy - y * d) * inv;
  v_q[3] = (vz - z * d) * inv;
}

// ---- scale + rotation -> 3D covariance ---------------------------------------------------------
CG_HD M3 covar_world(const float* log_scale, const float* q) {
  const M3 R = quat_to_rotmat(q);
  M3 M = R;  // M = R diag(s)
  for (int j = 0; j < 3; ++j) {
    const float s = expf(log_scale[j]);
    for (int i = 0; i < 3; ++i) M.m[3 * i + j] *= s;
  }
  return matmul(M, transpose(M));
}
// v_Sigma is a symmetric matrix gradient; writes v_log_scale[3] and v_q[4].
CG_HD void covar_world_vjp(const float* log_scale, const float* q, const M3& vS, float* v_log_scale, float* v_q) {
  const M3 R = quat_to_rotmat(q);
  float s[3];
  M3 M = R;
  for (int j = 0; j < 3; ++j) {
    s[j] = expf(log_scale[j]);
    for (int i = 0; i < 3; ++i) M.m[3 * i + j] *= s[j];
  }
  // Sigma = M M^T  =>  v_M = (vS + vS^T) M = 2 vS M (vS symmetric).
  M3 vM = matmul(vS, M);
  for (int i = 0; i < 9; ++i) vM.m[i] *= 2.f;
  M3 vR = vM;
  for (int j = 0; j < 3; ++j) {
    float vs = 0.f;
    for (int i = 0; i < 3; ++i) {
      vs += R.m[3 * i + j] * vM.m[3 * i + j];
      vR.m[3 * i + j] *= s[j];
    }
    v_log_scale[j] = vs * s[j];
  }
  quat_to_rotmat_vjp(q, vR, v_q);
}

// ---- world -> camera ----------------------------------------------------------------------------
CG_HD V3 world_to_cam_point(const CamParams& cam, V3 p) {
  const V3 r = matvec(cam_rotation(cam), p);
  return V3{r.x + cam.t[0], r.y + cam.t[1], r.z + cam.t[2]};
}
CG_HD M3 world_to_cam_covar(const CamParams& cam, const M3& S) {
  const M3 W = cam_rotation(cam);
  return matmul(matmul(W, S), transpose(W));
}
CG_HD V3 world_to_cam_point_vjp(const CamParams& cam, V3 v_pc) { return matvec(transpose(cam_rotation(cam)), v_pc); }
CG_HD M3 world_to_cam_covar_vjp(const CamParams& cam, const M3& v_Sc) {
  const M3 W = cam_rotation(cam);
  return matmul(matmul(transpose(W), v_Sc), W);
}

// ---- EWA perspective projection ------------------------------------------------------------------
// The 2x3 Jacobian of (fx x/z + cx, fy y/z + cy), with x/z and y/z clamped; j[0..2], j[3..5].
// clamped_x / clamped_y report whether the clamp was active (their derivative is then zero).
CG_HD void persp_jacobian(const CamParams& cam, V3 p, float* J, bool* clamped_x, bool* clamped_y) {
  const float tan_fovx = 0.5f * cam.width / cam.fx, tan_fovy = 0.5f * cam.height / cam.fy;
  const float lim_x_pos = (cam.width - cam.cx) / cam.fx + 0.3f * tan_fovx;
  const float lim_x_neg = cam.cx / cam.fx + 0.3f * tan_fovx;
  const float lim_y_pos = (cam.height - cam.cy) / cam.fy + 0.3f * tan_fovy;
  const float lim_y_neg = cam.cy / cam.fy + 0.3f * tan_fovy;
  const float rz = 1.f / p.z;
  const float u = p.x * rz, v = p.y * rz;
  const float uc = fminf(lim_x_pos, fmaxf(-lim_x_neg, u));
  const float vc = fminf(lim_y_pos, fmaxf(-lim_y_neg, v));
  *clamped_x = uc != u;
  *clamped_y = vc != v;
  J[0] = cam.fx * rz;
  J[1] = 0.f;
  J[2] = -cam.fx * uc * rz;
  J[3] = 0.f;
  J[4] = cam.fy * rz;
  J[5] = -cam.fy * vc * rz;
}
// cov2d = J Sigma_c J^T (without eps2d).
CG_HD Sym2 persp_covar(const float* J, const M3& S) {
  float JS[6];
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 3; ++k)
      JS[3 * i + k] = J[3 * i] * S.m[k] + J[3 * i + 1] * S.m[3 + k] + J[3 * i + 2] * S.m[6 + k];
  Sym2 r;
  r.a = JS[0] * J[0] + JS[1] * J[1] + JS[2] * J[2];
  r.b = JS[0] * J[3] + JS[1] * J[4] + JS[2] * J[5];
  r.c = JS[3] * J[3] + JS[4] * J[4] + JS[5] * J[5];
  return r;
}
CG_HD void persp_mean(const CamParams& cam, V3 p, float* mean2d) {
  mean2d[0] = cam.fx * p.x / p.z + cam.cx;
  mean2d[1] = cam.fy * p.y / p.z + cam.cy;
}
// Given v_mean2d and a symmetric v_cov2d, accumulate v_p (camera point) and return v_Sigma_c.
CG_HD M3 persp_proj_vjp(const CamParams& cam, V3 p, const M3& S, const float* v_mean2d, Sym2 v_cov, V3* v_p) {
  float J[6];
  bool cx_, cy_;
  persp_jacobian(cam, p, J, &cx_, &cy_);
  const float rz = 1.f / p.z, rz2 = rz * rz;
  // mean2d.
  v_p->x += cam.fx * rz * v_mean2d[0];
  v_p->y += cam.fy * rz * v_mean2d[1];
  v_p->z -= (cam.fx * p.x * v_mean2d[0] + cam.fy * p.y * v_mean2d[1]) * rz2;
  // cov2d = J S J^T:  v_S = J^T G J,  v_J = 2 G J S  (G, S symmetric).
  const float G[4] = {v_cov.a, v_cov.b, v_cov.b, v_cov.c};
  M3 vS;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      float acc = 0.f;
      for (int k = 0; k < 2; ++k)
        for (int l = 0; l < 2; ++l) acc += J[3 * k + i] * G[2 * k + l] * J[3 * l + j];
      vS.m[3 * i + j] = acc;
    }
  float GJ[6], vJ[6];
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 3; ++j) GJ[3 * k + j] = G[2 * k] * J[j] + G[2 * k + 1] * J[3 + j];
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 3; ++j)
      vJ[3 * k + j] = 2.f * (GJ[3 * k] * S.m[j] + GJ[3 * k + 1] * S.m[3 + j] + GJ[3 * k + 2] * S.m[6 + j]);
  // J00 = fx/z, J11 = fy/z, J02 = -fx uc/z, J12 = -fy vc/z with uc = clamp(x/z).
  v_p->z -= (cam.fx * vJ[0] + cam.fy * vJ[4]) * rz2;
  if (cx_) {
    v_p->z -= vJ[2] * J[2] * rz;  // J02 = const/z
  } else {
    v_p->x -= cam.fx * rz2 * vJ[2];
    v_p->z += 2.f * cam.fx * p.x * rz2 * rz * vJ[2];
  }
  if (cy_) {
    v_p->z -= vJ[5] * J[5] * rz;
  } else {
    v_p->y -= cam.fy * rz2 * vJ[5];
    v_p->z += 2.f * cam.fy * p.y * rz2 * rz * vJ[5];
  }
  return vS;
}

// ---- conic and radius ---------------------------------------------------------------------------
// Inverse of a 2x2 symmetric matrix; false when not positive definite.
CG_HD bool inverse2(Sym2 m, Sym2* inv) {
  const float det = m.a * m.c - m.b * m.b;
  if (!(det > 0.f)) return false;
  const float r = 1.f / det;
  *inv = Sym2{m.c * r, -m.b * r, m.a * r};
  return true;
}
// v_conic (b = the off-diagonal value, counted once) -> symmetric matrix gradient of cov2d.
CG_HD Sym2 inverse2_vjp(Sym2 conic, Sym2 v_conic) {
  // v_cov = -C G C with G = [[va, vb/2], [vb/2, vc]].
  const float ga = v_conic.a, gb = 0.5f * v_conic.b, gc = v_conic.c;
  const float a = conic.a, b = conic.b, c = conic.c;
  // GC = G C
  const float g00 = ga * a + gb * b, g01 = ga * b + gb * c;
  const float g10 = gb * a + gc * b, g11 = gb * b + gc * c;
  return Sym2{-(a * g00 + b * g10), -(a * g01 + b * g11), -(b * g01 + c * g11)};
}
// 3-sigma radius of the 2D Gaussian, in pixels.
CG_HD float radius_3sigma(Sym2 cov) {
  const float mid = 0.5f * (cov.a + cov.c);
  const float det = cov.a * cov.c - cov.b * cov.b;
  const float lambda = mid + sqrtf(fmaxf(0.1f, mid * mid - det));
  return ceilf(3.f * sqrtf(lambda));
}

// ---- spherical harmonics --------------------------------------------------------------------------
constexpr float kShC0 = 0.28209479177387814f;
constexpr float kShC1 = 0.4886025119029199f;
// Degree 2 and 3 constants by index (functions, not arrays, so that device code can use them).
CG_HD constexpr float kShC2(int i) {
  return i == 0   ? 1.0925484305920792f
         : i == 1 ? -1.0925484305920792f
         : i == 2 ? 0.31539156525252005f
         : i == 3 ? -1.0925484305920792f
                  : 0.5462742152960396f;
}
CG_HD constexpr float kShC3(int i) {
  return i == 0   ? -0.5900435899266435f
         : i == 1 ? 2.890611442640554f
         : i == 2 ? -0.4570457994644658f
         : i == 3 ? 0.3731763325901154f
         : i == 4 ? -0.4570457994644658f
         : i == 5 ? 1.445305721320277f
                  : -0.5900435899266435f;
}

CG_HD int sh_num_bases(int degree) { return (degree + 1) * (degree + 1); }

// Real SH basis values Y[0..(d+1)^2) at a unit direction.
CG_HD void sh_basis(int degree, V3 d, float* Y) {
  const float x = d.x, y = d.y, z = d.z;
  Y[0] = kShC0;
  if (degree < 1) return;
  Y[1] = -kShC1 * y;
  Y[2] = kShC1 * z;
  Y[3] = -kShC1 * x;
  if (degree < 2) return;
  const float xx = x * x, yy = y * y, zz = z * z;
  Y[4] = kShC2(0) * x * y;
  Y[5] = kShC2(1) * y * z;
  Y[6] = kShC2(2) * (2.f * zz - xx - yy);
  Y[7] = kShC2(3) * x * z;
  Y[8] = kShC2(4) * (xx - yy);
  if (degree < 3) return;
  Y[9] = kShC3(0) * y * (3.f * xx - yy);
  Y[10] = kShC3(1) * x * y * z;
  Y[11] = kShC3(2) * y * (4.f * zz - xx - yy);
  Y[12] = kShC3(3) * z * (2.f * zz - 3.f * xx - 3.f * yy);
  Y[13] = kShC3(4) * x * (4.f * zz - xx - yy);
  Y[14] = kShC3(5) * z * (xx - yy);
  Y[15] = kShC3(6) * x * (xx - 3.f * yy);
}
// v_d = sum_k g[k] dY_k/dd at the unit direction d (the polynomials differentiated as they are).
CG_HD V3 sh_basis_vjp(int degree, V3 d, const float* g) {
  V3 v{0.f, 0.f, 0.f};
  if (degree < 1) return v;
  const float x = d.x, y = d.y, z = d.z;
  v.x += -kShC1 * g[3];
  v.y += -kShC1 * g[1];
  v.z += kShC1 * g[2];
  if (degree < 2) return v;
  const float xx = x * x, yy = y * y, zz = z * z;
  v = v + g[4] * kShC2(0) * V3{y, x, 0.f};
  v = v + g[5] * kShC2(1) * V3{0.f, z, y};
  v = v + g[6] * kShC2(2) * V3{-2.f * x, -2.f * y, 4.f * z};
  v = v + g[7] * kShC2(3) * V3{z, 0.f, x};
  v = v + g[8] * kShC2(4) * V3{2.f * x, -2.f * y, 0.f};
  if (degree < 3) return v;
  v = v + g[9] * kShC3(0) * V3{6.f * x * y, 3.f * xx - 3.f * yy, 0.f};
  v = v + g[10] * kShC3(1) * V3{y * z, x * z, x * y};
  v = v + g[11] * kShC3(2) * V3{-2.f * x * y, 4.f * zz - xx - 3.f * yy, 8.f * y * z};
  v = v + g[12] * kShC3(3) * V3{-6.f * x * z, -6.f * y * z, 6.f * zz - 3.f * xx - 3.f * yy};
  v = v + g[13] * kShC3(4) * V3{4.f * zz - 3.f * xx - yy, -2.f * x * y, 8.f * x * z};
  v = v + g[14] * kShC3(5) * V3{2.f * x * z, -2.f * y * z, xx - yy};
  v = v + g[15] * kShC3(6) * V3{3.f * xx - 3.f * yy, -6.f * x * y, 0.f};
  return v;
}
// d = v / |v| backward.
CG_HD V3 normalize_vjp(V3 v, V3 v_d) {
  const float inv = 1.f / sqrtf(dot(v, v));
  const V3 d = inv * v;
  return inv * (v_d - dot(d, v_d) * d);
}

// ---- per-Gaussian kernels (one element each) ------------------------------------------------------
// Forward projection of Gaussian i. Returns false (radius 0) when culled.
CG_HD bool project_one(const CamParams& cam, const float* mean, const float* log_scale, const float* q, float* mean2d,
                       float* depth, float* conic, int* radius) {
  *radius = 0;
  const V3 pc = world_to_cam_point(cam, V3{mean[0], mean[1], mean[2]});
  if (!(pc.z >= cam.near_plane && pc.z <= cam.far_plane)) return false;
  const M3 Sc = world_to_cam_covar(cam, covar_world(log_scale, q));
  float J[6];
  bool clx, cly;
  persp_jacobian(cam, pc, J, &clx, &cly);
  Sym2 cov = persp_covar(J, Sc);
  cov.a += cam.eps2d;
  cov.c += cam.eps2d;
  Sym2 con;
  if (!inverse2(cov, &con)) return false;
  const float r = radius_3sigma(cov);
  if (!(r > 0.f)) return false;
  float m2[2];
  persp_mean(cam, pc, m2);
  if (m2[0] + r <= 0.f || m2[0] - r >= cam.width || m2[1] + r <= 0.f || m2[1] - r >= cam.height) return false;
  mean2d[0] = m2[0];
  mean2d[1] = m2[1];
  *depth = pc.z;
  conic[0] = con.a;
  conic[1] = con.b;
  conic[2] = con.c;
  *radius = (int)r;
  return true;
}

// Backward projection of a visible Gaussian: writes v_mean[3], v_log_scale[3], v_q[4].
CG_HD void project_one_vjp(const CamParams& cam, const float* mean, const float* log_scale, const float* q,
                           const float* conic, const float* v_mean2d, float v_depth, const float* v_conic,
                           float* v_mean, float* v_log_scale, float* v_q) {
  const V3 pc = world_to_cam_point(cam, V3{mean[0], mean[1], mean[2]});
  const M3 Sc = world_to_cam_covar(cam, covar_world(log_scale, q));
  const Sym2 v_cov = inverse2_vjp(Sym2{conic[0], conic[1], conic[2]}, Sym2{v_conic[0], v_conic[1], v_conic[2]});
  V3 v_pc{0.f, 0.f, v_depth};
  const M3 v_Sc = persp_proj_vjp(cam, pc, Sc, v_mean2d, v_cov, &v_pc);
  const V3 vm = world_to_cam_point_vjp(cam, v_pc);
  v_mean[0] = vm.x;
  v_mean[1] = vm.y;
  v_mean[2] = vm.z;
  covar_world_vjp(log_scale, q, world_to_cam_covar_vjp(cam, v_Sc), v_log_scale, v_q);
}

// Colour of one Gaussian from its K x 3 SH coefficients (first (degree+1)^2 used).
CG_HD void sh_one(int degree, V3 campos, const float* mean, const float* coeffs, float* rgb) {
  const V3 v = V3{mean[0], mean[1], mean[2]} - campos;
  const float n2 = dot(v, v);
  const V3 d = n2 > 0.f ? (1.f / sqrtf(n2)) * v : V3{0.f, 0.f, 1.f};
  float Y[16];
  sh_basis(degree, d, Y);
  const int nb = sh_num_bases(degree);
  for (int c = 0; c < 3; ++c) {
    float acc = 0.5f;
    for (int k = 0; k < nb; ++k) acc += Y[k] * coeffs[3 * k + c];
    rgb[c] = fmaxf(acc, 0.f);
  }
}
// Backward: given the forward colour rgb and v_rgb, writes v_coeffs[K*3] (first bases) and adds v_mean.
CG_HD void sh_one_vjp(int degree, V3 campos, const float* mean, const float* coeffs, const float* rgb,
                      const float* v_rgb, float* v_coeffs, float* v_mean) {
  const V3 v = V3{mean[0], mean[1], mean[2]} - campos;
  const float n2 = dot(v, v);
  const bool ok = n2 > 0.f;
  const V3 d = ok ? (1.f / sqrtf(n2)) * v : V3{0.f, 0.f, 1.f};
  float Y[16], g[16];
  sh_basis(degree, d, Y);
  const int nb = sh_num_bases(degree);
  float vr[3];
  for (int c = 0; c < 3; ++c) vr[c] = rgb[c] > 0.f ? v_rgb[c] : 0.f;  // clamp at 0
  for (int k = 0; k < nb; ++k) {
    g[k] = 0.f;
    for (int c = 0; c < 3; ++c) {
      v_coeffs[3 * k + c] = Y[k] * vr[c];
      g[k] += coeffs[3 * k + c] * vr[c];
    }
  }
  if (degree < 1 || !ok) return;
  const V3 vv = normalize_vjp(v, sh_basis_vjp(degree, d, g));
  v_mean[0] += vv.x;
  v_mean[1] += vv.y;
  v_mean[2] += vv.z;
}

// ---- rasterization helpers ------------------------------------------------------------------------
// Pixel-space half extents of the region where opacity * exp(-power) >= 1/255 (power = 0.5 d^T C d).
// Returns false when the Gaussian can never reach 1/255. A small margin keeps it conservative.
CG_HD bool alpha_support(const float* conic, float opacity, float* ext_x, float* ext_y) {
  if (!(opacity >= kAlphaMin)) return false;
  const float t = logf(opacity / kAlphaMin) + 1e-3f;  // power threshold
  const float det = conic[0] * conic[2] - conic[1] * conic[1];
  if (!(det > 0.f)) return false;
  // Bounding box of {d : 0.5 d^T C d <= t} is |dx| <= sqrt(2 t Sigma_xx), Sigma = C^-1.
  *ext_x = sqrtf(2.f * t * conic[2] / det) * 1.001f + 1e-3f;
  *ext_y = sqrtf(2.f * t * conic[0] / det) * 1.001f + 1e-3f;
  return true;
}

// Tile rectangle [x0, x1) x [y0, y1) touched by the box of half extents (rx, ry) around m.
// With rx = ry = radius this is the 3DGS rule for which tiles evaluate a Gaussian.
CG_HD void tile_rect(const float* m, float rx, float ry, int tiles_x, int tiles_y, int* rect) {
  const float inv = 1.f / kTile;
  rect[0] = (int)fminf((float)tiles_x, fmaxf(0.f, floorf((m[0] - rx) * inv)));
  rect[1] = (int)fminf((float)tiles_y, fmaxf(0.f, floorf((m[1] - ry) * inv)));
  rect[2] = (int)fminf((float)tiles_x, fmaxf(0.f, floorf((m[0] + rx) * inv) + 1.f));
  rect[3] = (int)fminf((float)tiles_y, fmaxf(0.f, floorf((m[1] + ry) * inv) + 1.f));
}

// Tiles a visible Gaussian must be listed in: the 3DGS radius rectangle, narrowed to the tiles
// that hold a pixel where its alpha can reach 1/255 (this changes no pixel). False when none.
CG_HD bool gaussian_tiles(const float* m, const float* conic, float opacity, int radius, int tiles_x, int tiles_y,
                          int* rect) {
  float ex, ey;
  if (radius <= 0 || !alpha_support(conic, opacity, &ex, &ey)) return false;
  tile_rect(m, fminf(ex, (float)radius), fminf(ey, (float)radius), tiles_x, tiles_y, rect);
  return rect[2] > rect[0] && rect[3] > rect[1];
}

// Pixel columns/rows [lo, hi] within [first, last] whose centres (j + 0.5) lie within m -+ ext.
CG_HD void pixel_span(float m, float ext, int first, int last, int* lo, int* hi) {
  *lo = (int)fmaxf((float)first, ceilf(m - ext - 0.5f));
  *hi = (int)fminf((float)last, floorf(m + ext - 0.5f));
}

}  // namespace camgraph::splat
