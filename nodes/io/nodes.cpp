// io family: image.load, image.save, frames.load, frames.save.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>

#include "camgraph/node_context.h"
#include "image_codec.h"
#include "video_load.h"

namespace camgraph {

namespace fs = std::filesystem;

namespace {

void image_load(NodeContext& ctx) {
  const fs::path p = ctx.input_path("path");
  auto img = std::make_shared<ImageValue>();
  img->pixels = ctx.guard("path", [&] { return io::read_image(p).to(ctx.torch_device()); });
  ctx.set_output("image", img);
}

std::string checked_extension(NodeContext& ctx, const std::string& param, const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (!io::is_image_file(p) || ext == ".exr")
    ctx.fail(param, "'" + p.filename().string() + "' has no supported image extension (.png, .jpg, .tif, .bmp, .webp)");
  return ext;
}

void image_save(NodeContext& ctx) {
  auto img = ctx.input<ImageValue>("image");
  const fs::path p = ctx.output_path("path");
  const std::string ext = checked_extension(ctx, "path", p);
  const std::string bytes = io::encode_image(img->pixels, ext, std::stoi(ctx.param_string("bit_depth")));
  ctx.guard("path", [&] { ctx.files().write(p, bytes, ctx.param_bool("overwrite")); });
  ctx.set_record("files", {{"files", {p.string()}}});
}

void frames_load(NodeContext& ctx) {
  if (!ctx.param_string("video").empty()) {
    auto seq = std::make_shared<FrameSequenceValue>();
    io::load_video_frames(ctx, *seq);
    ctx.set_output("frames", seq);
    return;
  }
  const fs::path dir = ctx.input_path("folder");
  if (!fs::is_directory(dir)) ctx.fail("folder", "'" + dir.string() + "' is not a folder");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && io::is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const int64_t max_frames = ctx.param_int("max_frames");
  if (max_frames > 0 && int64_t(files.size()) > max_frames) files.resize(size_t(max_frames));
  if (files.empty()) ctx.fail("folder", "no image files in " + dir.string());
  std::vector<at::Tensor> frames;
  for (size_t i = 0; i < files.size(); ++i) {
    ctx.check_cancelled();
    const at::Tensor f = ctx.guard("folder", [&] { return io::read_image(files[i]); });
    if (!frames.empty() && f.sizes() != frames.front().sizes())
      ctx.fail("folder", files[i].filename().string() + " is " + std::to_string(f.size(1)) + "x" +
                             std::to_string(f.size(0)) + " but the first frame is " +
                             std::to_string(frames.front().size(1)) + "x" + std::to_string(frames.front().size(0)));
    frames.push_back(f);
    ctx.progress(double(i + 1) / files.size(), files[i].filename().string());
  }
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::stack(frames).to(ctx.torch_device());  // [N, H, W, C]
  seq->fps = ctx.param_float("fps");
  ctx.set_output("frames", seq);
}

void frames_save(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("frames");
  const fs::path dir = ctx.output_path("folder");
  const std::string prefix = ctx.param_string("prefix");
  const std::string ext = "." + ctx.param_string("format");
  const bool overwrite = ctx.param_bool("overwrite");
  const int n = seq->count();
  if (n == 0) ctx.fail_port("frames", "the sequence has no frames");
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%05d", i);
    names.push_back(prefix + buf + ext);
  }
  // Check every target first: fail before writing anything rather than half-way.
  ctx.guard("folder", [&] {
    for (const auto& name : names) ctx.files().check_writable(dir / name, overwrite);
  });
  json written = json::array();
  for (int i = 0; i < n; ++i) {
    ctx.check_cancelled();
    ctx.files().write(dir / names[size_t(i)],
                      io::encode_image(seq->frames[i], ext, std::stoi(ctx.param_string("bit_depth"))), overwrite);
    written.push_back((dir / names[size_t(i)]).string());
    ctx.progress(double(i + 1) / n);
  }
  if (!seq->cameras.empty()) {
    json cams = json::array();
    for (const auto& c : seq->cameras) cams.push_back(c.to_json());
    const json doc = {{"fps", seq->fps}, {"frames", names}, {"cameras", cams}};
    ctx.files().write(dir / "cameras.json", doc.dump(1), overwrite);
    written.push_back((dir / "cameras.json").string());
  }
  ctx.set_record("files", {{"files", written}, {"fps", seq->fps}});
}

const char* kImageFilter = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.exr)";
const char* kVideoFilter = "Videos (*.mp4 *.mkv *.mov *.avi *.webm *.m4v *.gif *.y4m)";

}  // namespace

void register_io_nodes(Registry& r) {
  r.add({.type = "image.load",
         .category = "Input",
         .title = "Load Image",
         .doc = "Reads an image file (PNG, JPEG, TIFF, BMP, WebP, EXR; 8/16-bit; alpha kept).",
         .outputs = {{"image", PortType::Image, "the image, RGB or RGBA"}},
         .params = {p_input_path("path", "", kImageFilter, "image file (relative paths: from the graph's folder)")},
         .execute = image_load});
  r.add({.type = "frames.load",
         .category = "Input",
         .title = "Load Frames",
         .doc = "Reads every image in a folder, sorted by name, or the frames of a video file, as a frame "
                "sequence (a video's frame rate and each frame's time come with it).",
         .outputs = {{"frames", PortType::FrameSequence, "the frames"}},
         .params = {p_input_path("folder", "", "dir", "folder of images"),
                    p_float("fps", 24, 0.1, 1000, "frame rate of the sequence (a folder; a video says its own)"),
                    p_int("max_frames", 0, 0, 1e7, "read at most this many frames (0: all)"),
                    p_input_path("video", "", kVideoFilter, "a video file to read instead of the folder"),
                    p_int("start_frame", 0, 0, 1e9, "video: the first frame read (0-based)"),
                    p_int("end_frame", 0, 0, 1e9, "video: read up to this frame, not including it (0: to the end)"),
                    p_int("stride", 1, 1, 10000, "video: keep every n-th frame from start_frame"),
                    p_float("target_fps", 0, 0, 1000,
                            "video: keep the frames nearest this rate (0: the clip's rate / stride; never above it)"),
                    p_float("scale", 1, 0.01, 4, "video: scale of the frames (bilinear)")},
         .execute = frames_load});
  r.add({.type = "image.save",
         .category = "Output",
         .title = "Save Image",
         .doc = "Writes an image atomically. Never replaces a file that CamGraph did not write unless overwrite is on.",
         .inputs = {{"image", PortType::Image, "image to write"}},
         .outputs = {{"files", PortType::Record, "the files written"}},
         .params = {p_output_path("path", "image.png", "file to write (relative: under the run's output folder)"),
                    p_enum("bit_depth", "8", {"8", "16"}, "bits per channel (16: PNG/TIFF)"),
                    p_bool("overwrite", false, "replace an existing file that CamGraph did not write")},
         .is_output = true,
         .execute = image_save});
  r.add({.type = "frames.save",
         .category = "Output",
         .title = "Save Frames",
         .doc = "Writes a frame sequence as numbered images (and cameras.json when the frames carry cameras).",
         .inputs = {{"frames", PortType::FrameSequence, "frames to write"}},
         .outputs = {{"files", PortType::Record, "the files written"}},
         .params = {p_output_path("folder", "frames", "folder to write into (relative: under the run's output folder)"),
                    p_string("prefix", "frame_", "file name prefix; a 5-digit frame number follows"),
                    p_enum("format", "png", {"png", "jpg", "tif"}, "image format"),
                    p_enum("bit_depth", "8", {"8", "16"}, "bits per channel (16: PNG/TIFF)"),
                    p_bool("overwrite", false, "replace existing files that CamGraph did not write")},
         .is_output = true,
         .execute = frames_save});
}

}  // namespace camgraph
