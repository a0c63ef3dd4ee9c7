// dataset family: encode.video, dataset.annotate.
#include "camgraph/node_context.h"
#include "dataset.h"

namespace camgraph {

void register_dataset_nodes(Registry& r) {
  r.add({.type = "encode.video",
         .category = "Dataset",
         .title = "Encode Video",
         .doc = "Encodes a frame sequence with libavcodec: H.264 (libx264) or H.265 (libx265) in MP4 with "
                "+faststart, or lossless FFV1 in MKV. 8-bit BT.709 limited range; odd sizes are padded "
                "(edge pixels repeated) or cropped to even. Runs on the CPU by design (libavcodec): frames "
                "rendered on a GPU come back to the host once, here.",
         .inputs = {{"frames", PortType::FrameSequence, "frames to encode (alpha is dropped)"}},
         .outputs = {{"video", PortType::Record, "{file, codec, width, height, fps, frames, crf, even}"}},
         .params = {p_enum("codec", "h264", {"h264", "h265", "ffv1"},
                           "h264: libx264 yuv420p; h265: libx265 yuv420p; ffv1: lossless yuv444p (MKV)"),
                    p_float("fps", 0, 0, 1000, "frame rate; 0 = the sequence's"),
                    p_int("crf", 18, 0, 51, "constant rate factor (h264/h265; lower = better)"),
                    p_enum("preset", "medium",
                           {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                            "veryslow"},
                           "encoder speed preset (h264/h265)"),
                    p_enum("even", "pad", {"pad", "crop"},
                           "odd width/height: pad by repeating the last row/column, or crop it"),
                    p_output_path("path", "video.mp4", "output file (.mp4/.mov for h264/h265, .mkv for any)"),
                    p_bool("overwrite", false, "replace a file CamGraph did not write")},
         .is_output = true,
         .execute = dataset::encode_video_execute});
  r.add({.type = "dataset.annotate",
         .category = "Dataset",
         .title = "Annotate Dataset Item",
         .doc = "Writes one dataset item: poses/<id>.txt (RealEstate10K), cameras/<id>.json, videos/<id>.txt "
                "(caption), the video (copied to videos/<id>.<ext> when connected) and its line in "
                "metadata.jsonl (HF videofolder; a re-run replaces the item's line), or to this writer's "
                "shard metadata.d/<writer>.jsonl when several processes write one dataset.",
         .inputs = {{"frames", PortType::FrameSequence, "frames with one camera per frame (poses, size, fps)"},
                    {"path", PortType::CameraPath, "camera path: motion records for the caption", true},
                    {"scene", PortType::Text, "scene description for the caption", true},
                    {"subject", PortType::Text, "subject description for the caption", true},
                    {"video", PortType::Record, "encode.video's output: the file of this item", true},
                    {"qc", PortType::Record, "dataset.qc's scores: written as the item's 'qc' field", true},
                    {"shots", PortType::Record, "sequence.join's shots: each shot's caption and frame range", true}},
         .outputs = {{"item", PortType::Record, "the item's metadata.jsonl line"}},
         .params = {p_output_path("folder", "dataset", "dataset folder"),
                    p_string("item_id", "", "item id; empty = a hash of the cameras, fps and caption"),
                    p_string("caption", "{scene}, {subject}, {motion}",
                             "caption template: {scene}, {subject}, {motion} (empty parts are dropped)"),
                    p_string("writer", "",
                             "several processes writing one dataset: this one's shard name (metadata.d/"
                             "<writer>.jsonl, merged by `camgraph-cli dataset index`); empty = "
                             "$CAMGRAPH_DATASET_WRITER, else metadata.jsonl itself"),
                    p_enum("qc_failed", "flag", {"flag", "skip"},
                           "an item that failed QC: flag it (qc_pass false in its line) or skip it (nothing "
                           "written; a previous line of the same item is removed)"),
                    p_bool("overwrite", false, "replace files CamGraph did not write")},
         .is_output = true,
         .execute = dataset::annotate_execute});
  r.add({.type = "dataset.export",
         .category = "Dataset",
         .title = "Export Dataset",
         .doc = "Exports a dataset folder (its metadata.jsonl) for trainers: CogVideoX prompts.txt + videos.txt "
                "(line i: caption and video of item i), and/or WebDataset tar shards webdataset/shard-NNNNNN.tar "
                "(per item <key>.mp4, .txt, .json, .poses.txt, .cameras.json). Items that failed QC are left out "
                "unless include_qc_failed.",
         .inputs = {{"item", PortType::Record, "an annotate output, to run after it (optional)", true}},
         .outputs = {{"export", PortType::Record, "{items, skipped_qc_failed, skipped_missing_video, files}"}},
         .params = {p_output_path("folder", "dataset", "dataset folder (with metadata.jsonl)"),
                    p_enum("format", "both", {"cogvideox", "webdataset", "both"}, "what to write"),
                    p_int("shard_size", 1000, 1, 1000000, "webdataset: items per tar shard"),
                    p_bool("include_qc_failed", false, "also export items whose qc_pass is false"),
                    p_bool("overwrite", false, "replace files CamGraph did not write")},
         .is_output = true,
         .execute = dataset::export_execute});
}

}  // namespace camgraph
