// matting family: matting.remove_background (rembg's models through OpenCV dnn, or plain-background
// keying without weights). The compute code works on cv::Mat; this file adapts tensors and params.
#include <ATen/ATen.h>

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "camgraph/node_context.h"
#include "matting/keying.h"
#include "matting/refine.h"
#include "matting/rembg_model.h"

namespace camgraph {

namespace fs = std::filesystem;

namespace {

// [H, W, C] float tensor (any device) -> CV_32FC3 RGB; alpha, if any, is dropped.
cv::Mat to_rgb_mat(const at::Tensor& pixels) {
  at::Tensor t = pixels.detach().to(at::kCPU, at::kFloat).slice(2, 0, 3).contiguous();  // [H, W, 3]
  if (t.size(2) == 1) t = t.expand({t.size(0), t.size(1), 3}).contiguous();
  return cv::Mat(int(t.size(0)), int(t.size(1)), CV_32FC3, t.data_ptr<float>()).clone();
}

// CV_32FC1 / CV_32FC4 -> [H, W] / [H, W, 4] tensor.
at::Tensor to_tensor(const cv::Mat& m) {
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  if (m.channels() == 1) return at::from_blob(c.data, {c.rows, c.cols}, at::kFloat).clone();
  return at::from_blob(c.data, {c.rows, c.cols, c.channels()}, at::kFloat).clone();
}

std::vector<std::string> model_names() {
  std::vector<std::string> n;
  for (const auto& m : matting::known_models()) n.push_back(m.name);
  return n;
}

void remove_background(NodeContext& ctx) {
  auto img = ctx.input<ImageValue>("image");
  if (img->channels() < 3) ctx.fail_port("image", "expected an RGB or RGBA image");
  const cv::Mat rgb = to_rgb_mat(img->pixels);  // [H, W, 3]
  const std::string method = ctx.param_string("method");
  const std::string model_name = ctx.param_string("model");
  json rec = json::object();

  // Which model file, if any.
  fs::path model_file;
  std::string model_param = "model";
  if (method != "keying") {
    if (!ctx.param_string("model_path").empty()) {
      model_file = ctx.input_path("model_path");
      model_param = "model_path";
    } else {
      const auto lookup = matting::find_model_file(model_name);
      model_file = lookup.found;
      if (model_file.empty()) {
        const std::string msg = matting::missing_model_message(model_name, lookup.tried);
        if (method == "model") ctx.fail("model", msg);
        ctx.warn(msg + ". Using plain-background keying instead");
        rec["fallback_reason"] = model_name + ".onnx not found";
      }
    }
  }
  ctx.check_cancelled();

  cv::Mat alpha, fg;
  if (!model_file.empty()) {
    ctx.progress(0.05, "loading " + model_file.filename().string());
    std::shared_ptr<const matting::RembgModel> model;
    cv::Mat raw;
    try {
      model = matting::load_model_cached(model_file, matting::model_info(model_name), ctx.device() == DeviceKind::Cuda);
      ctx.progress(0.3, "running " + model_name);
      alpha = model->predict(rgb);
    } catch (const matting::ModelError& e) {
      ctx.fail(model_param, e.what());
    } catch (const cv::Exception& e) {
      ctx.fail(model_param, std::string("OpenCV error: ") + e.what());
    }
    ctx.check_cancelled();
    if (ctx.param_bool("cleanup"))
      alpha = matting::cleanup_mask(alpha, int(ctx.param_int("cleanup_kernel")), ctx.param_float("cleanup_blur"),
                                    ctx.param_float("cleanup_threshold"));
    if (ctx.param_bool("alpha_matting")) {
      ctx.progress(0.7, "alpha matting");
      const cv::Mat trimap = matting::trimap_from_alpha(alpha, ctx.param_int("am_fg_threshold") / 255.0,
                                                        ctx.param_int("am_bg_threshold") / 255.0,
                                                        int(ctx.param_int("am_erode_size")));
      alpha = matting::refine_alpha(rgb, trimap, alpha);
    }
    fg = ctx.param_bool("decontaminate") ? matting::decontaminate(rgb, alpha) : rgb;
    rec["method"] = "model";
    rec["model"] = model_name;
    rec["model_file"] = fs::absolute(model_file).lexically_normal().string();
    rec["model_hash"] = hash_file_hex(model_file);
    rec["backend"] = model->backend();
  } else {
    matting::KeyingOptions opt;
    opt.bg_tolerance = ctx.param_float("key_tolerance");
    opt.band = int(ctx.param_int("key_band"));
    opt.decontaminate = ctx.param_bool("decontaminate");
    ctx.progress(0.1, "keying");
    matting::KeyingResult k;
    try {
      k = matting::key_plain_background(rgb, opt);
    } catch (const matting::NoForeground& e) {
      ctx.fail_port("image", e.what());
    }
    alpha = k.alpha;
    fg = k.foreground;
    if (ctx.param_bool("cleanup"))
      alpha = matting::cleanup_mask(alpha, int(ctx.param_int("cleanup_kernel")), ctx.param_float("cleanup_blur"),
                                    ctx.param_float("cleanup_threshold"));
    json colours = json::array();
    for (const auto& c : k.background_colours) colours.push_back({c[0], c[1], c[2]});
    rec["method"] = "keying";
    rec["background_colours"] = colours;
    rec["border_noise"] = k.border_noise;
  }
  ctx.check_cancelled();

  // Bounding box of the visible alpha, padded; the offset lets a placer find the feet.
  cv::Rect box(0, 0, rgb.cols, rgb.rows);
  cv::Mat visible = alpha > 0.5 / 255;
  if (cv::countNonZero(visible) == 0)
    ctx.fail_port("image", "no foreground: the " + rec["method"].get<std::string>() + " alpha is zero everywhere");
  if (ctx.param_bool("trim")) {
    const int pad = int(ctx.param_int("padding"));
    const cv::Rect tight = cv::boundingRect(visible);
    box = cv::Rect(tight.x - pad, tight.y - pad, tight.width + 2 * pad, tight.height + 2 * pad) &
          cv::Rect(0, 0, rgb.cols, rgb.rows);
  }
  // Feet: the alpha-weighted centre of the lowest opaque rows (bottom 2% of the tight box).
  const cv::Rect tight = cv::boundingRect(visible);
  const int rows = std::max(1, tight.height / 50);
  double sw = 0, sx = 0;
  for (int y = tight.y + tight.height - rows; y < tight.y + tight.height; ++y)
    for (int x = tight.x; x < tight.x + tight.width; ++x) {
      sw += alpha.at<float>(y, x);
      sx += alpha.at<float>(y, x) * (x + 0.5);
    }
  const double feet_x = sw > 0 ? sx / sw : tight.x + tight.width / 2.0, feet_y = tight.y + tight.height;

  const bool premul = ctx.param_bool("premultiplied");
  cv::Mat rgba(box.size(), CV_32FC4);
  for (int y = 0; y < box.height; ++y)
    for (int x = 0; x < box.width; ++x) {
      const float a = alpha.at<float>(y + box.y, x + box.x);
      const cv::Vec3f f = fg.at<cv::Vec3f>(y + box.y, x + box.x);
      const float m = premul ? a : 1.f;
      rgba.at<cv::Vec4f>(y, x) = {std::clamp(f[0] * m, 0.f, 1.f), std::clamp(f[1] * m, 0.f, 1.f),
                                  std::clamp(f[2] * m, 0.f, 1.f), a};
    }

  rec["premultiplied"] = premul;
  rec["source_size"] = {rgb.cols, rgb.rows};
  rec["bbox"] = {{"x", box.x}, {"y", box.y}, {"width", box.width}, {"height", box.height}};
  rec["offset"] = {box.x, box.y};
  rec["feet"] = {feet_x, feet_y};  // source pixels
  rec["feet_in_cutout"] = {feet_x - box.x, feet_y - box.y};
  rec["coverage"] = cv::mean(alpha)[0];

  auto out = std::make_shared<ImageValue>();
  out->pixels = to_tensor(rgba).to(ctx.torch_device());  // [h, w, 4]
  out->colour_space = img->colour_space;
  auto mask = std::make_shared<MaskValue>();
  mask->mask = to_tensor(alpha).to(ctx.torch_device());  // [H, W]
  ctx.set_output("image", out);
  ctx.set_output("mask", mask);
  ctx.set_record("record", rec);
  ctx.progress(1.0);
}

}  // namespace

void register_matting_nodes(Registry& r) {
  r.add(
      {.type = "matting.remove_background",
       .category = "Image",
       .title = "Remove Background",
       .doc = "Cuts the subject out as RGBA: rembg's ONNX models (u2net, isnet...) through OpenCV dnn, or, "
              "without weights, plain-background keying (border colours, GrabCut, soft edges, colour "
              "decontamination). Trims to the subject and records the offset and the feet position.",
       .inputs = {{"image", PortType::Image, "image with a subject, ideally on a plain background"}},
       .outputs = {{"image", PortType::Image, "RGBA cutout (trimmed when trim is on)"},
                   {"mask", PortType::Mask, "full-frame alpha"},
                   {"record", PortType::Record, "bbox, offset, feet, method, model file and its hash"}},
       .params =
           {p_enum("method", "auto", {"auto", "model", "keying"},
                   "auto: the model when its file is found, else keying (with a warning)"),
            p_enum("model", "u2net", model_names(),
                   "rembg model: <model>.onnx in $U2NET_HOME, "
                   "$XDG_DATA_HOME/.u2net or ~/.u2net; also sets the pre-processing"),
            p_input_path("model_path", "", "ONNX models (*.onnx)", "explicit model file (overrides the search)"),
            p_bool("cleanup", false, "rembg's mask cleanup: opening, blur, threshold (hard edges)"),
            p_int("cleanup_kernel", 3, 1, 63, "cleanup: opening kernel size (pixels)"),
            p_float("cleanup_blur", 2.0, 0, 50, "cleanup: Gaussian blur sigma (pixels)"),
            p_float("cleanup_threshold", 0.5, 0, 1, "cleanup: alpha threshold"),
            p_bool("alpha_matting", false,
                   "model: refine the edges (trimap + closed-form colour-line alpha + guided filter)"),
            p_int("am_fg_threshold", 240, 0, 255, "alpha matting: model alpha (0-255) above which is foreground"),
            p_int("am_bg_threshold", 10, 0, 255, "alpha matting: model alpha (0-255) below which is background"),
            p_int("am_erode_size", 10, 0, 255, "alpha matting: erosion of the sure regions (pixels)"),
            p_float("key_tolerance", 0, 0, 1.8,
                    "keying: RGB distance to the border colours that is surely background (0: from the border noise)"),
            p_int("key_band", 0, 0, 256,
                  "keying: soft-edge band each side of the GrabCut boundary in pixels (0: automatic)"),
            p_bool("decontaminate", true, "remove background colour spill from edge pixels"),
            p_bool("premultiplied", false, "output premultiplied colour (else straight alpha)"),
            p_bool("trim", true, "crop to the subject's bounding box (offset in the record)"),
            p_int("padding", 0, 0, 4096, "trim: pixels kept around the bounding box")},
       .execute = remove_background});
}

}  // namespace camgraph
