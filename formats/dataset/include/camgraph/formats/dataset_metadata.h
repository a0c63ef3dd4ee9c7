// A dataset folder's metadata.jsonl with several writers: one shard file per writer, merged by an
// index step. Library camgraph_dataset_formats (formats/dataset): the dataset family writes these
// files, the batch runner and `camgraph-cli dataset index` merge them; neither includes the other.
//
// A dataset folder holds metadata.jsonl (Hugging Face videofolder: one JSON object a line, keyed by
// "file_name"). One process may update it directly. Several processes writing items into one folder
// at once (a batch with --jobs N, a Slurm array) each write their own shard,
// metadata.d/<writer>.jsonl, and never touch metadata.jsonl; `index_dataset_metadata` (run by
// `camgraph-cli dataset index`, and by batch gather) merges the shards into metadata.jsonl
// atomically: one line per file_name (videos/<item id>.<ext>: an item appears once however often it
// ran), a later shard (by name) replacing an earlier line; shards are
// removed only after the merged file is in place, so a crash between the two steps loses nothing
// and merging again gives the same file. Every file is rewritten whole through OutputFiles
// (temporary file, fsync, rename, fsync of the folder): a killed writer leaves the old or the new
// file, never half a line.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace camgraph {
class OutputFiles;
}

// camgraph::dataset: the dataset folder format (the dataset family uses these names unqualified).
namespace camgraph::dataset {

// The writer name from $CAMGRAPH_DATASET_WRITER ("" when unset: single-writer mode).
std::string metadata_writer_from_env();
// "" is valid (single writer); otherwise letters, digits, '_', '-', '.', not starting with '.'.
bool valid_writer_name(const std::string& writer);
// folder/metadata.jsonl for "", else folder/metadata.d/<writer>.jsonl.
std::filesystem::path metadata_file_for_writer(const std::filesystem::path& folder, const std::string& writer);

// `text` (JSON lines) with the line whose file_name equals item's replaced by `item`, or `item`
// appended. Lines that are not JSON objects are kept; each adds a warning.
std::string upsert_jsonl_line(const std::string& text, const nlohmann::json& item,
                              std::vector<std::string>* warnings = nullptr);

// Writes `item`'s line into `file` (metadata.jsonl or a writer's shard): the file's text with the
// line of the same file_name replaced, or the line appended, committed atomically through `files`
// (OutputFiles::write_line_file: a batch's outputs log records the line's file_name).
void write_metadata_line(OutputFiles& files, const std::filesystem::path& file, const nlohmann::json& item,
                         bool overwrite, std::vector<std::string>* warnings = nullptr);
// The dataset folder of a metadata file: the folder holding it, or for a shard (metadata.d/x.jsonl)
// the folder above.
std::filesystem::path dataset_folder_of(const std::filesystem::path& metadata_file);
// Every file_name that folder/metadata.jsonl and its metadata.d shards name (unreadable files and
// bad lines left out).
std::set<std::string> metadata_file_names(const std::filesystem::path& folder);

struct MetadataIndexReport {
  size_t items = 0;                        // lines in the merged metadata.jsonl
  size_t shards = 0;                       // shard files merged
  size_t replaced = 0;                     // lines a later line replaced (same file_name)
  size_t bad_lines = 0;                    // lines that are not JSON objects with a file_name (kept, warned)
  std::vector<std::string> missing_files;  // file_name values whose file is not in the folder
  std::vector<std::string> warnings;
};

// Merges metadata.jsonl and metadata.d/*.jsonl into metadata.jsonl (written through `files`, which
// must have the dataset folder or a parent as its root). Throws naming the file on I/O errors.
MetadataIndexReport index_dataset_metadata(const std::filesystem::path& folder, OutputFiles& files,
                                           bool remove_shards = true);
// The output root of a dataset folder: the nearest folder at or above it that holds CamGraph's
// output manifest (.camgraph-outputs.json), else the folder itself.
std::filesystem::path output_root_of(const std::filesystem::path& folder);
// index_dataset_metadata with an OutputFiles on output_root_of(folder).
MetadataIndexReport index_dataset_metadata(const std::filesystem::path& folder, bool remove_shards = true);

}  // namespace camgraph::dataset
