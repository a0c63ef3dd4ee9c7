// core family: image.pattern, image.resize, text.prompt, record.save.
#include <ATen/ATen.h>

#include "camgraph/node_context.h"

namespace camgraph {

namespace {

at::Tensor colour_tensor(const std::array<double, 4>& c, int channels) {  // [C]
  return at::tensor({float(c[0]), float(c[1]), float(c[2]), float(c[3])}).slice(0, 0, channels);
}

void pattern_execute(NodeContext& ctx) {
  const int w = int(ctx.param_int("width")), h = int(ctx.param_int("height"));
  const std::string kind = ctx.param_string("pattern");
  const bool alpha = ctx.param_bool("alpha");
  const int c = alpha ? 4 : 3;
  const at::Tensor a = colour_tensor(ctx.param_colour("colour_a"), c);  // [C]
  const at::Tensor b = colour_tensor(ctx.param_colour("colour_b"), c);  // [C]
  at::Tensor t;                                                         // [H, W, 1] blend weight of colour_b
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  if (kind == "solid") {
    t = at::zeros({h, w, 1}, opts);
  } else if (kind == "checker") {
    const int cell = int(ctx.param_int("cell_size"));
    auto ys = at::arange(h, opts).floor_divide(cell).view({h, 1, 1});
    auto xs = at::arange(w, opts).floor_divide(cell).view({1, w, 1});
    t = at::remainder(ys + xs, 2.0);
  } else if (kind == "gradient") {
    t = at::linspace(0, 1, w, opts).view({1, w, 1}).expand({h, w, 1});
  } else {  // noise: value noise from the seed, smoothed by the cell size
    auto gen = at::make_generator<at::CPUGeneratorImpl>(ctx.param_seed("seed"));
    const int cell = int(ctx.param_int("cell_size"));
    const int gh = h / cell + 2, gw = w / cell + 2;
    at::Tensor grid = at::rand({1, 1, gh, gw}, gen, opts);
    t = at::upsample_bicubic2d(grid, {gh * cell, gw * cell}, false).slice(2, 0, h).slice(3, 0, w);
    t = t.clamp(0, 1).view({h, w, 1});
  }
  auto img = std::make_shared<ImageValue>();
  img->pixels = (a.view({1, 1, c}) * (1 - t) + b.view({1, 1, c}) * t).contiguous().to(ctx.torch_device());
  ctx.set_output("image", img);
}

void resize_execute(NodeContext& ctx) {
  auto in = ctx.input<ImageValue>("image");
  const int w = int(ctx.param_int("width")), h = int(ctx.param_int("height"));
  const std::string filter = ctx.param_string("filter");
  at::Tensor x = in->pixels.permute({2, 0, 1}).unsqueeze(0);  // [1, C, H, W]
  at::Tensor y;
  if (filter == "nearest") y = at::upsample_nearest2d(x, {h, w});
  else if (filter == "bilinear") y = at::upsample_bilinear2d(x, {h, w}, false);
  else if (filter == "bicubic") y = at::upsample_bicubic2d(x, {h, w}, false).clamp(0, 1);
  else y = at::adaptive_avg_pool2d(x, {h, w});  // area
  auto out = std::make_shared<ImageValue>();
  out->pixels = y.squeeze(0).permute({1, 2, 0}).contiguous();  // [H, W, C]
  out->colour_space = in->colour_space;
  ctx.set_output("image", out);
}

void prompt_execute(NodeContext& ctx) {
  auto t = std::make_shared<TextValue>();
  t->text = ctx.param_string("text");
  ctx.set_output("text", t);
}

void record_save_execute(NodeContext& ctx) {
  auto rec = ctx.input<RecordValue>("record");
  const std::filesystem::path p = ctx.output_path("path");
  ctx.guard("path", [&] { ctx.files().write(p, rec->record.dump(2) + "\n", ctx.param_bool("overwrite")); });
  ctx.set_record("files", {{"files", {p.string()}}});
}

}  // namespace

void register_core_nodes(Registry& r) {
  r.add(
      {.type = "image.pattern",
       .category = "Image",
       .title = "Pattern",
       .doc = "Generates an image: solid colour, checkerboard, horizontal gradient or seeded value noise.",
       .outputs = {{"image", PortType::Image, "the generated image"}},
       .params = {p_int("width", 512, 1, 16384, "width in pixels"), p_int("height", 512, 1, 16384, "height in pixels"),
                  p_enum("pattern", "checker", {"solid", "checker", "gradient", "noise"}, "what to draw"),
                  p_colour("colour_a", "#202020", "first colour"), p_colour("colour_b", "#e0e0e0", "second colour"),
                  p_int("cell_size", 32, 1, 4096, "checker cell / noise feature size in pixels"),
                  p_bool("alpha", false, "output RGBA (alpha from the colours)"), p_seed("seed", 0, "noise seed")},
       .execute = pattern_execute});
  r.add({.type = "image.resize",
         .category = "Image",
         .title = "Resize",
         .doc = "Resamples an image to a new size.",
         .inputs = {{"image", PortType::Image, "image to resize"}},
         .outputs = {{"image", PortType::Image, "resized image"}},
         .params = {p_int("width", 512, 1, 16384, "new width"), p_int("height", 512, 1, 16384, "new height"),
                    p_enum("filter", "area", {"nearest", "bilinear", "bicubic", "area"},
                           "resampling filter (area: box average, best for shrinking)")},
         .execute = resize_execute});
  r.add({.type = "text.prompt",
         .category = "Text",
         .title = "Prompt",
         .doc = "A text value: a prompt, a caption template or a subject description.",
         .outputs = {{"text", PortType::Text, "the text"}},
         .params = {p_text("text", "", "the text")},
         .execute = prompt_execute});
  r.add({.type = "record.save",
         .category = "Output",
         .title = "Save Record",
         .doc = "Writes a record (metrics, metadata) as a JSON file, atomically.",
         .inputs = {{"record", PortType::Record, "the record to write"}},
         .outputs = {{"files", PortType::Record, "the file written"}},
         .params = {p_output_path("path", "record.json", "file to write (relative: under the run's output folder)"),
                    p_bool("overwrite", false, "replace an existing file that CamGraph did not write")},
         .is_output = true,
         .execute = record_save_execute});
}

}  // namespace camgraph
