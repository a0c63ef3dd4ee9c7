// sequence.join: shots -> one clip + the per-shot captions and frame ranges.
#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

#include "camgraph/node_context.h"
#include "sequence.h"

namespace camgraph::sequence {

Joined join_shots(const std::vector<Shot>& shots, const std::string& transition, int t) {
  Joined out;
  std::vector<at::Tensor> frames, depth;
  bool all_depth = true;
  for (const auto& s : shots) all_depth = all_depth && s.depth.defined();
  int64_t at_frame = 0;
  for (size_t k = 0; k < shots.size(); ++k) {
    const Shot& s = shots[k];
    const int64_t n = s.frames.size(0);
    at::Tensor f = s.frames.to(at::kCPU, at::kFloat).clone();
    std::vector<Camera> cams = s.cameras;
    int64_t first = at_frame;
    const bool has_next = k + 1 < shots.size();
    if (transition == "fade") {
      const int64_t tt = std::min<int64_t>(t, n);
      for (int64_t j = 0; j < tt; ++j) {
        const float w = float(j + 1) / float(tt + 1);
        if (k > 0) f[j].slice(-1, 0, 3).mul_(w);             // fade in
        if (has_next) f[n - 1 - j].slice(-1, 0, 3).mul_(w);  // fade out
      }
    }
    if (transition == "dissolve" && k > 0) {
      // Blend the first t frames of this shot into the last t already placed.
      const int64_t tt = std::min<int64_t>({int64_t(t), n, int64_t(frames.size())});
      for (int64_t j = 0; j < tt; ++j) {
        const float w = float(j + 1) / float(tt + 1);
        at::Tensor& prev = frames[frames.size() - size_t(tt) + size_t(j)];
        prev = prev * (1 - w) + f[j] * w;
        out.cameras[out.cameras.size() - size_t(tt) + size_t(j)] = cams[size_t(j)];
        if (all_depth) depth[depth.size() - size_t(tt) + size_t(j)] = s.depth[j].to(at::kCPU, at::kFloat);
      }
      first = at_frame - tt;
      out.transitions.push_back({{"type", "dissolve"}, {"after_shot", k - 1}, {"frames", {first, at_frame - 1}}});
      for (int64_t j = tt; j < n; ++j) {
        frames.push_back(f[j]);
        out.cameras.push_back(cams[size_t(j)]);
        if (all_depth) depth.push_back(s.depth[j].to(at::kCPU, at::kFloat));
      }
      at_frame += n - tt;
    } else {
      if (k > 0)
        out.transitions.push_back(
            {{"type", transition},
             {"after_shot", k - 1},
             {"frames", transition == "cut"
                            ? nlohmann::json({at_frame, at_frame})
                            : nlohmann::json({at_frame - std::min<int64_t>(t, shots[k - 1].frames.size(0)),
                                              at_frame + std::min<int64_t>(t, n) - 1})}});
      for (int64_t j = 0; j < n; ++j) {
        frames.push_back(f[j]);
        out.cameras.push_back(cams[size_t(j)]);
        if (all_depth) depth.push_back(s.depth[j].to(at::kCPU, at::kFloat));
      }
      at_frame += n;
    }
    out.shots.push_back({{"index", k}, {"caption", s.caption}, {"frames", {first, at_frame - 1}}});
  }
  out.frames = at::stack(frames).contiguous();
  if (all_depth) out.depth = at::stack(depth).contiguous();
  return out;
}

void join_execute(NodeContext& ctx) {
  std::vector<Shot> shots;
  double fps = 0;
  int64_t h = 0, w = 0, c = 0;
  for (int i = 1; i <= 4; ++i) {
    const std::string port = "shot_" + std::to_string(i);
    if (!ctx.has_input(port)) continue;
    auto seq = ctx.input<FrameSequenceValue>(port);
    if (seq->count() == 0) ctx.fail_port(port, "the shot has no frames");
    if (shots.empty()) {
      fps = seq->fps;
      h = seq->frames.size(1), w = seq->frames.size(2), c = seq->frames.size(3);
    } else {
      if (seq->frames.size(1) != h || seq->frames.size(2) != w || seq->frames.size(3) != c)
        ctx.fail_port(port, "frame size or channels differ from the first shot's (resize the shots first)");
      if (std::abs(seq->fps - fps) > 1e-6 * fps)
        ctx.fail_port(
            port, "frame rate " + std::to_string(seq->fps) + " differs from the first shot's " + std::to_string(fps));
    }
    if (!seq->cameras.empty() && seq->cameras.size() != size_t(seq->count()))
      ctx.fail_port(port, "cameras and frames differ in count");
    Shot s;
    s.frames = seq->frames;
    s.depth = seq->depth;
    s.cameras = seq->cameras;
    if (s.cameras.empty()) s.cameras.resize(size_t(seq->count()));
    const std::string cport = "caption_" + std::to_string(i);
    if (ctx.has_input(cport)) s.caption = ctx.input<TextValue>(cport)->text;
    shots.push_back(std::move(s));
  }
  if (shots.empty()) ctx.fail_port("shot_1", "connect at least one shot");
  const std::string transition = ctx.param_string("transition");
  const int t = int(ctx.param_int("transition_frames"));
  if (transition != "cut" && t < 1) ctx.fail("transition_frames", "a fade or dissolve needs at least one frame");
  const Joined j = join_shots(shots, transition, t);
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = j.frames;
  seq->depth = j.depth;
  seq->fps = fps;
  bool any_camera = false;
  for (const auto& cam : j.cameras) any_camera = any_camera || cam.width > 0;
  if (any_camera) seq->cameras = j.cameras;
  ctx.set_output("frames", seq);
  ctx.set_record("shots",
                 {{"shots", j.shots}, {"transitions", j.transitions}, {"frames", j.frames.size(0)}, {"fps", fps}});
}

}  // namespace camgraph::sequence

namespace camgraph {

void register_sequence_nodes(Registry& r) {
  r.add({.type = "sequence.join",
         .category = "Video",
         .title = "Join Shots",
         .doc = "Joins up to four shots (same size and fps) into one clip with cut, fade (through black) or "
                "dissolve transitions. The 'shots' record lists each shot's caption and frame range and each "
                "transition's frames; connect it to dataset.annotate's 'shots' input.",
         .inputs = {{"shot_1", PortType::FrameSequence, "first shot"},
                    {"shot_2", PortType::FrameSequence, "second shot", true},
                    {"shot_3", PortType::FrameSequence, "third shot", true},
                    {"shot_4", PortType::FrameSequence, "fourth shot", true},
                    {"caption_1", PortType::Text, "caption of shot 1", true},
                    {"caption_2", PortType::Text, "caption of shot 2", true},
                    {"caption_3", PortType::Text, "caption of shot 3", true},
                    {"caption_4", PortType::Text, "caption of shot 4", true}},
         .outputs = {{"frames", PortType::FrameSequence, "the joined clip (cameras and depth follow the frames)"},
                     {"shots", PortType::Record, "{shots: [{index, caption, frames}], transitions: [...]}"}},
         .params = {p_enum("transition", "cut", {"cut", "fade", "dissolve"}, "transition between shots"),
                    p_int("transition_frames", 8, 0, 1000, "fade: frames out and in; dissolve: overlapping frames")},
         .execute = sequence::join_execute});
}

}  // namespace camgraph
