// sfm family: sfm.colmap runs COLMAP (feature extraction, matching, mapping, undistortion) on a
// folder of photos and hands splat.train the registered views with the sparse points (and the model
// folder it wrote).
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>

#include "camgraph/node_context.h"
#include "sfm/colmap_runner.h"
#include "splat/io/colmap.h"
#include "splat/io/dataset.h"

namespace camgraph {

namespace fs = std::filesystem;
using namespace camgraph::sfm;

namespace {

bool is_image_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  static const std::set<std::string> exts = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"};
  return exts.count(e) > 0;
}

// Names, sizes and modification times of the photos: what a finished workspace was made from.
std::string images_fingerprint(const std::vector<fs::path>& files) {
  std::string s;
  for (const auto& f : files) {
    std::error_code ec;
    s += f.filename().string() + ":" + std::to_string(fs::file_size(f, ec)) + ":" +
         std::to_string(fs::last_write_time(f, ec).time_since_epoch().count()) + ";";
  }
  return std::to_string(hash_bytes(s));
}

// Folders under `sparse` holding a model, with their number of registered images.
std::vector<std::pair<fs::path, int>> mapper_models(const fs::path& sparse) {
  std::vector<std::pair<fs::path, int>> out;
  std::error_code ec;
  if (!fs::is_directory(sparse, ec)) return out;
  for (const auto& e : fs::directory_iterator(sparse, ec)) {
    if (!e.is_directory() || !splat::is_colmap_model_folder(e.path())) continue;
    try {
      out.emplace_back(e.path(), int(splat::read_colmap_images_bin(e.path() / "images.bin").size()));
    } catch (const std::exception&) {
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second > b.second; });
  return out;
}

// The photos in `images` (sorted); at least 3.
std::vector<fs::path> list_photos(NodeContext& ctx, const fs::path& images) {
  std::error_code ec;
  if (!fs::is_directory(images, ec)) ctx.fail("images", images.string() + " is not a folder of photos");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(images, ec))
    if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const int n = int(files.size());
  if (n < 3)
    ctx.fail("images", images.string() + " holds " + std::to_string(n) +
                           " photos (jpg, png, tif, bmp); structure-from-motion needs at least 3 overlapping views");
  return files;
}

fs::path find_colmap(NodeContext& ctx) {
  std::vector<fs::path> tried;
  const fs::path colmap = find_executable(ctx.param_string("colmap_binary"), &tried);
  if (colmap.empty()) {
    std::string where;
    for (size_t i = 0; i < tried.size() && i < 8; ++i) where += (i ? ", " : "") + tried[i].string();
    ctx.fail("colmap_binary", "COLMAP not found (looked for " + where +
                                  "); install it (Debian/Ubuntu: apt install colmap) or set colmap_binary to its path");
  }
  return colmap;
}

// What a finished workspace was made from: a workspace with other settings is rebuilt.
json workspace_settings(NodeContext& ctx, const fs::path& images, const std::vector<fs::path>& files) {
  return {
      {"matcher", ctx.param_string("matcher")},           {"camera_model", ctx.param_string("camera_model")},
      {"single_camera", ctx.param_bool("single_camera")}, {"max_image_size", ctx.param_int("max_image_size")},
      {"max_features", ctx.param_int("max_features")},    {"overlap", ctx.param_int("sequential_overlap")},
      {"undistort", ctx.param_bool("undistort")},         {"images", fs::absolute(images).lexically_normal().string()},
      {"fingerprint", images_fingerprint(files)}};
}

// Whether the workspace `ws` is a finished one made from the same photos and settings; fails when
// it is someone else's folder (unless overwrite).
bool can_reuse_workspace(NodeContext& ctx, const fs::path& ws, const fs::path& marker, const json& settings) {
  std::error_code ec;
  bool reuse = false;
  if (fs::exists(ws, ec)) {
    if (fs::exists(marker, ec)) {
      try {
        reuse = json::parse(read_file(marker)).value("settings", json()) == settings;
      } catch (const std::exception&) {
      }
      if (!reuse) ctx.warn("re-running COLMAP: " + ws.string() + " was made from other photos or settings");
    } else if (!fs::is_empty(ws, ec) && !ctx.param_bool("overwrite")) {
      ctx.fail("workspace",
               ws.string() + " exists and was not written by sfm.colmap; choose another folder or set overwrite");
    }
  }
  return reuse;
}

// One COLMAP run, built in `tmp` (<workspace>.partial) and moved into place when complete.
struct ColmapJob {
  NodeContext& ctx;
  fs::path colmap, images, tmp;
  std::vector<fs::path> files;
  std::string threads, gpu;  // command-line values
  std::map<std::string, double> seconds;

  int count() const { return int(files.size()); }
  std::string database() const { return (tmp / "database.db").string(); }

  // Runs one COLMAP command; progress inside [lo, hi].
  // A mapper that finds no initial pair exits with an error: that is "registered 0", judged later.
  void run(const std::string& stage, std::vector<std::string> args, double lo, double hi) {
    const int n = count();
    args.insert(args.begin(), {colmap.string(), stage});
    ctx.progress(lo, stage);
    const auto t0 = std::chrono::steady_clock::now();
    int registered = 0;
    const ProcessResult r = run_process(
        args,
        [&](const std::string& line) {
          const auto p = parse_colmap_progress(line);
          if (!p) return;
          double f;
          std::string msg;
          if (p->kind == ColmapProgress::kRegister) {
            registered = std::max(registered, p->index);
            f = std::min(1.0, double(registered) / n);
            msg = stage + ": registering, " + std::to_string(registered) + "/" + std::to_string(n) + " images";
          } else {
            f = double(p->index) / std::max(1, p->total);
            msg = stage + " " + std::to_string(p->index) + "/" + std::to_string(p->total);
          }
          ctx.progress(lo + (hi - lo) * f, msg, {{"stage", stage}, {"index", p->index}, {"total", p->total}});
        },
        [&] { return ctx.cancelled(); });
    seconds[stage] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::error_code ec;
    if (r.cancelled) {
      fs::remove_all(tmp, ec);
      ctx.check_cancelled();
    }
    if (r.exit_code != 0 && stage != "mapper") {
      fs::remove_all(tmp, ec);
      std::string tail;
      for (size_t i = r.tail.size() > 6 ? r.tail.size() - 6 : 0; i < r.tail.size(); ++i) tail += "\n  " + r.tail[i];
      ctx.fail("images",
               "colmap " + stage + " failed (exit code " + std::to_string(r.exit_code) + "); its last output:" + tail);
    }
  }

  // Features, matches and the sparse models under tmp/sparse.
  void reconstruct() {
    const std::string db = database();
    run("feature_extractor",
        {"--database_path", db, "--image_path", images.string(), "--ImageReader.camera_model",
         ctx.param_string("camera_model"), "--ImageReader.single_camera", ctx.param_bool("single_camera") ? "1" : "0",
         "--SiftExtraction.use_gpu", gpu, "--SiftExtraction.num_threads", threads, "--SiftExtraction.max_image_size",
         std::to_string(ctx.param_int("max_image_size")), "--SiftExtraction.max_num_features",
         std::to_string(ctx.param_int("max_features"))},
        0.0, 0.3);
    if (ctx.param_string("matcher") == "sequential")
      run("sequential_matcher",
          {"--database_path", db, "--SiftMatching.use_gpu", gpu, "--SiftMatching.num_threads", threads,
           "--SequentialMatching.overlap", std::to_string(ctx.param_int("sequential_overlap"))},
          0.3, 0.55);
    else
      run("exhaustive_matcher",
          {"--database_path", db, "--SiftMatching.use_gpu", gpu, "--SiftMatching.num_threads", threads}, 0.3, 0.55);
    run("mapper",
        {"--database_path", db, "--image_path", images.string(), "--output_path", (tmp / "sparse").string(),
         "--Mapper.num_threads", threads},
        0.55, 0.9);
  }

  // The model with the most registered photos; fails when it registered too few.
  std::pair<fs::path, int> best_model(const std::vector<std::pair<fs::path, int>>& models) {
    const int n = count();
    const int registered = models.empty() ? 0 : models[0].second;
    const int need = std::max(int(ctx.param_int("min_registered")),
                              int(std::ceil(ctx.param_float("min_registered_fraction") * n)));
    if (registered < need) {
      std::error_code ec;
      fs::remove_all(tmp, ec);
      ctx.fail("images",
               "COLMAP registered " + std::to_string(registered) + " of " + std::to_string(n) + " photos (at least " +
                   std::to_string(need) +
                   " needed: min_registered, min_registered_fraction). The photos need more overlap and "
                   "texture; for video frames use matcher = sequential; a larger max_image_size finds more features");
    }
    return models[0];
  }

  // The dataset folder splat.train reads: undistorted images, or the model next to the photos.
  void make_dataset(const fs::path& best, const fs::path& root, bool undistort) {
    if (undistort) {
      run("image_undistorter",
          {"--image_path", images.string(), "--input_path", best.string(), "--output_path", root.string(),
           "--output_type", "COLMAP"},
          0.9, 0.98);
    } else {
      fs::create_directories(root / "sparse");
      fs::copy(best, root / "sparse" / "0", fs::copy_options::recursive);
      fs::create_directory_symlink(fs::absolute(images), root / "images");
    }
  }

  // The record of a finished model: registered and unregistered photos, points, timings.
  json model_record(const fs::path& best, int registered, size_t models) const {
    const splat::ColmapModel model = splat::read_colmap_model(best);
    std::set<std::string> names;
    for (const auto& im : model.images) names.insert(im.name);
    json missing = json::array();
    for (const auto& f : files)
      if (!names.count(f.filename().string())) missing.push_back(f.filename().string());
    double err = 0;
    for (const auto& p : model.points) err += p.error;
    return {{"images", count()},
            {"registered", registered},
            {"unregistered", missing},
            {"models", models},
            {"points", model.points.size()},
            {"mean_reprojection_error", model.points.empty() ? 0.0 : err / double(model.points.size())},
            {"colmap", colmap.string()},
            {"seconds", seconds}};
  }
};

// Runs COLMAP into <ws>.partial, writes the marker and moves it to `ws`; returns the model record.
json build_workspace(NodeContext& ctx, ColmapJob& job, const fs::path& ws, const json& settings, bool undistort) {
  std::error_code ec;
  fs::remove_all(job.tmp, ec);
  fs::create_directories(job.tmp / "sparse");
  ctx.guard<std::runtime_error>("colmap_binary", "cannot run COLMAP: ", [&] { job.reconstruct(); });
  const auto models = mapper_models(job.tmp / "sparse");
  const auto [best, registered] = job.best_model(models);
  job.make_dataset(best, undistort ? job.tmp / "undistorted" : job.tmp / "dataset", undistort);
  const json rec = job.model_record(best, registered, models.size());
  std::ofstream(job.tmp / ".camgraph-sfm.json") << json{{"settings", settings}, {"record", rec}}.dump(2);
  fs::remove_all(ws, ec);
  fs::create_directories(ws.parent_path(), ec);
  fs::rename(job.tmp, ws, ec);
  if (ec) ctx.fail("workspace", "cannot move " + job.tmp.string() + " to " + ws.string() + ": " + ec.message());
  return rec;
}

// The registered views for splat.train (world coordinates of the COLMAP model), all at the first
// view's size, with the sparse points (world coordinates, colours in [0, 1]).
std::shared_ptr<FrameSequenceValue> load_views(NodeContext& ctx, const fs::path& root) {
  ctx.progress(0.98, "loading the registered views");
  splat::DatasetOptions opt;
  opt.downscale = int(ctx.param_int("downscale"));
  opt.holdout_every = 0;
  opt.normalise = false;
  opt.init = "auto";  // the model's sparse points (none: an empty set, no random ones)
  opt.random_points = 0;
  const splat::SplatDataset data = ctx.guard("workspace", "cannot read the COLMAP result: ", [&] {
    return splat::load_colmap_dataset(root, opt, [&](const std::string& w) { ctx.warn(w); });
  });
  if (data.train.empty()) ctx.fail("images", "the COLMAP model has no usable views");
  const int H = int(data.train[0].image.size(0)), W = int(data.train[0].image.size(1));
  std::vector<at::Tensor> frames;
  std::vector<Camera> cams;
  for (auto& v : data.train) {
    at::Tensor img = v.image;
    Camera c = v.camera;
    if (img.size(0) != H || img.size(1) != W) {
      img = at::upsample_bilinear2d(img.permute({2, 0, 1}).unsqueeze(0), {H, W}, false).squeeze(0).permute({1, 2, 0});
      c = c.resized(W, H);
    }
    frames.push_back(img.contiguous());
    cams.push_back(c);
  }
  auto views = std::make_shared<FrameSequenceValue>();
  views->frames = at::stack(frames).to(ctx.torch_device());
  views->cameras = cams;
  views->fps = 1;
  if (data.points.defined() && data.points.size(0) > 0) {
    const auto& nm = data.normalisation;  // identity scale without normalise; undone anyway
    const at::Tensor centre = at::tensor({float(nm.centre[0]), float(nm.centre[1]), float(nm.centre[2])});
    views->points = (data.points.to(at::kFloat) / float(nm.scale) + centre).contiguous();  // [P, 3]
    views->point_colours = data.point_colours.to(at::kFloat).contiguous();                 // [P, 3]
  }
  return views;
}

void colmap_execute(NodeContext& ctx) {
  const fs::path images = ctx.input_path("images");
  const std::vector<fs::path> files = list_photos(ctx, images);
  const fs::path colmap = find_colmap(ctx);
  const int threads = int(ctx.param_int("threads"));
  const bool undistort = ctx.param_bool("undistort");
  const json settings = workspace_settings(ctx, images, files);

  // The workspace: reused when a finished one was made from the same photos and settings; built
  // in <workspace>.partial and renamed into place when complete.
  const fs::path ws = ctx.output_path("workspace");
  const fs::path marker = ws / ".camgraph-sfm.json";
  const bool reuse = can_reuse_workspace(ctx, ws, marker, settings);
  const fs::path root = undistort ? ws / "undistorted" : ws / "dataset";
  json rec;
  if (reuse) {
    rec = json::parse(read_file(marker)).value("record", json::object());
    ctx.progress(0.95, "reusing the finished COLMAP workspace " + ws.string());
  } else {
    ColmapJob job{ctx,
                  colmap,
                  images,
                  ws.parent_path() / (ws.filename().string() + ".partial"),
                  files,
                  std::to_string(threads <= 0 ? -1 : threads),
                  ctx.param_bool("use_gpu") && ctx.device() == DeviceKind::Cuda ? "1" : "0",
                  {}};
    rec = build_workspace(ctx, job, ws, settings, undistort);
  }
  rec["workspace"] = ws.string();
  rec["dataset"] = root.string();

  const auto views = load_views(ctx, root);
  rec["points_on_wire"] = views->points.defined() ? views->points.size(0) : 0;
  ctx.set_output("views", views);
  ctx.set_record("model", rec);
  ctx.progress(1.0);
}

}  // namespace

void register_sfm_nodes(Registry& r) {
  r.add(
      {.type = "sfm.colmap",
       .category = "3D",
       .title = "Structure from Motion (COLMAP)",
       .doc = "Runs COLMAP on a folder of photos: SIFT features, exhaustive or sequential matching, incremental "
              "mapping, undistortion. Gives the registered views with their cameras (for splat.train's 'views') and "
              "the model folder (for splat.train's 'dataset', which also uses the sparse points). Progress follows "
              "COLMAP's output; a finished workspace is reused when the photos and settings are unchanged.",
       .outputs = {{"views", PortType::FrameSequence,
                    "registered, undistorted views with one camera each and the sparse points (positions, colours)"},
                   {"model", PortType::Record, "dataset folder, registered / unregistered images, points, timings"}},
       .params = {p_input_path("images", "", "dir", "folder of overlapping photos"),
                  p_output_path("workspace", "sfm", "COLMAP workspace folder (relative: under the output folder)"),
                  p_enum("matcher", "exhaustive", {"exhaustive", "sequential"},
                         "exhaustive: every pair (photos, up to a few hundred); sequential: neighbours in name order "
                         "(video frames)"),
                  p_int("sequential_overlap", 10, 1, 1000, "sequential: neighbours matched on each side"),
                  p_enum("camera_model", "SIMPLE_RADIAL",
                         {"SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL", "RADIAL", "OPENCV"}, "COLMAP camera model"),
                  p_bool("single_camera", true, "all photos share one camera (same lens and size)"),
                  p_int("max_image_size", 1600, 100, 10000, "SIFT on images at most this large (pixels)"),
                  p_int("max_features", 8192, 100, 100000, "SIFT features per image"),
                  p_int("threads", 0, 0, 256, "CPU threads (0: all)"),
                  p_bool("use_gpu", false, "COLMAP's GPU SIFT (only in CUDA builds of COLMAP and on CUDA runs)"),
                  p_int("min_registered", 3, 2, 100000, "fail when fewer photos register"),
                  p_float("min_registered_fraction", 0.5, 0, 1, "fail when a smaller fraction of the photos registers"),
                  p_bool("undistort", true, "undistort to pinhole views (COLMAP image_undistorter)"),
                  p_int("downscale", 1, 1, 64, "views output: integer downscale"),
                  p_string("colmap_binary", "colmap", "COLMAP executable (a name on PATH or a path)"),
                  p_bool("overwrite", false, "replace a workspace folder that sfm.colmap did not write")},
       .is_output = true,
       .execute = colmap_execute});
}

}  // namespace camgraph
