// dataset.annotate: RealEstate10K poses, camera JSON, caption, HF videofolder metadata.jsonl.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "camgraph/node_context.h"
#include "dataset.h"
#include "metadata_index.h"

namespace camgraph::dataset {

namespace fs = std::filesystem;

std::string shortest(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s == "-0") s = "0";
  return s;
}

namespace {

std::string id_from_hash(uint64_t h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

bool valid_id(const std::string& id) {
  if (id.empty() || id == "." || id == "..") return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

std::string format_caption(const std::string& tmpl, const std::string& scene, const std::string& subject,
                           const std::string& motion) {
  std::string s = tmpl;
  auto replace_all = [&s](const std::string& key, const std::string& value) {
    for (size_t p = s.find(key); p != std::string::npos; p = s.find(key, p + value.size()))
      s.replace(p, key.size(), value);
  };
  replace_all("{scene}", scene);
  replace_all("{subject}", subject);
  replace_all("{motion}", motion);
  // Drop comma-separated parts left empty.
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const auto b = part.find_first_not_of(" \t\n");
    if (b == std::string::npos) continue;
    const auto e = part.find_last_not_of(" \t\n");
    parts.push_back(part.substr(b, e - b + 1));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string realestate10k_poses(const std::string& id, const std::vector<Camera>& cameras, double fps) {
  std::string s = id + "\n";
  for (size_t i = 0; i < cameras.size(); ++i) {
    const Camera& c = cameras[i];
    const auto ts = static_cast<long long>(std::llround(double(i) * 1e6 / fps));
    s += std::to_string(ts);
    for (double v : {c.fx / c.width, c.fy / c.height, c.cx / c.width, c.cy / c.height, 0.0, 0.0})
      s += " " + shortest(v);
    for (int k = 0; k < 12; ++k) s += " " + shortest(c.world_to_camera[size_t(k)]);
    s += "\n";
  }
  return s;
}

namespace {

// The clip's cameras, frame rate and size. The encoded video, when connected, decides the frame rate
// and the frame size: padding or cropping to even sizes happens at the right/bottom edge, so
// intrinsics in pixels stay valid for it.
struct Clip {
  std::shared_ptr<const CameraPathValue> path;
  std::vector<Camera> cameras;
  json video_rec;  // encode.video's record, when connected
  double fps = 24.0;
  int width = 0, height = 0;
};

Clip read_clip(NodeContext& ctx, const FrameSequenceValue& seq) {
  Clip clip;
  if (ctx.has_input("path")) clip.path = ctx.input<CameraPathValue>("path");
  clip.cameras = seq.cameras;
  if (clip.cameras.empty() && clip.path) clip.cameras = clip.path->cameras;
  if (clip.cameras.empty()) ctx.fail_port("frames", "the frames carry no cameras (and no camera path is connected)");
  if (seq.count() > 0 && size_t(seq.count()) != clip.cameras.size())
    ctx.warn(std::to_string(seq.count()) + " frames but " + std::to_string(clip.cameras.size()) + " cameras");
  json& video_rec = clip.video_rec;
  if (ctx.has_input("video")) video_rec = ctx.input<RecordValue>("video")->record;
  clip.fps = seq.fps > 0 ? seq.fps : (clip.path ? clip.path->fps : 24.0);
  if (video_rec.contains("fps") && video_rec["fps"].is_number() && video_rec["fps"].get<double>() > 0)
    clip.fps = video_rec["fps"].get<double>();
  if (video_rec.contains("width") && video_rec["width"].is_number_integer() && video_rec.contains("height") &&
      video_rec["height"].is_number_integer())
    for (auto& c : clip.cameras) {
      c.width = video_rec["width"].get<int>();
      c.height = video_rec["height"].get<int>();
    }
  clip.width = clip.cameras.front().width;
  clip.height = clip.cameras.front().height;
  if (clip.width <= 0 || clip.height <= 0) ctx.fail_port("frames", "the cameras have no image size");
  return clip;
}

// The motion part of the caption: the path's motion records; for a multi-shot clip (sequence.join)
// without a path, the shots' captions in order, joined by their transitions ("..., then cut to ...").
// `shots` receives the join's record when connected.
std::string motion_phrase(NodeContext& ctx, const Clip& clip, const json& motion, json& shots) {
  std::string phrase = describe_motion(motion);
  if (!ctx.has_input("shots")) return phrase;
  shots = ctx.input<RecordValue>("shots")->record;
  if (!shots.contains("shots") || !shots["shots"].is_array())
    ctx.fail_port("shots", "the record has no 'shots' list (connect sequence.join)");
  if (clip.path) return phrase;
  std::string joined;
  const json transitions = shots.value("transitions", json::array());
  for (size_t k = 0; k < shots["shots"].size(); ++k) {
    const std::string c = shots["shots"][k].value("caption", "");
    if (c.empty()) continue;
    if (!joined.empty()) {
      const std::string kind = k - 1 < transitions.size() ? transitions[k - 1].value("type", "cut") : "cut";
      joined += kind == "cut" ? ", then cut to " : kind == "fade" ? ", then fade to " : ", then dissolve to ";
    }
    joined += c;
  }
  return joined.empty() ? phrase : joined;
}

json cameras_json(const std::vector<Camera>& cameras) {
  json cams_json = json::array();
  for (const auto& c : cameras) {
    const auto& m = c.world_to_camera;
    cams_json.push_back(
        {{"K", {{c.fx, 0.0, c.cx}, {0.0, c.fy, c.cy}, {0.0, 0.0, 1.0}}},
         {"world_to_camera", {{m[0], m[1], m[2], m[3]}, {m[4], m[5], m[6], m[7]}, {m[8], m[9], m[10], m[11]}}},
         {"width", c.width},
         {"height", c.height}});
  }
  return cams_json;
}

// Where the item's files go under the dataset folder.
struct ItemFiles {
  fs::path folder, meta, poses, cameras, caption;
  std::string writer;
  fs::path video_src;     // the encoded video, when connected
  std::string file_name;  // videos/<id>.<ext>, relative to the folder
  fs::path video;         // folder / file_name
  bool overwrite = false;

  // The video is copied unless it already is the item's file.
  bool copies_video() const {
    return !video_src.empty() && fs::absolute(video_src).lexically_normal() != fs::absolute(video).lexically_normal();
  }
};

ItemFiles item_files(NodeContext& ctx, const std::string& id, const json& video_rec) {
  ItemFiles f;
  f.folder = ctx.output_path("folder");
  f.overwrite = ctx.param_bool("overwrite");
  f.writer = ctx.param_string("writer");
  if (f.writer.empty()) f.writer = metadata_writer_from_env();
  if (!valid_writer_name(f.writer))
    ctx.fail("writer", "'" + f.writer + "' is not a file-name-safe writer name (letters, digits, _ - .)");
  f.meta = metadata_file_for_writer(f.folder, f.writer);
  f.poses = f.folder / "poses" / (id + ".txt");
  f.cameras = f.folder / "cameras" / (id + ".json");
  f.caption = f.folder / "videos" / (id + ".txt");

  // The video: copied into videos/<id>.<ext> when connected.
  std::string video_ext = ".mp4";
  if (ctx.has_input("video")) {
    const json& v = video_rec;
    if (!v.contains("file") || !v["file"].is_string()) ctx.fail_port("video", "the record has no 'file'");
    f.video_src = v["file"].get<std::string>();
    if (!fs::exists(f.video_src)) ctx.fail_port("video", "'" + f.video_src.string() + "' does not exist");
    video_ext = f.video_src.extension().string();
  }
  f.file_name = "videos/" + id + video_ext;
  f.video = f.folder / f.file_name;

  ctx.guard("folder", [&] {
    for (const auto& p : {f.meta, f.poses, f.cameras, f.caption}) ctx.files().check_writable(p, f.overwrite);
    if (f.copies_video()) ctx.files().check_writable(f.video, f.overwrite);
  });
  return f;
}

// Adds dataset.qc's summaries to the item; whether the item is kept out (failed, qc_failed = skip).
bool add_qc(NodeContext& ctx, json& item) {
  if (!ctx.has_input("qc")) return false;
  json qc = ctx.input<RecordValue>("qc")->record;
  if (!qc.is_object() || !qc.contains("pass") || !qc["pass"].is_boolean())
    ctx.fail_port("qc", "the record has no boolean 'pass' (connect dataset.qc)");
  item["qc_pass"] = qc["pass"];
  // Per-frame lists stay out of the metadata line (they can be long); the summaries go in.
  for (auto& [k, v] : qc.items())
    if (v.is_object()) v.erase("per_frame");
  item["qc"] = qc;
  return !qc["pass"].get<bool>() && ctx.param_string("qc_failed") == "skip";
}

// A skipped item has no files; a line it had from an earlier (passing) run is removed.
void remove_item_line(NodeContext& ctx, const ItemFiles& f) {
  if (!fs::exists(f.meta)) return;
  std::string kept;
  std::istringstream in(read_file(f.meta));
  bool removed = false;
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("file_name", "") == f.file_name) {
      removed = true;
      continue;
    }
    kept += line + "\n";
  }
  if (removed) ctx.guard("folder", [&] { ctx.files().write_line_file(f.meta, kept, "", f.overwrite); });
}

// Poses, cameras, caption, the video and the item's metadata line (replaced or appended, written
// atomically).
void write_item(NodeContext& ctx, const ItemFiles& f, const json& item, const std::string& poses, const json& cams_doc,
                const std::string& caption) {
  std::error_code ec;
  for (const char* sub : {"poses", "cameras", "videos"}) fs::create_directories(f.folder / sub, ec);
  ctx.guard("folder", [&] {
    ctx.files().write(f.poses, poses, f.overwrite);
    ctx.files().write(f.cameras, cams_doc.dump(1), f.overwrite);
    ctx.files().write(f.caption, caption + "\n", f.overwrite);
    if (f.copies_video()) {
      const fs::path tmp = ctx.files().temp_path_for(f.video);
      fs::copy_file(f.video_src, tmp, fs::copy_options::overwrite_existing);
      ctx.files().commit(tmp, f.video);
    }
    // metadata.jsonl (or this writer's shard).
    if (!f.writer.empty()) fs::create_directories(f.meta.parent_path(), ec);
    std::vector<std::string> warnings;
    write_metadata_line(ctx.files(), f.meta, item, f.overwrite, &warnings);
    for (const auto& w : warnings) ctx.warn(f.meta.filename().string() + ": " + w);
  });
}

}  // namespace

void annotate_execute(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("frames");
  const Clip clip = read_clip(ctx, *seq);
  const std::vector<Camera>& cameras = clip.cameras;
  const double fps = clip.fps;

  const std::string scene = ctx.has_input("scene") ? ctx.input<TextValue>("scene")->text : "";
  const std::string subject = ctx.has_input("subject") ? ctx.input<TextValue>("subject")->text : "";
  const json motion = clip.path ? clip.path->motion : json::array();
  json shots;
  const std::string caption = format_caption(ctx.param_string("caption"), scene, subject,
                                             motion_phrase(ctx, clip, motion, shots));

  const json cams_json = cameras_json(cameras);
  std::string id = ctx.param_string("item_id");
  if (id.empty())
    id = id_from_hash(hash_bytes(cams_json.dump() + "|" + shortest(fps) + "|" + caption + "|" + motion.dump()));
  if (!valid_id(id)) ctx.fail("item_id", "'" + id + "' is not a file-name-safe id (letters, digits, _ - .)");
  const ItemFiles files = item_files(ctx, id, clip.video_rec);

  const json cams_doc = {
      {"id", id},
      {"width", clip.width},
      {"height", clip.height},
      {"fps", fps},
      {"convention", "OpenCV axes (x right, y down, z forward); world_to_camera row-major; K in pixels"},
      {"frames", cams_json}};
  json item = {{"file_name", files.file_name},
               {"text", caption},
               {"id", id},
               {"motion", motion},
               {"width", clip.width},
               {"height", clip.height},
               {"fps", fps},
               {"frames", cameras.size()},
               {"poses", "poses/" + id + ".txt"},
               {"cameras", "cameras/" + id + ".json"}};
  add_provenance(item, ctx.provenance(), ctx.node_id(), fps, clip.video_rec);
  if (!scene.empty()) item["scene"] = scene;
  if (!subject.empty()) item["subject"] = subject;
  if (shots.is_object()) {
    item["shots"] = shots["shots"];
    item["transitions"] = shots.value("transitions", json::array());
  }
  if (add_qc(ctx, item)) {
    ctx.warn("item " + id + " failed QC and is skipped (qc_failed = skip)");
    remove_item_line(ctx, files);
    item["skipped"] = true;
    ctx.set_record("item", item);
    return;
  }
  write_item(ctx, files, item, realestate10k_poses(id, cameras, fps), cams_doc, caption);
  ctx.set_record("item", item);
}

}  // namespace camgraph::dataset
