// Slurm job arrays: an sbatch script whose array task i runs a slice of an item list with the
// local runner in task mode (its own manifest shard and dataset writer name), `sbatch` submission,
// and the task-side slice arithmetic. `gather` (runner.h) merges what the tasks wrote.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "camgraph/batch/sweep.h"

namespace camgraph::batch {

struct SlurmOptions {
  std::string partition, account, qos, time, mem;  // empty: the cluster's default
  std::string job_name;                            // default camgraph-<sweep name>
  int gpus_per_task = 0;
  int cpus_per_task = 0;
  int array_parallel = 0;  // %K: at most K tasks at once (0: no limit)
  int items_per_task = 0;  // 0: automatic (one item per task, at most max_tasks tasks)
  int max_tasks = 1000;    // Slurm's default MaxArraySize is 1001
  int jobs_per_task = 1;   // items one task runs at once
  int retries = 1;
  std::string device = "auto";
  bool use_cache = true;
  std::filesystem::path cache_dir;        // shared disk cache (must be on a shared file system)
  std::vector<std::string> extra_sbatch;  // more "#SBATCH" options, e.g. "--constraint=a100"
  std::string sbatch = "sbatch";
};

struct SlurmJob {
  std::filesystem::path dir;         // state/slurm/<submission>
  std::filesystem::path script;      // dir/job.sbatch
  std::filesystem::path items_file;  // dir/items.txt (one item id per line)
  std::filesystem::path log_dir;     // dir/logs
  size_t items = 0, tasks = 0, items_per_task = 0;
  std::string job_id;  // after submission
};

// Task `index` of `count` runs items [index*n/count, (index+1)*n/count).
std::pair<size_t, size_t> task_slice(size_t n, size_t index, size_t count);
// The item ids of one task, read from an items file.
std::vector<std::string> task_items(const std::filesystem::path& items_file, size_t index, size_t count);

// Writes a new submission folder under state_dir/slurm with the item list and the sbatch script.
SlurmJob write_slurm_job(const Sweep& sweep, const std::vector<std::string>& item_ids, const std::filesystem::path& cli,
                         const std::filesystem::path& out_dir, const std::filesystem::path& state_dir,
                         const SlurmOptions& options);
// Runs `sbatch --parsable script`; returns the job id. Throws with sbatch's message on failure.
std::string submit_slurm_job(const SlurmJob& job, const SlurmOptions& options);

// A word quoted for bash.
std::string shell_quote(const std::string& s);

}  // namespace camgraph::batch
