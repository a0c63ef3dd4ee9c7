#include "camgraph/batch/slurm.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "camgraph/output_files.h"

namespace fs = std::filesystem;

namespace camgraph::batch {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::pair<size_t, size_t> task_slice(size_t n, size_t index, size_t count) {
  if (count == 0 || index >= count) return {0, 0};
  return {index * n / count, (index + 1) * n / count};
}

std::vector<std::string> task_items(const fs::path& items_file, size_t index, size_t count) {
  std::vector<std::string> all;
  std::ifstream in(items_file);
  if (!in) throw std::runtime_error("cannot read the item list " + items_file.string());
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) all.push_back(line);
  if (index >= count)
    throw std::runtime_error("task index " + std::to_string(index) + " is outside 0.." + std::to_string(count - 1));
  auto [b, e] = task_slice(all.size(), index, count);
  return {all.begin() + long(b), all.begin() + long(e)};
}

SlurmJob write_slurm_job(const Sweep& sweep, const std::vector<std::string>& ids, const fs::path& cli,
                         const fs::path& out_dir, const fs::path& state_dir, const SlurmOptions& o) {
  if (ids.empty()) throw std::runtime_error("nothing to submit: every item of " + sweep.name + " is done");
  SlurmJob job;
  int n = 1;
  while (fs::exists(state_dir / "slurm" / ("submission-" + std::to_string(n)))) ++n;
  job.dir = state_dir / "slurm" / ("submission-" + std::to_string(n));
  job.log_dir = job.dir / "logs";
  job.items_file = job.dir / "items.txt";
  job.script = job.dir / "job.sbatch";
  fs::create_directories(job.log_dir);
  job.items = ids.size();
  size_t per = o.items_per_task > 0 ? size_t(o.items_per_task)
                                    : std::max<size_t>(1, (ids.size() + size_t(o.max_tasks) - 1) / size_t(o.max_tasks));
  job.tasks = (ids.size() + per - 1) / per;
  job.items_per_task = per;

  std::string list;
  for (const auto& id : ids) list += id + "\n";
  write_file_atomic(job.items_file, list);

  std::ostringstream s;
  s << "#!/bin/bash\n";
  s << "# CamGraph batch " << sweep.name << ": " << job.items << " item(s) in " << job.tasks
    << " array task(s); task i runs lines [i*N/T, (i+1)*N/T) of items.txt.\n";
  s << "# Written by camgraph-cli batch --slurm; resubmit the missing items with the same command.\n";
  s << "#SBATCH --job-name=" << (o.job_name.empty() ? "camgraph-" + sweep.name : o.job_name) << "\n";
  s << "#SBATCH --array=0-" << (job.tasks - 1);
  if (o.array_parallel > 0) s << "%" << o.array_parallel;
  s << "\n";
  s << "#SBATCH --output=" << (job.log_dir / "%A_%a.out").string() << "\n";
  s << "#SBATCH --ntasks=1\n";
  if (!o.partition.empty()) s << "#SBATCH --partition=" << o.partition << "\n";
  if (!o.account.empty()) s << "#SBATCH --account=" << o.account << "\n";
  if (!o.qos.empty()) s << "#SBATCH --qos=" << o.qos << "\n";
  if (!o.time.empty()) s << "#SBATCH --time=" << o.time << "\n";
  if (!o.mem.empty()) s << "#SBATCH --mem=" << o.mem << "\n";
  if (o.gpus_per_task > 0) s << "#SBATCH --gpus-per-task=" << o.gpus_per_task << "\n";
  if (o.cpus_per_task > 0) s << "#SBATCH --cpus-per-task=" << o.cpus_per_task << "\n";
  for (const auto& e : o.extra_sbatch) s << "#SBATCH " << e << "\n";
  s << "set -euo pipefail\n";
  s << "task=\"${SLURM_ARRAY_TASK_ID:?run this script with sbatch (an array job)}\"\n";
  s << "exec " << shell_quote(cli.string()) << " batch " << shell_quote(sweep.file.string()) << " \\\n";
  s << "  --out " << shell_quote(out_dir.string()) << " --state-dir " << shell_quote(state_dir.string()) << " \\\n";
  s << "  --task-items " << shell_quote(job.items_file.string()) << " --task-index \"$task\" --task-count " << job.tasks
    << " \\\n";
  s << "  --shard \"slurm-${SLURM_ARRAY_JOB_ID:-0}_${task}\" --jobs " << o.jobs_per_task << " --retries " << o.retries
    << " --device " << shell_quote(o.device);
  if (o.use_cache && !o.cache_dir.empty()) s << " --cache-dir " << shell_quote(o.cache_dir.string());
  else s << " --no-cache";
  s << "\n";
  write_file_atomic(job.script, s.str());
  fs::permissions(job.script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  return job;
}

std::string submit_slurm_job(const SlurmJob& job, const SlurmOptions& o) {
  const std::string cmd = shell_quote(o.sbatch) + " --parsable " + shell_quote(job.script.string()) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + o.sbatch);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0 || out.empty() || out.find_first_not_of("0123456789;") != std::string::npos)
    throw std::runtime_error(
        o.sbatch + " failed (" +
        (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status)) : std::string("not run")) +
        "): " + (out.empty() ? "no output" : out) + "\n(the script is " + job.script.string() + ")");
  return out.substr(0, out.find(';'));  // "jobid[;cluster]"
}

}  // namespace camgraph::batch
