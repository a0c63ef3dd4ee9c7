// matting family: rembg pre/post-processing against a numpy golden, model errors, keying accuracy
// on exact composites, and the node's outputs (trim, offset, feet, premultiplied, fallback).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"
#include "matting/keying.h"
#include "matting/refine.h"
#include "matting/rembg_model.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::shared_dir;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kSource = CAMGRAPH_SOURCE_DIR;
const fs::path kGolden = kSource / "nodes/matting/tests/golden";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The golden image of make_tiny_model.py (16 x 24, RGB in [0, 0.8]).
cv::Mat golden_image() {
  cv::Mat img(16, 24, CV_32FC3);
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x)
      img.at<cv::Vec3f>(y, x) = {float(((x * 37 + y * 11) % 64) / 63.0 * 0.8),
                                 float(((x * 5 + y * 23) % 50) / 49.0 * 0.8), float(((x * x + y) % 31) / 30.0 * 0.8)};
  return img;
}

double max_abs_diff(const cv::Mat& m, const json& rows) {
  double worst = 0;
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) worst = std::max(worst, std::abs(m.at<float>(y, x) - rows[y][x].get<double>()));
  return worst;
}

// A character-like subject over a plain background: an ellipse "body" with a colour texture and
// a 3-pixel linear soft edge, plus a thin "arm". Exact alpha and foreground colours.
struct Composite {
  cv::Mat image, alpha, fg;  // CV_32FC3, CV_32FC1, CV_32FC3
};
Composite make_composite(int W, int H, cv::Vec3f bg) {
  Composite c{cv::Mat(H, W, CV_32FC3), cv::Mat(H, W, CV_32F), cv::Mat(H, W, CV_32FC3)};
  const double cx = W * 0.5, cy = H * 0.55, rx = W * 0.22, ry = H * 0.35;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double px = x + 0.5, py = y + 0.5;
      const double e = std::sqrt(std::pow((px - cx) / rx, 2) + std::pow((py - cy) / ry, 2));
      const double edge_px = (1 - e) * std::min(rx, ry);     // signed distance-ish, pixels
      double a = std::clamp(edge_px / 3.0 + 0.5, 0.0, 1.0);  // 3-pixel ramp
      const double arm = std::abs(py - (cy - 0.1 * H)) < 2.0 && px > cx && px < cx + 0.42 * W ? 1.0 : 0.0;
      a = std::max(a, arm);
      const cv::Vec3f f(float(0.2 + 0.6 * (x % 17) / 16.0), float(0.15 + 0.3 * (y % 11) / 10.0), float(0.35));
      c.alpha.at<float>(y, x) = float(a);
      c.fg.at<cv::Vec3f>(y, x) = f;
      c.image.at<cv::Vec3f>(y, x) = f * float(a) + bg * float(1 - a);
    }
  return c;
}

double mse(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d = a - b;
  return cv::mean(d.mul(d))[0];
}
double sad(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_L1) / 1000.0; }

void write_png(const fs::path& p, const cv::Mat& rgb) {
  cv::Mat bgr, u8;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bgr.convertTo(u8, CV_8UC3, 255.0);
  ASSERT_TRUE(cv::imwrite(p.string(), u8));
}

// Sets environment variables for one test and restores them.
struct ScopedEnv {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& k, const std::string& v) {
    const char* old = std::getenv(k.c_str());
    saved.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      it->second ? ::setenv(it->first.c_str(), it->second->c_str(), 1) : ::unsetenv(it->first.c_str());
  }
};

struct NodeRun {
  RunResult result;
  std::vector<std::string> warnings;
  std::map<std::string, Value> outputs;
};

// image.load(png) -> matting.remove_background(params).
NodeRun run_node(const fs::path& dir, const fs::path& png, const json& params) {
  const json doc = {{"format", "camgraph"},
                    {"version", 1},
                    {"graph",
                     {{"nodes",
                       {{{"id", "load"}, {"type", "image.load"}, {"params", {{"path", png.string()}}}},
                        {{"id", "cut"}, {"type", "matting.remove_background"}, {"params", params}}}},
                      {"links", {{{"from", "load.image"}, {"to", "cut.image"}}}}}}};
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir;
  opt.graph_dir = dir;
  opt.targets = {"cut"};
  NodeRun r;
  opt.on_event = [&](const Event& e) {
    if (e.kind == EventKind::Warning) r.warnings.push_back(e.message);
  };
  r.result = ev.run(load_cgraph_text(doc.dump(), builtin_registry()).graph, opt);
  if (r.result.ok) r.outputs = ev.outputs("cut");
  return r;
}

cv::Mat mask_of(const Value& v) {
  auto m = std::dynamic_pointer_cast<const MaskValue>(v);
  at::Tensor t = m->mask.contiguous();
  return cv::Mat(int(t.size(0)), int(t.size(1)), CV_32F, t.data_ptr<float>()).clone();
}

}  // namespace

// ---- rembg pre/post-processing through a tiny ONNX model --------------------------------------

TEST(TinyModel, MatchesNumpyGolden) {
  const json expected = json::parse(read_text(kGolden / "tiny_expected.json"));
  matting::ModelInfo info{"tiny", expected["model"]["size"].get<int>(), {}, {}};
  for (int c = 0; c < 3; ++c) {
    info.mean[size_t(c)] = expected["model"]["mean"][c].get<float>();
    info.std[size_t(c)] = expected["model"]["std"][c].get<float>();
  }
  const matting::RembgModel model(kGolden / "tiny_model.onnx", info);
  EXPECT_EQ(model.output_name(), expected["model"]["first_output"].get<std::string>());
  const cv::Mat img = golden_image();
  const cv::Mat raw = model.predict_raw(img);
  ASSERT_EQ(raw.rows, 8);
  ASSERT_EQ(raw.cols, 8);
  EXPECT_LE(max_abs_diff(raw, expected["raw"]), 2e-5);
  const cv::Mat full = model.predict(img);
  ASSERT_EQ(full.size(), img.size());
  EXPECT_LE(max_abs_diff(full, expected["full"]), 2e-5);
}

TEST(TinyModel, RunsThroughTheNodeAndRecordsTheFileHash) {
  const fs::path dir = temp_dir("matting-tiny-node");
  write_png(dir / "in.png", golden_image());
  const fs::path onnx = kGolden / "tiny_model.onnx";
  NodeRun r = run_node(dir, dir / "in.png",
                       {{"method", "model"}, {"model", "u2netp"}, {"model_path", onnx.string()}, {"trim", false}});
  ASSERT_TRUE(r.result.ok) << r.result.nodes["cut"].error;
  auto rec = std::dynamic_pointer_cast<const RecordValue>(r.outputs.at("record"))->record;
  EXPECT_EQ(rec["method"], "model");
  EXPECT_EQ(rec["model"], "u2netp");
  EXPECT_EQ(rec["model_hash"], hash_file_hex(onnx));
  auto img = std::dynamic_pointer_cast<const ImageValue>(r.outputs.at("image"));
  EXPECT_EQ(img->pixels.sizes(), (std::vector<int64_t>{16, 24, 4}));
  const cv::Mat m = mask_of(r.outputs.at("mask"));
  double mn, mx;
  cv::minMaxLoc(m, &mn, &mx);
  EXPECT_GE(mn, 0.0);
  EXPECT_LE(mx, 1.0);
  EXPECT_GT(mx - mn, 0.5);  // min-max normalised at 320 x 320, then resized
}

TEST(ModelErrors, CorruptOnnxIsReportedAsSuch) {
  const fs::path dir = temp_dir("matting-corrupt");
  const std::string good = read_text(kGolden / "tiny_model.onnx");
  {
    std::ofstream(dir / "truncated.onnx", std::ios::binary) << good.substr(0, good.size() / 2);
    std::ofstream(dir / "text.onnx", std::ios::binary) << "<html>404 Not Found</html>";
  }
  for (const char* name : {"truncated.onnx", "text.onnx"}) {
    try {
      matting::RembgModel m(dir / name, matting::model_info("u2net"));
      FAIL() << name << " loaded";
    } catch (const matting::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("not a valid ONNX model"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  write_png(dir / "in.png", golden_image());
  NodeRun r = run_node(dir, dir / "in.png", {{"method", "auto"}, {"model_path", (dir / "truncated.onnx").string()}});
  EXPECT_FALSE(r.result.ok);
  EXPECT_EQ(r.result.nodes["cut"].error_param, "model_path");
  EXPECT_NE(r.result.nodes["cut"].error.find("truncated.onnx"), std::string::npos) << r.result.nodes["cut"].error;
}

TEST(ModelErrors, WeightsThatClaimMoreThanTheFileHoldsNeverReachOpenCv) {
  // A 1e9 x 1e9 float initializer with 4 bytes of data (the fuzz corpus's hostile seed): refused by
  // the bounded walk (formats/model/onnx_summary) before OpenCV's importer would allocate it.
  const fs::path hostile = fs::path(CAMGRAPH_SOURCE_DIR) / "tests/fuzz/corpus/onnx/weight_claims_1e18.onnx";
  try {
    matting::RembgModel m(hostile, matting::model_info("u2net"));
    FAIL() << "a hostile model loaded";
  } catch (const matting::ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("weight_claims_1e18.onnx"), std::string::npos) << msg;
    EXPECT_NE(msg.find("declares 1000000000000000000 elements"), std::string::npos) << msg;
  }
}

TEST(ModelErrors, OperatorOpenCvCannotRunIsNamed) {
  try {
    matting::RembgModel m(kGolden / "layernorm_opset17.onnx", matting::model_info("u2net"));
    FAIL() << "a LayerNormalization model loaded";
  } catch (const matting::ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("LayerNormalization"), std::string::npos) << msg;
    EXPECT_NE(msg.find("OpenCV"), std::string::npos) << msg;
  }
}

TEST(ModelErrors, MissingModelNamesEveryPlaceAndAutoFallsBack) {
  const fs::path dir = temp_dir("matting-missing");
  ScopedEnv env;
  env.set("U2NET_HOME", (dir / "u2net_home").string());
  env.set("XDG_DATA_HOME", (dir / "xdg").string());
  env.set("HOME", (dir / "home").string());
  const Composite c = make_composite(96, 80, {1, 1, 1});
  write_png(dir / "in.png", c.image);

  NodeRun r = run_node(dir, dir / "in.png", {{"method", "model"}, {"model", "isnet-anime"}});
  ASSERT_FALSE(r.result.ok);
  const std::string err = r.result.nodes["cut"].error;
  EXPECT_EQ(r.result.nodes["cut"].error_param, "model");
  for (const fs::path& p : {dir / "u2net_home" / "isnet-anime.onnx", dir / "xdg" / ".u2net" / "isnet-anime.onnx",
                            dir / "home" / ".u2net" / "isnet-anime.onnx"})
    EXPECT_NE(err.find(p.string()), std::string::npos) << err;
  EXPECT_NE(err.find("U2NET_HOME"), std::string::npos) << err;
  EXPECT_NE(err.find("model_path"), std::string::npos) << err;

  // Found in the second place searched.
  fs::create_directories(dir / "xdg" / ".u2net");
  fs::copy_file(kGolden / "tiny_model.onnx", dir / "xdg" / ".u2net" / "silueta.onnx");
  const auto found = matting::find_model_file("silueta");
  EXPECT_EQ(found.found, dir / "xdg" / ".u2net" / "silueta.onnx");
  EXPECT_EQ(found.tried.size(), 2u);

  NodeRun a = run_node(dir, dir / "in.png", {{"method", "auto"}, {"model", "isnet-anime"}});
  ASSERT_TRUE(a.result.ok) << a.result.nodes["cut"].error;
  ASSERT_EQ(a.warnings.size(), 1u);
  EXPECT_NE(a.warnings[0].find("isnet-anime.onnx not found"), std::string::npos) << a.warnings[0];
  EXPECT_NE(a.warnings[0].find("keying"), std::string::npos) << a.warnings[0];
  EXPECT_EQ(std::dynamic_pointer_cast<const RecordValue>(a.outputs.at("record"))->record["method"], "keying");
}

TEST(TinyModel, CleanupGivesAHardMaskAndAlphaMattingStaysInRange) {
  const fs::path dir = temp_dir("matting-tiny-options");
  write_png(dir / "in.png", golden_image());
  const std::string onnx = (kGolden / "tiny_model.onnx").string();
  NodeRun c = run_node(dir, dir / "in.png",
                       {{"method", "model"}, {"model_path", onnx}, {"cleanup", true}, {"trim", false}});
  ASSERT_TRUE(c.result.ok) << c.result.nodes["cut"].error;
  const cv::Mat m = mask_of(c.outputs.at("mask"));
  EXPECT_EQ(cv::countNonZero((m > 0) & (m < 1)), 0) << "cleanup thresholds the mask";
  NodeRun a = run_node(
      dir, dir / "in.png",
      {{"method", "model"}, {"model_path", onnx}, {"alpha_matting", true}, {"am_erode_size", 1}, {"trim", false}});
  ASSERT_TRUE(a.result.ok) << a.result.nodes["cut"].error;
  double mn, mx;
  cv::minMaxLoc(mask_of(a.outputs.at("mask")), &mn, &mx);
  EXPECT_GE(mn, 0.0);
  EXPECT_LE(mx, 1.0);
}

TEST(Cleanup, OpeningRemovesSpecksAndThresholdBinarises) {
  cv::Mat m(40, 40, CV_32F, cv::Scalar(0));
  m(cv::Rect(10, 10, 15, 15)).setTo(0.9);
  m.at<float>(35, 35) = 1.0f;  // a one-pixel speck
  const cv::Mat c = matting::cleanup_mask(m, 3, 2.0, 0.5);
  EXPECT_EQ(c.at<float>(35, 35), 0.0f);
  EXPECT_EQ(c.at<float>(17, 17), 1.0f);
  EXPECT_EQ(cv::countNonZero((c > 0) & (c < 1)), 0);
}

// Known flat foreground and background colours: the colour-line alpha is exact before smoothing
// and close after it.
TEST(Refine, ColourLineAlphaIsExactForFlatColours) {
  const int W = 40, H = 12;
  const cv::Vec3f F(0.9f, 0.2f, 0.1f), B(0.1f, 0.3f, 0.8f);
  cv::Mat img(H, W, CV_32FC3), gt(H, W, CV_32F), trimap(H, W, CV_8U, cv::Scalar(matting::kTrimapUnknown));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const float a = std::clamp((30.f - x) / 20.f, 0.f, 1.f);  // 1 at x <= 10, 0 at x >= 30
      gt.at<float>(y, x) = a;
      img.at<cv::Vec3f>(y, x) = F * a + B * (1 - a);
      if (x < 8) trimap.at<uchar>(y, x) = matting::kTrimapFg;
      if (x > 32) trimap.at<uchar>(y, x) = matting::kTrimapBg;
    }
  matting::RefineOptions raw;
  raw.smooth_radius = 0;
  const cv::Mat prior(H, W, CV_32F, cv::Scalar(0.5));
  EXPECT_LE(cv::norm(matting::refine_alpha(img, trimap, prior, raw), gt, cv::NORM_INF), 1e-5);
  EXPECT_LE(cv::norm(matting::refine_alpha(img, trimap, prior), gt, cv::NORM_INF), 0.02);
  // Decontamination recovers F wherever alpha >= 0.3.
  const cv::Mat fg = matting::decontaminate(img, gt);
  for (int x = 0; x < W; ++x) {
    if (gt.at<float>(5, x) < 0.3f) continue;
    EXPECT_LE(cv::norm(fg.at<cv::Vec3f>(5, x) - F), 1e-4) << "x " << x;
  }
}

// ---- keying fallback ---------------------------------------------------------------------------

TEST(GuidedFilter, KeepsEdgesOfItsOwnGuideAndFlattensConstants) {
  cv::Mat step(20, 20, CV_32F, cv::Scalar(0));
  step.colRange(10, 20).setTo(1.0);
  const cv::Mat same = matting::guided_filter(step, step, 3, 1e-6);
  EXPECT_LE(cv::norm(same, step, cv::NORM_INF), 1e-3);
  cv::Mat guide(20, 20, CV_32FC3);
  cv::randu(guide, 0, 1);
  const cv::Mat flat = matting::guided_filter(guide, cv::Mat(20, 20, CV_32F, cv::Scalar(0.3)), 2, 1e-3);
  EXPECT_LE(cv::norm(flat, cv::Mat(20, 20, CV_32F, cv::Scalar(0.3)), cv::NORM_INF), 1e-4);
}

// Plain white background, exact alpha known: the soft-edge estimate must beat GrabCut's hard mask
// and stay within the stated error.
TEST(Keying, RecoversAlphaOnWhiteBackground) {
  const Composite c = make_composite(200, 160, {1, 1, 1});
  matting::KeyingOptions hard_opt;
  hard_opt.soft_edges = false;
  const auto hard = matting::key_plain_background(c.image, hard_opt);
  const auto soft = matting::key_plain_background(c.image);
  const double mse_hard = mse(hard.alpha, c.alpha), mse_soft = mse(soft.alpha, c.alpha);
  std::printf("white composite: alpha MSE soft %.6f hard %.6f\n", mse_soft, mse_hard);
  RecordProperty("mse_hard", std::to_string(mse_hard));
  RecordProperty("mse_soft", std::to_string(mse_soft));
  ASSERT_EQ(soft.background_colours.size(), 1u);
  EXPECT_LE(cv::norm(soft.background_colours[0] - cv::Vec3f(1, 1, 1)), 1e-3);
  EXPECT_LE(mse_soft, 3e-4) << "hard " << mse_hard;  // stated tolerance: alpha MSE <= 0.0003
  EXPECT_LE(mse_soft, 0.2 * mse_hard);
  EXPECT_LE(sad(soft.alpha, c.alpha), 0.5) << "SAD (sum |a - gt| / 1000)";
  // Decontamination: where 0.25 <= alpha <= 0.9 and the alpha estimate is close, the recovered
  // colour is near the true foreground (the white spill is gone).
  double spill = 0, raw = 0;
  int n = 0;
  for (int y = 0; y < c.image.rows; ++y)
    for (int x = 0; x < c.image.cols; ++x) {
      const float a = c.alpha.at<float>(y, x);
      if (a < 0.25f || a > 0.9f || std::abs(soft.alpha.at<float>(y, x) - a) > 0.05f) continue;
      spill += cv::norm(soft.foreground.at<cv::Vec3f>(y, x) - c.fg.at<cv::Vec3f>(y, x));
      raw += cv::norm(c.image.at<cv::Vec3f>(y, x) - c.fg.at<cv::Vec3f>(y, x));
      ++n;
    }
  ASSERT_GT(n, 100);
  EXPECT_LE(spill / n, 0.1) << "mean colour error after decontamination (RGB distance)";
  EXPECT_GT(raw / n, 3 * spill / n) << "mean colour error of the composite itself";
}

// pymatting's synthetic data: exact foreground, background and alpha (thin soft strokes, 32 x 32).
// Composited here as I = a F + (1 - a) B in the stored (sRGB) values, the model keying assumes.
// (Their test.png is not that composite: it fits I_lin = a^2.2 F_lin + (1 - a^2.2) B_lin in linear
// light to within 0.003, so its alpha would come back gamma-encoded.)
TEST(Keying, RecoversPymattingSyntheticAlpha) {
  const fs::path d = shared_dir() / "data/matting/synthetic";
  if (!fs::exists(d / "test_alpha.png")) GTEST_SKIP() << "shared data not found at " << d << " (set CAMGRAPH_SHARED)";
  auto read = [&](const char* name, int flags) {
    cv::Mat m = cv::imread((d / name).string(), flags);
    EXPECT_FALSE(m.empty()) << name;
    if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    m.convertTo(m, m.channels() == 3 ? CV_32FC3 : CV_32F, 1.0 / 255);
    return m;
  };
  const cv::Mat gt = read("test_alpha.png", cv::IMREAD_GRAYSCALE), F = read("test_foreground.png", cv::IMREAD_COLOR),
                B = read("test_background.png", cv::IMREAD_COLOR);
  cv::Mat a3;
  cv::merge(std::vector<cv::Mat>{gt, gt, gt}, a3);
  const cv::Mat composite = F.mul(a3) + B.mul(cv::Scalar(1, 1, 1) - a3);
  const auto k = matting::key_plain_background(composite);
  matting::KeyingOptions hard_opt;
  hard_opt.soft_edges = false;
  const double e = mse(k.alpha, gt), e_hard = mse(matting::key_plain_background(composite, hard_opt).alpha, gt);
  std::printf("pymatting synthetic: alpha MSE %.5f (hard mask %.5f) SAD %.4f\n", e, e_hard, sad(k.alpha, gt));
  RecordProperty("mse", std::to_string(e));
  // Stated tolerance: alpha MSE <= 0.015 and at most half the hard mask's. This data is hard for
  // keying: 2-4 px strokes and semi-transparent interiors (alpha 0.5 far from any edge), which
  // the GrabCut trimap calls sure foreground.
  EXPECT_LE(e, 0.015) << "SAD " << sad(k.alpha, gt);
  EXPECT_LE(e, 0.2 * e_hard);
}

TEST(Keying, NoForegroundIsAClearError) {
  const fs::path dir = temp_dir("matting-empty");
  cv::Mat white(64, 48, CV_32FC3, cv::Scalar(1, 1, 1));
  EXPECT_THROW(matting::key_plain_background(white), matting::NoForeground);
  write_png(dir / "white.png", white);
  NodeRun r = run_node(dir, dir / "white.png", {{"method", "keying"}});
  ASSERT_FALSE(r.result.ok);
  EXPECT_NE(r.result.nodes["cut"].error.find("no foreground"), std::string::npos) << r.result.nodes["cut"].error;
}

// ---- node outputs -------------------------------------------------------------------------------

TEST(RemoveBackground, TrimsToTheSubjectRecordsOffsetAndFeet) {
  const fs::path dir = temp_dir("matting-trim");
  const Composite c = make_composite(120, 100, {1, 1, 1});
  write_png(dir / "in.png", c.image);
  NodeRun r = run_node(dir, dir / "in.png", {{"method", "keying"}, {"padding", 2}});
  ASSERT_TRUE(r.result.ok) << r.result.nodes["cut"].error;
  const json rec = std::dynamic_pointer_cast<const RecordValue>(r.outputs.at("record"))->record;
  const cv::Rect truth = cv::boundingRect(cv::Mat(c.alpha > 0.5 / 255));
  const int x = rec["offset"][0], y = rec["offset"][1];
  EXPECT_NEAR(x, truth.x - 2, 2);
  EXPECT_NEAR(y, truth.y - 2, 2);
  auto img = std::dynamic_pointer_cast<const ImageValue>(r.outputs.at("image"));
  EXPECT_EQ(img->channels(), 4);
  EXPECT_NEAR(img->width(), truth.width + 4, 3);
  EXPECT_NEAR(img->height(), truth.height + 4, 3);
  EXPECT_EQ(rec["bbox"]["width"], img->width());
  // The ellipse's bottom is centred: feet at (cx, bottom).
  EXPECT_NEAR(rec["feet"][0].get<double>(), 60.0, 1.5);
  EXPECT_NEAR(rec["feet"][1].get<double>(), truth.y + truth.height, 1.5);
  // The mask is full-frame and the cutout is the mask's crop.
  const cv::Mat m = mask_of(r.outputs.at("mask"));
  EXPECT_EQ(m.size(), c.alpha.size());
  at::Tensor a = img->pixels.select(2, 3).contiguous();
  const cv::Mat crop(int(a.size(0)), int(a.size(1)), CV_32F, a.data_ptr<float>());
  EXPECT_EQ(cv::norm(crop, m(cv::Rect(x, y, img->width(), img->height())), cv::NORM_INF), 0.0);
}

TEST(RemoveBackground, PremultipliedIsStraightTimesAlpha) {
  const fs::path dir = temp_dir("matting-premul");
  const Composite c = make_composite(80, 64, {1, 1, 1});
  write_png(dir / "in.png", c.image);
  NodeRun s = run_node(dir, dir / "in.png", {{"method", "keying"}, {"premultiplied", false}});
  NodeRun p = run_node(dir, dir / "in.png", {{"method", "keying"}, {"premultiplied", true}});
  ASSERT_TRUE(s.result.ok && p.result.ok);
  at::Tensor st = std::dynamic_pointer_cast<const ImageValue>(s.outputs.at("image"))->pixels;
  at::Tensor pt = std::dynamic_pointer_cast<const ImageValue>(p.outputs.at("image"))->pixels;
  ASSERT_EQ(st.sizes(), pt.sizes());
  at::Tensor expect = st.slice(2, 0, 3) * st.slice(2, 3, 4);
  EXPECT_LE((pt.slice(2, 0, 3) - expect).abs().max().item<float>(), 1e-6f);
  EXPECT_TRUE(
      std::dynamic_pointer_cast<const RecordValue>(p.outputs.at("record"))->record["premultiplied"].get<bool>());
}
