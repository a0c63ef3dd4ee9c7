// frames.interpolate and its parts: warping, the IFNet against PyTorch goldens, version inference,
// the flow fallback, schedules, scene cuts, cameras, errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "camgraph/formats/torch_checkpoint.h"
#include "camgraph/node_context.h"
#include "camgraph/safetensors.h"
#include "interp/flow_fallback.h"
#include "interp/rife/ifnet.h"
#include "interp/rife/rife_model.h"
#include "interp/rife/warp.h"
#include "interp/schedule.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace camgraph;
using namespace camgraph::interp;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;

namespace camgraph {
void register_interp_nodes(Registry&);
}

namespace {

fs::path golden(const std::string& name) {
  return fs::path(CAMGRAPH_SOURCE_DIR) / "nodes" / "interp" / "tests" / "golden" / name;
}

// A smooth RGB pattern shifted by (dx, dy) pixels, [H, W, 3] in [0, 1].
cv::Mat pattern(int w, int h, float dx, float dy) {
  cv::Mat m(h, w, CV_32FC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float xs = x - dx, ys = y - dy;
      m.at<cv::Vec3f>(y, x) = cv::Vec3f(0.5f + 0.4f * std::sin(xs * 0.21f) * std::cos(ys * 0.17f),
                                        0.5f + 0.4f * std::cos(xs * 0.13f + ys * 0.11f),
                                        0.5f + 0.3f * std::sin((xs + 2 * ys) * 0.05f));
    }
  return m;
}

double mse(const cv::Mat& a, const cv::Mat& b, int border = 0) {
  const cv::Rect r(border, border, a.cols - 2 * border, a.rows - 2 * border);
  cv::Mat d;
  cv::absdiff(a(r), b(r), d);
  return cv::mean(d.mul(d))[0];
}

at::Tensor to_tensor(const cv::Mat& m) { return at::from_blob(m.data, {m.rows, m.cols, 3}, at::kFloat).clone(); }

}  // namespace

TEST(InterpWarp, ZeroFlowReturnsTheInputAndIntegerFlowShifts) {
  const at::Tensor img = at::rand({1, 3, 9, 13});
  EXPECT_TRUE(at::allclose(backward_warp(img, at::zeros({1, 2, 9, 13})), img, 1e-5, 1e-6));
  at::Tensor flow = at::zeros({1, 2, 9, 13});
  flow.select(1, 0).fill_(2.0);  // sample 2 pixels to the right
  const at::Tensor w = backward_warp(img, flow);
  EXPECT_TRUE(at::allclose(w.slice(3, 0, 11), img.slice(3, 2, 13), 1e-5, 1e-5));
  // Border padding: beyond the edge the last column repeats.
  EXPECT_TRUE(at::allclose(w.select(3, 12), img.select(3, 12), 1e-5, 1e-5));
}

TEST(InterpIFNet, MatchesPyTorchReferenceFor46And425Layouts) {
  CheckpointOptions keep;
  keep.strip_prefix = "";
  const auto io = load_torch_checkpoint(golden("ifnet_io.pkl"), keep);
  const at::Tensor img0 = io.at("img0"), img1 = io.at("img1");
  ASSERT_EQ(img0.sizes(), (std::vector<int64_t>{1, 3, 64, 128}));
  torch::NoGradGuard ng;
  struct Case {
    const char* file;
    const char* version;
    double t;
    const char* out;
  };
  for (const Case& c :
       {Case{"ifnet_v46_tiny.pkl", "4.6", 0.5, "out_v46_t0.5"}, Case{"ifnet_v46_tiny.pkl", "4.6", 0.3, "out_v46_t0.3"},
        Case{"ifnet_v425_tiny.pkl", "4.25", 0.5, "out_v425_t0.5"}}) {
    const auto state = load_torch_checkpoint(golden(c.file));  // "module." removed
    const IFNetLayout layout = infer_ifnet_layout(state, c.file);
    EXPECT_EQ(layout.version, c.version);
    IFNet net(layout);
    net->load_state(state, c.file);
    const at::Tensor out = net->forward(img0, img1, c.t);
    ASSERT_EQ(out.sizes(), img0.sizes());
    const double err = (out - io.at(c.out)).abs().max().item<double>();
    EXPECT_LT(err, 1e-4) << c.file << " t=" << c.t;
    // The reference differs from the inputs (the test would notice a no-op network).
    EXPECT_GT((io.at(c.out) - img0).abs().max().item<double>(), 1e-2);
  }
}

TEST(InterpIFNet, LayoutInferenceReadsShapes) {
  const auto state = load_torch_checkpoint(golden("ifnet_v425_tiny.pkl"));
  const IFNetLayout l = infer_ifnet_layout(state, "v425");
  EXPECT_EQ(l.blocks(), 5);
  EXPECT_EQ(l.widths, (std::vector<int64_t>{16, 12, 8, 8, 8}));
  EXPECT_EQ(l.res_convs, 2);
  EXPECT_EQ(l.head_out, 4);
  EXPECT_EQ(l.feat_channels(), 8);
  EXPECT_EQ(l.pad_multiple(1.0), 64);
  EXPECT_EQ(l.pad_multiple(0.5), 128);
  const auto s46 = load_torch_checkpoint(golden("ifnet_v46_tiny.pkl"));
  const IFNetLayout l46 = infer_ifnet_layout(s46, "v46");
  EXPECT_EQ(l46.pad_multiple(1.0), 32);
  EXPECT_EQ(l46.in_channels, (std::vector<int64_t>{7, 12, 12, 12}));  // as Practical-RIFE 4.6: IFBlock(7), IFBlock(8+4)
  EXPECT_EQ(l46.feat_channels(), 0);

  // A tensor missing or an extra one is an error naming it.
  auto broken = s46;
  broken.erase("block2.convblock.1.beta");
  IFNet net(infer_ifnet_layout(s46, "x"));
  EXPECT_NE(error_of([&] { net->load_state(broken, "w.pkl"); }).find("block2.convblock.1.beta"), std::string::npos);
  auto extra = s46;
  extra["teacher.weight"] = at::zeros({1});
  EXPECT_NE(error_of([&] { net->load_state(extra, "w.pkl"); }).find("teacher.weight"), std::string::npos);
  EXPECT_NE(error_of([&] {
              infer_ifnet_layout({{"conv.weight", at::zeros({1, 1, 3, 3})}}, "other.pth");
            }).find("not a RIFE IFNet"),
            std::string::npos);
}

TEST(InterpRife, RunsOnOddSizesWithPaddingAndKeepsEndpoints) {
  RifeModel model(golden("ifnet_v46_tiny.pkl"), c10::Device(c10::kCPU), true /* ignored on CPU */);
  EXPECT_EQ(model.version(), "4.6");
  EXPECT_FALSE(model.half());
  const at::Tensor a = to_tensor(pattern(70, 45, 0, 0)), b = to_tensor(pattern(70, 45, 2, 1));
  const at::Tensor mid = model.interpolate(a, b, 0.5);
  ASSERT_EQ(mid.sizes(), a.sizes());
  EXPECT_GE(mid.min().item<float>(), 0.f);
  EXPECT_LE(mid.max().item<float>(), 1.f);
  // Same result as the network on an explicitly padded input, cropped.
  const at::Tensor batched = model.interpolate(a.unsqueeze(0), b.unsqueeze(0), 0.5);
  EXPECT_TRUE(at::allclose(batched.squeeze(0), mid, 1e-5, 1e-5));
}

TEST(InterpFlow, EndpointsAreInputsAndShiftIsRecovered) {
  const cv::Mat a = pattern(160, 120, 0, 0), b = pattern(160, 120, 6, 3), gt = pattern(160, 120, 3, 1.5);
  const FlowPair p = compute_flow_pair(a, b);
  EXPECT_EQ(mse(interpolate_flow(p, 0.f), a), 0.0);
  EXPECT_EQ(mse(interpolate_flow(p, 1.f), b), 0.0);
  const cv::Mat mid = interpolate_flow(p, 0.5f), blend = interpolate_blend(a, b, 0.5f);
  const double e_flow = mse(mid, gt, 8), e_blend = mse(blend, gt, 8);
  EXPECT_LT(e_flow, e_blend / 10) << e_flow << " vs blend " << e_blend;
  // The mean flow is the shift.
  const cv::Scalar f = cv::mean(p.flow01(cv::Rect(16, 16, 128, 88)));
  EXPECT_NEAR(f[0], 6.0, 0.5);
  EXPECT_NEAR(f[1], 3.0, 0.5);
  // Zero flow warps to the input.
  EXPECT_EQ(mse(warp_by_flow(a, cv::Mat::zeros(a.size(), CV_32FC2)), a), 0.0);
}

TEST(InterpFlow, MedianRemovesAnIsolatedFlowOutlier) {
  // Identical frames, zero flow except a 2x2 block of frame 0 that claims to move 8 px right: it
  // lands on well-tracked pixels and, without the median, samples the wrong place there.
  const cv::Mat a = pattern(96, 64, 0, 0);
  FlowPair p;
  p.image0 = a;
  p.image1 = a.clone();
  p.flow01 = cv::Mat::zeros(a.size(), CV_32FC2);
  p.flow10 = cv::Mat::zeros(a.size(), CV_32FC2);
  p.flow01(cv::Rect(40, 30, 2, 2)).setTo(cv::Scalar(8, 0));
  p.error0 = cv::Mat::zeros(a.size(), CV_32FC1);
  p.error1 = cv::Mat::zeros(a.size(), CV_32FC1);
  FlowOptions raw;
  raw.flow_median = 0;
  FlowOptions filtered;
  filtered.flow_median = 5;
  const double e_raw = mse(interpolate_flow(p, 0.5f, raw), a), e_filtered = mse(interpolate_flow(p, 0.5f, filtered), a);
  EXPECT_GT(e_raw, 1e-9);  // 4 wrong pixels of 6144
  EXPECT_LT(e_filtered, 1e-12) << "raw " << e_raw;
  // The defaults filter.
  EXPECT_LT(mse(interpolate_flow(p, 0.5f), a), 1e-12);
}

TEST(InterpFlow, PhotometricErrorIsSmallWhereTheFlowIsRight) {
  const cv::Mat a = pattern(160, 120, 0, 0), b = pattern(160, 120, 6, 3);
  const FlowPair p = compute_flow_pair(a, b);
  cv::Mat d;
  cv::absdiff(a, b, d);
  const double unaligned = cv::mean(d)[0];
  const cv::Rect inner(16, 16, 128, 88);
  EXPECT_LT(cv::mean(p.photo0(inner))[0], unaligned / 4);
  EXPECT_LT(cv::mean(p.photo1(inner))[0], unaligned / 4);
}

TEST(InterpSchedule, MultiplierAndTargetFps) {
  const Schedule s = make_schedule(3, 10, 4, 0);
  ASSERT_EQ(s.size(), 9);
  EXPECT_DOUBLE_EQ(s.fps, 40);
  EXPECT_EQ(s.pair[5], 1);
  EXPECT_DOUBLE_EQ(s.t[5], 0.25);
  EXPECT_EQ(s.pair[8], 2);
  EXPECT_DOUBLE_EQ(s.t[8], 0.0);
  const Schedule f = make_schedule(25, 24, 1, 60);  // 1 s at 24 fps -> 61 frames at 60 fps
  ASSERT_EQ(f.size(), 61);
  EXPECT_EQ(f.pair[5], 2);  // 5/60 s = 2 frames at 24 fps
  EXPECT_NEAR(f.t[5], 0.0, 1e-9);
  EXPECT_EQ(f.pair[1], 0);
  EXPECT_NEAR(f.t[1], 0.4, 1e-9);
  EXPECT_EQ(f.pair.back(), 24);
}

TEST(InterpSchedule, SceneSimilarityAndCameras) {
  const cv::Mat a = pattern(200, 120, 0, 0), b = pattern(200, 120, 1, 0);
  cv::Mat other(120, 200, CV_32FC3);
  cv::randu(other, 0.f, 1.f);
  EXPECT_GT(scene_similarity(a, b), 0.8);
  EXPECT_LT(scene_similarity(a, other), 0.2);

  Camera c0 = Camera::from_fov(64, 48, 60, Camera::look_at({0, 0, -5}, {0, 0, 0}, {0, -1, 0}));
  Camera c1 = Camera::from_fov(64, 48, 60, Camera::look_at({5, 0, 0}, {0, 0, 0}, {0, -1, 0}));
  const Camera m = interpolate_camera(c0, c1, 0.5);
  const Vec3 p = m.position();
  EXPECT_NEAR(p[0], 2.5, 1e-9);
  EXPECT_NEAR(p[2], -2.5, 1e-9);
  // Rotation half way: the camera's forward axis (third row of R_w2c) bisects the two.
  const auto& w = m.world_to_camera;
  EXPECT_NEAR(w[8], -std::sqrt(0.5), 1e-9);
  EXPECT_NEAR(w[9], 0.0, 1e-9);
  EXPECT_NEAR(w[10], std::sqrt(0.5), 1e-9);
  EXPECT_TRUE(interpolate_camera(c0, c1, 0.0) == c0);
}

namespace {

struct NodeRun {
  std::shared_ptr<const FrameSequenceValue> frames;
  json record;
  std::vector<std::string> warnings;
};

NodeRun run_interpolate(const json& params, std::shared_ptr<FrameSequenceValue> in) {
  static const Registry registry = [] {
    Registry r;
    register_interp_nodes(r);
    return r;
  }();
  const NodeSpec* spec = registry.find("frames.interpolate");
  if (!spec) throw std::runtime_error("frames.interpolate is not registered");
  NodeInstance node;
  node.id = "interp";
  node.type = "frames.interpolate";
  node.params = params;
  const auto dir = temp_dir("interp-node");
  OutputFiles files(dir);
  NodeContext::Setup s;
  s.node = &node;
  s.spec = spec;
  s.inputs = {{"frames", in}};
  s.output_files = &files;
  s.out_dir = dir;
  s.graph_dir = dir;
  NodeRun r;
  s.events = [&r](const Event& e) {
    if (e.kind == EventKind::Warning) r.warnings.push_back(e.message);
  };
  NodeContext ctx(s);
  spec->execute(ctx);
  r.frames = std::dynamic_pointer_cast<const FrameSequenceValue>(ctx.outputs().at("frames"));
  r.record = std::dynamic_pointer_cast<const RecordValue>(ctx.outputs().at("record"))->record;
  return r;
}

std::shared_ptr<FrameSequenceValue> sequence(const std::vector<cv::Mat>& frames, double fps) {
  auto seq = std::make_shared<FrameSequenceValue>();
  std::vector<at::Tensor> t;
  for (const auto& f : frames) t.push_back(to_tensor(f));
  seq->frames = at::stack(t);
  seq->fps = fps;
  return seq;
}

}  // namespace

TEST(InterpNode, FlowDoublesFpsKeepsInputsAndFollowsCameras) {
  auto in = sequence({pattern(96, 64, 0, 0), pattern(96, 64, 4, 2), pattern(96, 64, 8, 4)}, 12);
  in->cameras = {Camera::from_fov(96, 64, 50, Camera::look_at({0, 0, -5}, {0, 0, 0}, {0, -1, 0})),
                 Camera::from_fov(96, 64, 50, Camera::look_at({1, 0, -5}, {1, 0, 0}, {0, -1, 0})),
                 Camera::from_fov(96, 64, 50, Camera::look_at({2, 0, -5}, {2, 0, 0}, {0, -1, 0}))};
  const NodeRun r = run_interpolate({{"method", "auto"}}, in);
  ASSERT_EQ(r.frames->count(), 5);
  EXPECT_DOUBLE_EQ(r.frames->fps, 24);
  EXPECT_EQ(r.record["method"], "flow");
  EXPECT_TRUE(at::equal(r.frames->frames[0], in->frames[0]));
  EXPECT_TRUE(at::equal(r.frames->frames[2], in->frames[1]));
  EXPECT_TRUE(at::equal(r.frames->frames[4], in->frames[2]));
  const cv::Mat gt = pattern(96, 64, 2, 1);
  at::Tensor mid = r.frames->frames[1].contiguous();
  const cv::Mat m(64, 96, CV_32FC3, mid.data_ptr<float>());
  EXPECT_LT(mse(m, gt, 8), mse(interpolate_blend(pattern(96, 64, 0, 0), pattern(96, 64, 4, 2), 0.5f), gt, 8) / 4);
  ASSERT_EQ(r.frames->cameras.size(), 5u);
  EXPECT_NEAR(r.frames->cameras[1].position()[0], 0.5, 1e-9);
  EXPECT_NEAR(r.frames->cameras[3].position()[0], 1.5, 1e-9);
}

TEST(InterpNode, SceneCutDuplicatesAndIsReported) {
  cv::Mat noise(64, 96, CV_32FC3);
  cv::randu(noise, 0.f, 1.f);
  auto in = sequence({pattern(96, 64, 0, 0), noise}, 10);
  const NodeRun r = run_interpolate({{"method", "blend"}, {"multiplier", 4}}, in);
  ASSERT_EQ(r.frames->count(), 5);
  EXPECT_EQ(r.record["scene_cuts"].size(), 1u);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("scene cut"), std::string::npos);
  EXPECT_TRUE(at::equal(r.frames->frames[1], in->frames[0]));  // t = 0.25
  EXPECT_TRUE(at::equal(r.frames->frames[2], in->frames[0]));  // t = 0.5: the earlier frame
  EXPECT_TRUE(at::equal(r.frames->frames[3], in->frames[1]));  // t = 0.75

  const NodeRun off = run_interpolate({{"method", "blend"}, {"multiplier", 2}, {"scene_cut_ssim", 0.0}}, in);
  EXPECT_TRUE(at::allclose(off.frames->frames[1], (in->frames[0] + in->frames[1]) / 2, 1e-6, 1e-6));
}

TEST(InterpNode, RifeFromWeightsAndTargetFps) {
  auto in = sequence({pattern(64, 40, 0, 0), pattern(64, 40, 2, 1)}, 24);
  const NodeRun r = run_interpolate({{"method", "auto"},
                                     {"model_path", golden("ifnet_v425_tiny.pkl").string()},
                                     {"mode", "target_fps"},
                                     {"target_fps", 48.0}},
                                    in);
  EXPECT_EQ(r.record["method"], "rife");
  EXPECT_EQ(r.record["rife_version"], "4.25");
  ASSERT_EQ(r.frames->count(), 3);
  EXPECT_DOUBLE_EQ(r.frames->fps, 48);
  RifeModel model(golden("ifnet_v425_tiny.pkl"), c10::Device(c10::kCPU), false);
  EXPECT_TRUE(at::allclose(r.frames->frames[1], model.interpolate(in->frames[0], in->frames[1], 0.5), 1e-5, 1e-5));
}

TEST(InterpNode, ErrorsNameTheParameter) {
  auto in = sequence({pattern(32, 32, 0, 0), pattern(32, 32, 1, 0)}, 24);
  std::string err = error_of([&] { run_interpolate({{"method", "rife"}}, in); });
  EXPECT_NE(err.find("model_path"), std::string::npos) << err;
  EXPECT_NE(err.find("flownet.pkl"), std::string::npos) << err;
  const auto dir = temp_dir("interp-bad");
  { std::ofstream(dir / "flownet.pkl") << "not a checkpoint"; }
  err = error_of([&] { run_interpolate({{"method", "rife"}, {"model_path", (dir / "flownet.pkl").string()}}, in); });
  EXPECT_NE(err.find("model_path"), std::string::npos) << err;
  EXPECT_NE(err.find("flownet.pkl"), std::string::npos) << err;
  err = error_of([&] {
    run_interpolate({{"method", "rife"}, {"model_path", golden("ifnet_v46_tiny.pkl").string()}, {"scale", 0.3}}, in);
  });
  EXPECT_NE(err.find("scale"), std::string::npos) << err;
}
