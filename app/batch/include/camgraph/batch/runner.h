// The local runner: one child `camgraph-cli run` process per item (crash isolation, real
// parallelism), at most `jobs` at once, every child on one shared on-disk cache; items whose
// upstream results another running item is about to produce wait for it, so a splat trained once
// serves every camera move of that scene. Item states go to the manifest (atomic writes) after
// every change; failures are retried a bounded number of times; a run that is cancelled (Ctrl-C,
// SIGTERM) or crashes resumes where it stopped without redoing done items.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "camgraph/batch/manifest.h"
#include "camgraph/batch/sweep.h"

namespace camgraph::batch {

struct GpuInfo {
  int index = 0;
  double free_mib = 0, total_mib = 0;
  std::string name;
};
// GPUs as nvidia-smi reports them (empty when nvidia-smi is absent or fails).
std::vector<GpuInfo> query_gpus();
// Parses `nvidia-smi --query-gpu=index,memory.free,memory.total,name --format=csv,noheader,nounits`.
std::vector<GpuInfo> parse_nvidia_smi(const std::string& csv);

struct Slots {
  int jobs = 1;
  std::vector<int> gpu_of_slot;  // CUDA_VISIBLE_DEVICES per slot (empty: CPU)
  std::string reason;            // how the number was chosen (printed)
};
// How many items run at once and on which GPU. requested_jobs 0 = automatic: one per GPU (or as
// many as fit into free memory when mem_per_item_mib > 0), 1 on CPU.
Slots plan_slots(int requested_jobs, const std::string& device, double mem_per_item_mib,
                 const std::vector<GpuInfo>& gpus);

struct RunnerOptions {
  std::filesystem::path cli;                       // the camgraph-cli executable that runs items
  std::filesystem::path out_dir;                   // output root (the dataset lives under it)
  std::filesystem::path state_dir;                 // manifest, logs, lock; see default_state_dir()
  std::optional<std::filesystem::path> cache_dir;  // shared disk cache; nullopt: none
  double cache_max_gb = -1;                        // cap each item's run prunes the cache to; < 0: the CLI's default
  int jobs = 0;                                    // 0 = automatic (plan_slots)
  int retries = 1;                                 // extra attempts per failed item in this invocation
  std::string device = "auto";
  double gpu_mem_mib = 0;                       // GPU memory one item needs (0: not limited by memory)
  std::vector<std::string> only;                // item ids to consider (Slurm task); empty = every item
  std::string shard;                            // non-empty: Slurm task mode (manifest.d/<shard>.json, no lock)
  bool index_dataset = true;                    // merge metadata.d shards into metadata.jsonl at the end
  bool share_upstream = true;                   // wait for an item computing the same upstream results
  std::function<int()> cancel_level;            // 0 running, 1 finish politely (SIGINT children), 2 kill children
  std::function<void(const std::string&)> log;  // progress lines
  // Machine-readable progress (camgraph-cli batch --events json), one JSON object per event:
  // batch_started, stale_temps_removed, item_outputs_damaged (a done item runs again: "file" and
  // "problem"), item_started ("pid", "pgid": the child's process group), every event of a running
  // child's own --events stream with "item" added (node_started, progress, node_done, ...),
  // item_done, item_failed, item_cancelled, index_started, index_done. Every event has "event";
  // item events "item" (the id) and "index".
  std::function<void(const nlohmann::json&)> event;
};

std::filesystem::path default_state_dir(const std::filesystem::path& out_dir, const Sweep& sweep);
// Where an item's relative output paths land: the output root when the sweep's per_item templates
// name each item's output files, else out/items/<id>.
std::filesystem::path item_out_dir(const Sweep& sweep, const SweepItem& item, const std::filesystem::path& out_dir,
                                   const Registry& registry);
// The child command line (argv) for one item.
std::vector<std::string> child_command(const Sweep& sweep, const SweepItem& item, const RunnerOptions& opt,
                                       const Registry& registry);

struct RunSummary {
  size_t total = 0;    // items considered
  size_t done = 0;     // finished in this invocation
  size_t skipped = 0;  // done before (not run again)
  size_t failed = 0;   // failed after every retry
  size_t pending = 0;  // not run (cancelled)
  bool cancelled = false;
  int jobs = 1;
  double wall_seconds = 0;
  std::vector<double> item_seconds;  // per item finished in this invocation
  std::vector<std::pair<std::string, ItemRecord>> failures;
  std::vector<std::string> notes;  // dataset index results, warnings
  int exit_code() const;           // 0 all done, 1 failures, 130 cancelled
  std::string to_text() const;
  nlohmann::json to_json() const;
};

RunSummary run_sweep(const Sweep& sweep, const RunnerOptions& options, const Registry& registry);

// Merges metadata.d shards of every dataset folder under out_dir (datasets of items included) into
// metadata.jsonl (formats/dataset); one line per folder, naming missing files. Empty when there is
// nothing to merge.
std::vector<std::string> index_datasets_under(const std::filesystem::path& out_dir, bool* all_files_present = nullptr);
// Dataset folders (holding metadata.jsonl or metadata.d) under root, not entering .camgraph-batch.
std::vector<std::filesystem::path> find_dataset_folders(const std::filesystem::path& root);
// True: the merge is in every build (formats/dataset needs no FFmpeg).
bool dataset_index_available();

// Done items whose recorded outputs are missing or damaged, as a resumed run checks them: item id ->
// the problem, naming the file. A resubmission (--slurm) runs these again with the items not done.
std::map<std::string, std::string> damaged_done_items(const Sweep& sweep, const Manifest& manifest,
                                                      const std::filesystem::path& out_dir);

struct GatherReport {
  Manifest manifest;
  std::vector<std::string> done, missing, failed;  // item ids (missing = not done, includes failed)
  std::map<std::string, std::string> damaged;      // done items with missing or damaged outputs (in missing too)
  std::vector<std::string> notes;                  // dataset index results
  bool files_complete = true;
  nlohmann::json to_json() const;
};
// Folds the Slurm tasks' manifest shards into manifest.json, merges every dataset's metadata shards
// and reports which items are missing (a resubmit runs exactly those).
GatherReport gather(const Sweep& sweep, const std::filesystem::path& out_dir, const std::filesystem::path& state_dir);

}  // namespace camgraph::batch
