// Matting benchmark: alpha SAD (sum |a - gt| / 1000, alpha in [0, 1], whole image) and MSE per
// image and in total, for the keying fallback and for each rembg model file found in --models,
// on the alphamatting.com training photos (shared/data/matting/alphamatting) and on composites of
// them over plain white (alpha * photo + (1 - alpha) * white: the photo stands in for the unknown
// true foreground colour, so edge pixels keep some of the original background).
//
//   bench_matting [--shared DIR] [--models DIR] [--only GT01,GT05] [--alpha-matting] [--dump DIR]
// --dump writes each estimated alpha as DIR/<method>-<photo|white>-<image>.png.
//
// Prints Markdown tables (the format of docs/benchmarks.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "matting/keying.h"
#include "matting/refine.h"
#include "matting/rembg_model.h"

namespace fs = std::filesystem;
using namespace camgraph::matting;

namespace {

struct Sample {
  std::string name;
  cv::Mat photo, white, gt;  // CV_32FC3 RGB, CV_32FC3 RGB, CV_32FC1
};

struct Method {
  std::string label;
  std::function<cv::Mat(const cv::Mat&)> run;  // RGB -> alpha
};

struct Row {
  std::string image;
  double sad = 0, mse = 0, seconds = 0;
  std::string note;
};

void print_table(const std::string& title, const std::vector<Row>& rows) {
  std::printf("\n#### %s\n\n| image | SAD | MSE | seconds |\n|---|---:|---:|---:|\n", title.c_str());
  double sad = 0, mse = 0, sec = 0;
  for (const auto& r : rows) {
    std::printf("| %s | %.2f | %.5f | %.2f |%s\n", r.image.c_str(), r.sad, r.mse, r.seconds,
                r.note.empty() ? "" : ("  <!-- " + r.note + " -->").c_str());
    sad += r.sad;
    mse += r.mse;
    sec += r.seconds;
  }
  if (!rows.empty())
    std::printf("| **total** (SAD sum, MSE mean) | **%.2f** | **%.5f** | %.2f |\n", sad, mse / rows.size(), sec);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path shared = std::getenv("CAMGRAPH_SHARED") ? fs::path(std::getenv("CAMGRAPH_SHARED"))
                                                   : fs::path(CAMGRAPH_SOURCE_DIR) / ".." / "shared";
  fs::path models_dir;
  std::string only;
  bool alpha_matting = false;
  fs::path dump;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--shared" && i + 1 < argc) shared = argv[++i];
    else if (a == "--models" && i + 1 < argc) models_dir = argv[++i];
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--alpha-matting") alpha_matting = true;
    else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: %s [--shared DIR] [--models DIR] [--only GT01,GT05] [--alpha-matting] [--dump DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  const fs::path data = shared / "data/matting/alphamatting";
  if (!fs::is_directory(data / "input")) {
    std::fprintf(stderr, "no matting data at %s (set CAMGRAPH_SHARED or --shared)\n", data.string().c_str());
    return 1;
  }

  std::vector<Sample> samples;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(data / "input")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string name = f.stem().string();
    if (!only.empty() && ("," + only + ",").find("," + name + ",") == std::string::npos) continue;
    cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR),
            g = cv::imread((data / "gt" / f.filename()).string(), cv::IMREAD_GRAYSCALE);
    if (bgr.empty() || g.empty()) {
      std::fprintf(stderr, "skipping %s: cannot read it or its ground truth\n", name.c_str());
      continue;
    }
    Sample s;
    s.name = name;
    cv::cvtColor(bgr, s.photo, cv::COLOR_BGR2RGB);
    s.photo.convertTo(s.photo, CV_32FC3, 1.0 / 255);
    g.convertTo(s.gt, CV_32F, 1.0 / 255);
    cv::Mat a3;
    cv::merge(std::vector<cv::Mat>{s.gt, s.gt, s.gt}, a3);
    s.white = s.photo.mul(a3) + (cv::Scalar(1, 1, 1) - a3);
    samples.push_back(s);
  }

  std::vector<Method> methods;
  methods.push_back({"keying (no weights)", [](const cv::Mat& rgb) {
                       const KeyingResult k = key_plain_background(rgb);
                       std::fprintf(stderr, "  background colours:");
                       for (const auto& c : k.background_colours)
                         std::fprintf(stderr, " (%.0f %.0f %.0f)", c[0] * 255, c[1] * 255, c[2] * 255);
                       std::fprintf(stderr, ", border noise %.3f\n", k.border_noise);
                       return k.alpha;
                     }});
  std::vector<std::string> found;
  if (!models_dir.empty())
    for (const auto& info : known_models()) {
      const fs::path f = models_dir / (info.name + ".onnx");
      if (!fs::is_regular_file(f)) continue;
      found.push_back(info.name);
      auto model = std::make_shared<RembgModel>(f, info);
      methods.push_back({info.name, [model](const cv::Mat& rgb) { return model->predict(rgb); }});
      if (alpha_matting)
        methods.push_back({info.name + " + alpha matting", [model](const cv::Mat& rgb) {
                             const cv::Mat a = model->predict(rgb);
                             return refine_alpha(rgb, trimap_from_alpha(a, 240 / 255.0, 10 / 255.0, 10), a);
                           }});
    }
  std::printf("matting benchmark: %zu images from %s; models dir: %s (found: %s)\n", samples.size(),
              data.string().c_str(), models_dir.empty() ? "(none given)" : models_dir.string().c_str(),
              found.empty() ? "none" : [&] {
                std::string s;
                for (const auto& n : found) s += (s.empty() ? "" : ", ") + n;
                return s;
              }().c_str());

  for (const auto& m : methods)
    for (const bool white : {false, true}) {
      std::vector<Row> rows;
      for (const auto& s : samples) {
        const cv::Mat& in = white ? s.white : s.photo;
        Row r;
        r.image = s.name;
        const auto t0 = std::chrono::steady_clock::now();
        cv::Mat a;
        try {
          a = m.run(in);
        } catch (const std::exception& e) {
          a = cv::Mat(in.size(), CV_32F, cv::Scalar(0));
          r.note = std::string("failed, scored as alpha 0: ") + e.what();
        }
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!dump.empty()) {
          fs::create_directories(dump);
          std::string tag = m.label.substr(0, m.label.find(' '));
          cv::Mat a8;
          a.convertTo(a8, CV_8U, 255.0);
          cv::imwrite((dump / (tag + (white ? "-white-" : "-photo-") + s.name + ".png")).string(), a8);
        }
        r.sad = cv::norm(a, s.gt, cv::NORM_L1) / 1000.0;
        cv::Mat d = a - s.gt;
        r.mse = cv::mean(d.mul(d))[0];
        rows.push_back(r);
        std::fprintf(stderr, "%s %s %s: SAD %.2f MSE %.5f (%.2fs)\n", m.label.c_str(), white ? "white" : "photo",
                     s.name.c_str(), r.sad, r.mse, r.seconds);
      }
      print_table(m.label + (white ? ", composites over plain white" : ", real photos"), rows);
    }
  return 0;
}
