// The dataset report on folders built here: a clean one, and one with one planted problem per kind.
// Videos are the committed 5-frame seeds of the video fuzz harness (32x24, 8 fps).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "camgraph/dataset_report.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace camgraph::report;

namespace {

const fs::path kSeeds = fs::path(CAMGRAPH_SOURCE_DIR) / "tests/fuzz/corpus/video";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// RealEstate10K poses of `frames` cameras turning about y; `scale` != 1 makes the rotation improper.
std::string poses(const std::string& id, int frames, double scale = 1.0) {
  std::string s = id + "\n";
  for (int i = 0; i < frames; ++i) {
    const double a = 0.05 * i, c = std::cos(a) * scale, sn = std::sin(a);
    char line[512];
    std::snprintf(line, sizeof line, "%d 0.9 1.2 0.5 0.5 0 0 %.17g 0 %.17g 0.1 0 1 0 0 %.17g 0 %.17g 2\n", i * 125000,
                  c, sn, -sn, c);
    s += line;
  }
  return s;
}

struct Item {
  std::string id, caption;
  json motion;
  int frames = 5, width = 32, height = 24;
  double fps = 8;
  std::string video_seed = "h264_5frames.mp4";  // "" = no video file
  int pose_lines = -1;                          // -1 = frames
  double pose_scale = 1.0;
  json qc = json();
};

json add_item(const fs::path& dir, const Item& it) {
  json line = {{"file_name", "videos/" + it.id + ".mp4"},
               {"id", it.id},
               {"text", it.caption},
               {"motion", it.motion},
               {"width", it.width},
               {"height", it.height},
               {"fps", it.fps},
               {"frames", it.frames},
               {"poses", "poses/" + it.id + ".txt"},
               {"cameras", "cameras/" + it.id + ".json"},
               {"scene", "a courtyard"},
               {"subject", "a figure"},
               {"provenance", {{"camgraph", "0.1.0"}, {"graph_hash", "0aa02c1a"}}},
               {"encoder", {{"encoder", "libx264"}, {"codec", "h264"}}}};
  if (!it.qc.is_null()) line["qc"] = it.qc, line["qc_pass"] = it.qc.value("pass", true);
  if (!it.video_seed.empty()) {
    fs::create_directories(dir / "videos");
    fs::copy_file(kSeeds / it.video_seed, dir / "videos" / (it.id + ".mp4"), fs::copy_options::overwrite_existing);
  }
  write(dir / "videos" / (it.id + ".txt"), it.caption + "\n");
  write(dir / "poses" / (it.id + ".txt"), poses(it.id, it.pose_lines < 0 ? it.frames : it.pose_lines, it.pose_scale));
  json cams = {{"id", it.id}, {"frames", json::array()}};
  for (int i = 0; i < it.frames; ++i) cams["frames"].push_back({{"width", it.width}});
  write(dir / "cameras" / (it.id + ".json"), cams.dump());
  return line;
}

json pan(const std::string& dir) {
  return json::array({{{"type", "pan"}, {"direction", dir}, {"frames", {0, 4}}, {"intensity", 0.5}}});
}

json qc(bool pass, double reprojection, bool agrees) {
  return {{"pass", pass}, {"reprojection", {{"mean_error", reprojection}}}, {"label_truth", {{"agrees", agrees}}}};
}

void write_metadata(const fs::path& dir, const std::vector<json>& lines, const std::string& extra = "") {
  std::string s;
  for (const auto& l : lines) s += l.dump() + "\n";
  write(dir / "metadata.jsonl", s + extra);
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("camgraph-report-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The problems of item `id` that contain `words`.
size_t problems_with(const DatasetReport& r, const std::string& id, const std::string& words) {
  size_t n = 0;
  for (const auto& p : r.problems)
    if (p.item == id && p.what.find(words) != std::string::npos) ++n;
  return n;
}

std::string dump(const DatasetReport& r) { return report_text(r); }

}  // namespace

TEST(DatasetReport, ACleanFolderHasNoProblemsAndIsCounted) {
  const fs::path dir = fresh_dir("clean");
  write_metadata(dir,
                 {add_item(dir, {"a", "a courtyard, a figure, camera pans left", pan("left"), 5, 32, 24, 8,
                                 "h264_5frames.mp4", -1, 1.0, qc(true, 1.5, true)}),
                  add_item(dir, {"b", "a courtyard, a figure, camera pans right", pan("right"), 5, 32, 24, 8,
                                 "mpeg4_5frames.avi", -1, 1.0, qc(false, 6.0, false)}),
                  add_item(dir, {"c", "a courtyard, static camera", json::array(), 5, 32, 24, 8, "ffv1_5frames.mkv"})});
  const DatasetReport r = build_dataset_report(dir);
  EXPECT_TRUE(r.problems.empty()) << dump(r);
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_TRUE(r.videos_decoded);
  EXPECT_EQ(r.counts.at("camera move").at("pan"), 2u);
  EXPECT_EQ(r.counts.at("camera move").at("static"), 1u);
  EXPECT_EQ(r.counts.at("direction").at("left"), 1u);
  EXPECT_EQ(r.shape_counts.at("size").at("32x24"), 3u);
  EXPECT_TRUE(r.non_uniform.empty());
  EXPECT_EQ(r.qc_checked, 2u);
  EXPECT_EQ(r.qc_failed, 1u);
  EXPECT_EQ(r.label_checked, 2u);
  EXPECT_EQ(r.label_agreed, 1u);
  // Lower reprojection error is better: b is the worst item.
  ASSERT_FALSE(r.scores.empty());
  EXPECT_EQ(r.scores[0].path, "reprojection.mean_error");
  EXPECT_EQ(r.scores[0].values.front().second, "b");
  for (const auto& it : r.items) {
    ASSERT_EQ(it.thumbnails.size(), 3u) << it.id;
    for (const auto& jpeg : it.thumbnails) EXPECT_EQ(jpeg.substr(0, 2), "\xFF\xD8") << it.id;
  }
  fs::remove_all(dir);
}

TEST(DatasetReport, EveryPlantedProblemIsNamed) {
  const fs::path dir = fresh_dir("planted");
  std::vector<json> lines = {
      add_item(dir, {"good", "camera pans left", pan("left")}),
      add_item(dir, {"no_video", "camera pans left", pan("left"), 5, 32, 24, 8, ""}),
      add_item(dir, {"long_claim", "camera pans left", pan("left"), 7}),
      add_item(dir, {"wrong_size", "camera pans left", pan("left"), 5, 64, 48}),
      add_item(dir, {"bad_rotation", "camera pans left", pan("left"), 5, 32, 24, 8, "h264_5frames.mp4", -1, 1.3}),
      add_item(dir, {"short_poses", "camera pans left", pan("left"), 5, 32, 24, 8, "h264_5frames.mp4", 4}),
      add_item(dir, {"wrong_verb", "camera tilts up", pan("left")}),
      add_item(dir, {"wrong_direction", "camera pans right", pan("left")}),
      add_item(dir, {"broken_video", "camera pans left", pan("left"), 5, 32, 24, 8, "h264_truncated_half.mp4"}),
  };
  json dup = lines[0];
  write_metadata(dir, lines, "{not json\n" + dup.dump() + "\n");
  // A pose line with a NaN.
  write(dir / "poses/good.txt", poses("good", 5));
  std::string nan_poses = poses("no_video", 5);
  nan_poses.replace(nan_poses.find("0.9"), 3, "nan");
  write(dir / "poses/no_video.txt", nan_poses);
  const DatasetReport r = build_dataset_report(dir);
  const std::string all = dump(r);
  EXPECT_EQ(problems_with(r, "good", ""), 1u) << all;  // only its duplicated line
  EXPECT_EQ(problems_with(r, "good", "is listed again (first on line 1)"), 1u) << all;
  EXPECT_EQ(problems_with(r, "metadata.jsonl:10", "not a JSON object"), 1u) << all;
  EXPECT_EQ(problems_with(r, "no_video", "no_video.mp4 is missing"), 1u) << all;
  EXPECT_EQ(problems_with(r, "no_video", "is not a finite number"), 1u) << all;
  EXPECT_EQ(problems_with(r, "long_claim", "decodes to 5 frames, its metadata line says 7"), 1u) << all;
  EXPECT_EQ(problems_with(r, "long_claim", "poses/long_claim.txt"), 0u) << all;  // its poses have 7 lines
  EXPECT_EQ(problems_with(r, "wrong_size", "the video is 32x24, its metadata line says 64x48"), 1u) << all;
  EXPECT_EQ(problems_with(r, "bad_rotation", "the rotation is not proper"), 1u) << all;
  EXPECT_EQ(problems_with(r, "short_poses", "has 4 frame lines, the metadata line says 5"), 1u) << all;
  EXPECT_EQ(problems_with(r, "wrong_verb", "the caption does not say \"pans left\""), 1u) << all;
  EXPECT_EQ(problems_with(r, "wrong_verb", "the caption says \"tilts\" but no motion record is tilt"), 1u) << all;
  EXPECT_EQ(problems_with(r, "wrong_direction", "the caption does not say \"pans left\""), 1u) << all;
  EXPECT_EQ(problems_with(r, "broken_video", "broken_video.mp4"), 1u) << all;
  // The sizes differ: the odd item is named.
  ASSERT_TRUE(r.non_uniform.count("size")) << all;
  EXPECT_EQ(r.non_uniform.at("size"), std::vector<std::string>{"wrong_size (64x48)"});
  EXPECT_EQ(r.non_uniform.at("frames"), std::vector<std::string>{"long_claim (7)"});
  // The text and JSON renderings carry every problem.
  EXPECT_EQ(report_json(r)["problems"].size(), r.problems.size());
  // Without decoding, the header checks stay and the frame count is not checked.
  ReportOptions header_only;
  header_only.decode_videos = false;
  const DatasetReport h = build_dataset_report(dir, header_only);
  EXPECT_FALSE(h.videos_decoded);
  EXPECT_EQ(problems_with(h, "wrong_size", "the video is 32x24, its metadata line says 64x48"), 1u) << dump(h);
  EXPECT_EQ(problems_with(h, "long_claim", "decodes to"), 0u) << dump(h);
  EXPECT_EQ(problems_with(h, "broken_video", "broken_video.mp4"), 1u) << dump(h);  // its header does not open
  fs::remove_all(dir);
}

TEST(DatasetReport, HtmlPageEscapesTextAndEmbedsTheContactSheet) {
  const fs::path dir = fresh_dir("html");
  write_metadata(dir, {add_item(dir, {"x", "<script>alert(1)</script> camera pans left", pan("left"), 5, 32, 24, 8,
                                      "h264_5frames.mp4", -1, 1.0, qc(true, 2.0, true)})});
  const DatasetReport r = build_dataset_report(dir);
  const std::string html = report_html(r);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  size_t images = 0;
  for (size_t p = html.find("src=\"data:image/jpeg;base64,/9j/"); p != std::string::npos;
       p = html.find("src=\"data:image/jpeg;base64,/9j/", p + 1))
    ++images;
  EXPECT_EQ(images, 3u);  // first, middle, last frame
  EXPECT_NE(html.find("data-chart=\"camera move\""), std::string::npos);
  EXPECT_NE(html.find("data-chart=\"reprojection.mean_error\""), std::string::npos);
  EXPECT_NE(html.find("<span id=\"problem-count\">0</span>"), std::string::npos);
  fs::remove_all(dir);
}

TEST(DatasetReport, CardHasTheHubHeaderVocabularyAndAPoseLine) {
  const fs::path dir = fresh_dir("card");
  write_metadata(dir, {add_item(dir, {"x", "camera pans left", pan("left")})});
  const DatasetReport r = build_dataset_report(dir);
  const std::string card = dataset_card(r, "cc-by-4.0");
  EXPECT_EQ(card.rfind("---\nlicense: cc-by-4.0\n", 0), 0u) << card;
  EXPECT_NE(card.find("size_categories:\n- n<1K\n"), std::string::npos);
  EXPECT_NE(card.find("    - metadata.jsonl\n"), std::string::npos);
  EXPECT_NE(card.find("`orbit` -> \"orbits\""), std::string::npos);
  EXPECT_NE(card.find("`0aa02c1a`"), std::string::npos);
  // The sample pose line is the first frame of the first item, as written.
  EXPECT_NE(card.find("\n0 0.9 1.2 0.5 0.5 0 0 1 0 0 0.1"), std::string::npos) << card;
  fs::remove_all(dir);
}

TEST(DatasetReport, AFolderWithoutMetadataIsAnErrorNamingIt) {
  const fs::path dir = fresh_dir("empty");
  try {
    build_dataset_report(dir);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "metadata.jsonl").string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(DatasetReport, OverlongLinesAreProblemsNotAllocations) {
  const fs::path dir = fresh_dir("overlong");
  std::vector<json> lines = {add_item(dir, {"x", "camera pans left", pan("left")})};
  // A 20 MiB metadata line without a newline, and a pose line of 10 KB.
  write_metadata(dir, lines, std::string(size_t(20) << 20, 'x'));
  write(dir / "poses/x.txt", "x\n" + std::string(10000, '1') + "\n");
  const DatasetReport r = build_dataset_report(dir);
  EXPECT_EQ(problems_with(r, "metadata.jsonl:2", "longer than 16 MiB"), 1u) << dump(r);
  EXPECT_EQ(problems_with(r, "x", "line 2: longer than 4096 bytes"), 1u) << dump(r);
  fs::remove_all(dir);
}
