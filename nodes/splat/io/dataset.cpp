// Dataset assembly: views (undistorted, downscaled images + cameras), normalisation, init points.
#include "dataset.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "colmap.h"
#include "image_io.h"
#include "ply.h"
#include "transforms.h"

namespace camgraph::splat {
namespace fs = std::filesystem;
using Warn = std::function<void(const std::string&)>;

namespace {

struct SourceView {
  std::string name;      // file name
  std::string sort_key;  // relative path, for ordering
  fs::path image_path;
  DistortedCamera camera;  // full-size intrinsics, world-to-camera in source coordinates
};

void check_options(const DatasetOptions& o) {
  if (o.downscale < 1)
    throw std::runtime_error("dataset options: downscale must be >= 1, got " + std::to_string(o.downscale));
  if (o.max_images < 0) throw std::runtime_error("dataset options: max_images must be >= 0");
  if (o.holdout_every < 0) throw std::runtime_error("dataset options: holdout_every must be >= 0");
  if (o.random_points < 0) throw std::runtime_error("dataset options: random_points must be >= 0");
}

at::Tensor normalise_points(const at::Tensor& p, const SceneNormalisation& n) {
  at::Tensor c = at::tensor({n.centre[0], n.centre[1], n.centre[2]}, at::kDouble);
  return ((p.to(at::kDouble) - c) * n.scale).to(at::kFloat).contiguous();  // [P, 3]
}

// Sparse points (world coordinates) of the source, and their colours (may be undefined).
struct Points {
  at::Tensor xyz, rgb;
  std::string source;
};

SplatDataset assemble(std::vector<SourceView> views, const Points& sparse, const fs::path& root,
                      const DatasetOptions& opts, const Warn& warn, const std::string& what) {
  std::sort(views.begin(), views.end(),
            [](const SourceView& a, const SourceView& b) { return a.sort_key < b.sort_key; });
  if (opts.max_images > 0 && int(views.size()) > opts.max_images) views.resize(size_t(opts.max_images));
  if (views.empty()) throw std::runtime_error(what + ": no usable views");

  SplatDataset ds;
  std::vector<camgraph::Camera> cams;
  for (const auto& v : views) cams.push_back(v.camera.camera);
  ds.normalisation = camera_normalisation(cams, opts.normalise, &ds.extent);

  for (size_t i = 0; i < views.size(); ++i) {
    const SourceView& v = views[i];
    TrainView tv;
    tv.name = v.name;
    tv.image_path = v.image_path;
    if (opts.load_images) {
      tv.image = load_undistorted_image(v.image_path, v.camera, opts.downscale, &tv.camera, opts.crop_undistorted);
    } else {
      const camgraph::Camera c = undistorted_geometry(v.camera, opts.crop_undistorted).camera;
      tv.camera = opts.downscale > 1
                      ? c.resized(std::max(1, c.width / opts.downscale), std::max(1, c.height / opts.downscale))
                      : c;
    }
    tv.camera.world_to_camera = normalise_world_to_camera(v.camera.camera.world_to_camera, ds.normalisation);
    const bool test = opts.holdout_every > 0 && i % size_t(opts.holdout_every) == 0;
    (test ? ds.test : ds.train).push_back(std::move(tv));
  }

  // Initial points.
  const std::string& init = opts.init;
  Points pts;
  const bool have_sparse = sparse.xyz.defined() && sparse.xyz.size(0) > 0;
  if (init == "auto" || init == "points") {
    if (have_sparse) {
      pts = sparse;
    } else if (init == "points") {
      throw std::runtime_error(
          what + ": init 'points' needs sparse points, but " +
          (sparse.source.empty() ? std::string("the dataset has none") : sparse.source + " has none"));
    }
  } else if (init.rfind("ply:", 0) == 0) {
    fs::path p = init.substr(4);
    if (p.is_relative() && !fs::exists(p) && fs::exists(root / p)) p = root / p;
    const PointCloud pc = read_point_cloud_ply(p);
    pts.xyz = pc.xyz;
    pts.rgb = pc.colours;
    pts.source = p.string();
  } else if (init != "random") {
    throw std::runtime_error("dataset options: unknown init '" + init + "'; use auto, points, ply:<path> or random");
  }

  if (pts.xyz.defined()) {
    ds.points = normalise_points(pts.xyz, ds.normalisation);  // [P, 3]
    if (pts.rgb.defined()) {
      ds.point_colours = pts.rgb.to(at::kFloat).contiguous();  // [P, 3]
    } else {
      if (warn) warn(what + ": initial points from " + pts.source + " have no colours; using grey");
      ds.point_colours = at::full({ds.points.size(0), 3}, 0.5f, at::kFloat);
    }
  } else {
    // Uniform in the cube [-extent, extent]^3 of the normalised world, random colours.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(opts.seed);
    const int64_t n = opts.random_points;
    ds.points = (at::rand({n, 3}, gen, at::kFloat) * 2 - 1) * float(ds.extent);  // [P, 3]
    ds.point_colours = at::rand({n, 3}, gen, at::kFloat);                        // [P, 3]
  }
  return ds;
}

fs::path find_colmap_model(const fs::path& root) {
  for (const fs::path& p : {root / "sparse" / "0", root / "colmap" / "sparse" / "0", root / "sparse", root})
    if (is_colmap_model_folder(p)) return p;
  return {};
}

}  // namespace

SceneNormalisation camera_normalisation(const std::vector<camgraph::Camera>& cameras, bool normalise,
                                        double* extent_out) {
  SceneNormalisation n;
  double mean[3] = {0, 0, 0};
  for (const auto& c : cameras) {
    const auto p = c.position();
    for (int k = 0; k < 3; ++k) mean[k] += p[k] / double(cameras.size());
  }
  double radius = 0;
  for (const auto& c : cameras) {
    const auto p = c.position();
    radius = std::max(radius, std::sqrt((p[0] - mean[0]) * (p[0] - mean[0]) + (p[1] - mean[1]) * (p[1] - mean[1]) +
                                        (p[2] - mean[2]) * (p[2] - mean[2])));
  }
  if (normalise) {
    n.centre = {mean[0], mean[1], mean[2]};
    n.scale = radius > 1e-12 ? 1.0 / radius : 1.0;
  }
  if (extent_out) *extent_out = radius > 1e-12 ? 1.1 * radius * n.scale : 1.0;
  return n;
}

camgraph::Mat4 normalise_world_to_camera(const camgraph::Mat4& w2c, const SceneNormalisation& n) {
  // x_cam = R w + t, w = w'/s + c  =>  s x_cam = R w' + s (R c + t); scaling camera space keeps the projection.
  camgraph::Mat4 m = w2c;
  for (int i = 0; i < 3; ++i) {
    double t = w2c[i * 4 + 3];
    for (int j = 0; j < 3; ++j) t += w2c[i * 4 + j] * n.centre[j];
    m[i * 4 + 3] = n.scale * t;
  }
  return m;
}

SplatDataset load_colmap_dataset(const fs::path& root, const DatasetOptions& opts, Warn warn) {
  check_options(opts);
  const fs::path model_dir = find_colmap_model(root);
  if (model_dir.empty())
    throw std::runtime_error(
        root.string() + ": no COLMAP model found (looked in sparse/0, colmap/sparse/0, sparse/ and the folder itself)");
  const ColmapModel model = read_colmap_model(model_dir);
  // images/ next to sparse/ (or colmap/); also when `root` is the model folder itself.
  fs::path images_dir = root / "images";
  if (model_dir == root) {
    fs::path r = fs::absolute(root).lexically_normal();
    if (!r.has_filename()) r = r.parent_path();
    for (const fs::path& p : {r / "images", r.parent_path() / "images", r.parent_path().parent_path() / "images"})
      if (fs::is_directory(p)) {
        images_dir = p;
        break;
      }
  }
  if (opts.load_images && !fs::is_directory(images_dir))
    throw std::runtime_error(root.string() + ": COLMAP dataset has no images/ folder");

  std::vector<SourceView> views;
  for (const auto& im : model.images) {
    SourceView v;
    v.name = im.name;  // relative to images/ (usually a plain file name)
    v.sort_key = im.name;
    v.image_path = images_dir / im.name;
    v.camera = model.cameras.at(im.camera_id).to_camera();
    v.camera.camera.world_to_camera = im.world_to_camera();
    if (opts.load_images && !fs::is_regular_file(v.image_path))
      throw std::runtime_error("COLMAP image '" + im.name + "' (image id " + std::to_string(im.id) + ") not found in " +
                               images_dir.string());
    views.push_back(std::move(v));
  }

  Points sparse;
  sparse.source = (model_dir / "points3D").string();
  const int64_t p = int64_t(model.points.size());
  if (p > 0) {
    sparse.xyz = at::empty({p, 3}, at::kDouble);  // [P, 3]
    sparse.rgb = at::empty({p, 3}, at::kFloat);   // [P, 3]
    auto xa = sparse.xyz.accessor<double, 2>();
    auto ca = sparse.rgb.accessor<float, 2>();
    for (int64_t i = 0; i < p; ++i)
      for (int k = 0; k < 3; ++k) {
        xa[i][k] = model.points[size_t(i)].xyz[size_t(k)];
        ca[i][k] = model.points[size_t(i)].rgb[size_t(k)] / 255.0f;
      }
  }
  return assemble(std::move(views), sparse, root, opts, warn, root.string());
}

SplatDataset load_transforms_dataset(const fs::path& json_path, const DatasetOptions& opts, Warn warn) {
  check_options(opts);
  const TransformsScene scene = read_transforms(json_path, warn);
  std::vector<SourceView> views;
  const fs::path base = json_path.parent_path();
  for (const auto& f : scene.frames) {
    SourceView v;
    v.name = f.name;
    v.sort_key = f.image_path.lexically_relative(base).generic_string();
    v.image_path = f.image_path;
    v.camera = f.camera;
    views.push_back(std::move(v));
  }
  Points sparse;
  if (scene.ply_path) {
    const PointCloud pc = read_point_cloud_ply(*scene.ply_path);
    sparse.xyz = pc.xyz;
    sparse.rgb = pc.colours;
    sparse.source = scene.ply_path->string();
  }
  return assemble(std::move(views), sparse, base, opts, warn, json_path.string());
}

SplatDataset load_dataset(const fs::path& path, const DatasetOptions& opts, Warn warn) {
  if (fs::is_regular_file(path)) {
    if (path.extension() == ".json") return load_transforms_dataset(path, opts, warn);
    throw std::runtime_error(path.string() + ": not a dataset (expected a transforms .json file or a folder)");
  }
  if (!fs::is_directory(path)) throw std::runtime_error(path.string() + ": dataset not found");
  if (!find_colmap_model(path).empty()) return load_colmap_dataset(path, opts, warn);
  if (fs::is_regular_file(path / "transforms.json"))
    return load_transforms_dataset(path / "transforms.json", opts, warn);
  throw std::runtime_error(path.string() +
                           ": not a dataset (no COLMAP model in sparse/0, colmap/sparse/0 or sparse/, "
                           "and no transforms.json)");
}

fs::path shared_data_dir(const fs::path& source_dir) {
  if (const char* env = std::getenv("CAMGRAPH_SHARED"); env && *env) {
    if (fs::is_directory(env)) return env;
    return {};
  }
  fs::path src = source_dir;
  if (src.empty())
    if (const char* s = std::getenv("CAMGRAPH_SOURCE_DIR"); s && *s) src = s;
  if (src.empty()) return {};
  const fs::path p = src / ".." / "shared";
  return fs::is_directory(p) ? fs::weakly_canonical(p) : fs::path{};
}

}  // namespace camgraph::splat
