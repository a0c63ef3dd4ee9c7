// camgraph-cli batch / batch gather (docs/batch.md): options, then one named step per
// mode (dry run, Slurm submission, local run).
#include "batch_cmd.h"

#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "camgraph/builtin_nodes.h"
#include "camgraph/batch/manifest.h"
#include "camgraph/batch/runner.h"
#include "camgraph/batch/slurm.h"
#include "camgraph/batch/sweep.h"
#include "camgraph/formats/dataset_metadata.h"
#include "camgraph/output_files.h"
#include "usage.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace camgraph;
using namespace camgraph::batch;

namespace camgraph::cli {
namespace {

volatile std::sig_atomic_t g_batch_cancel = 0;
void on_batch_signal(int) {
  if (g_batch_cancel < 2) g_batch_cancel = g_batch_cancel + 1;
}

int usage(const std::string& msg) {
  std::fprintf(stderr, "camgraph-cli: %s\n(see camgraph-cli --help)\n", msg.c_str());
  return 2;
}

fs::path self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("camgraph-cli") : p;
}

int to_int(const std::string& opt, const std::string& v, int min) {
  size_t pos = 0;
  int x = 0;
  try {
    x = std::stoi(v, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos != v.size() || v.empty() || x < min)
    throw std::invalid_argument(opt + " needs an integer >= " + std::to_string(min) + " (got '" + v + "')");
  return x;
}

struct BatchArgs {
  std::string sweep;
  bool dry_run = false, as_json = false, events_json = false;
  RunnerOptions run;
  bool no_cache = false;
  std::string cache_dir, out, state_dir;
  std::string task_items, shard;
  int task_index = -1, task_count = 0;
  bool slurm = false, submit = true;
  SlurmOptions slurm_opt;
};

int cmd_gather(const std::vector<std::string>& args) {
  std::string sweep_file, out, state_dir;
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return args[++i];
    };
    if (is_help(a)) return print_help("batch gather");
    else if (a == "--out") out = value();
    else if (a == "--state-dir") state_dir = value();
    else if (a == "--json") as_json = true;
    else if (!a.empty() && a[0] == '-') return usage("batch gather: unknown option '" + a + "'");
    else if (sweep_file.empty()) sweep_file = a;
    else return usage("batch gather takes one SWEEP");
  }
  if (sweep_file.empty()) return usage("batch gather needs a SWEEP file");
  const Sweep sweep = load_sweep(sweep_file, builtin_registry());
  const fs::path out_dir = fs::absolute(!out.empty()         ? fs::path(out)
                                        : !sweep.out.empty() ? sweep.out
                                                             : fs::path("out") / sweep.name);
  const fs::path sd = state_dir.empty() ? default_state_dir(out_dir, sweep) : fs::absolute(state_dir);
  const GatherReport g = gather(sweep, out_dir, sd);
  if (as_json) {
    std::cout << g.to_json().dump(1) << "\n";
  } else {
    std::printf("gather %s: %zu of %zu item(s) done, %zu missing (%zu failed)\n", sweep.name.c_str(), g.done.size(),
                sweep.items.size(), g.missing.size(), g.failed.size());
    for (const auto& id : g.missing) {
      auto it = g.manifest.items.find(id);
      std::string why = "never ran";
      if (g.damaged.count(id)) why = "done, but " + g.damaged.at(id);
      else if (it != g.manifest.items.end()) {
        why = to_string(it->second.state);
        if (!it->second.error.empty())
          why += (it->second.node.empty() ? "" : " at node '" + it->second.node + "'") + ": " + it->second.error;
      }
      std::printf("missing %s [%zu]: %s\n", id.c_str(), sweep.find(id)->index, why.c_str());
    }
    for (const auto& n : g.notes) std::printf("%s\n", n.c_str());
    if (!g.missing.empty())
      std::printf(
          "run the same `camgraph-cli batch ... --slurm` (or a local batch) again to run only the missing items\n");
  }
  return g.missing.empty() && g.files_complete ? 0 : 1;
}

// Reads batch's options into b. -1 when they are fine, else the exit code (0 after --help, 2 usage).
int parse_batch_args(const std::vector<std::string>& args, BatchArgs& b) {
  try {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
        return args[++i];
      };
      if (is_help(a)) return print_help("batch");
      else if (a == "--dry-run") b.dry_run = true;
      else if (a == "--json") b.as_json = true;
      else if (a == "--events") {
        if (value() != "json") return usage("--events supports only 'json'");
        b.events_json = true;
      } else if (a == "--jobs" || a == "-j") b.run.jobs = to_int(a, value(), 1);
      else if (a == "--out") b.out = value();
      else if (a == "--retries") b.run.retries = to_int(a, value(), 0);
      else if (a == "--device") {
        b.run.device = value();
        if (b.run.device != "auto" && b.run.device != "cpu" && b.run.device != "cuda")
          return usage("--device must be auto, cpu or cuda (got '" + b.run.device + "')");
      } else if (a == "--cache-dir") b.cache_dir = value();
      else if (a == "--no-cache") b.no_cache = true;
      else if (a == "--cache-max-gb") {
        const std::string v = value();
        char* end = nullptr;
        b.run.cache_max_gb = std::strtod(v.c_str(), &end);
        if (v.empty() || *end || !std::isfinite(b.run.cache_max_gb) || b.run.cache_max_gb < 0 ||
            b.run.cache_max_gb > 1e9)
          return usage("--cache-max-gb needs a size in GB between 0 and 1e9 (got '" + v + "')");
      } else if (a == "--no-share") b.run.share_upstream = false;
      else if (a == "--gpu-mem") b.run.gpu_mem_mib = to_int(a, value(), 1);
      else if (a == "--state-dir") b.state_dir = value();
      else if (a == "--task-items") b.task_items = value();
      else if (a == "--task-index") b.task_index = to_int(a, value(), 0);
      else if (a == "--task-count") b.task_count = to_int(a, value(), 1);
      else if (a == "--shard") b.shard = value();
      else if (a == "--slurm") b.slurm = true;
      else if (a == "--submit") b.submit = true;
      else if (a == "--no-submit") b.submit = false;
      else if (a == "--partition") b.slurm_opt.partition = value();
      else if (a == "--account") b.slurm_opt.account = value();
      else if (a == "--qos") b.slurm_opt.qos = value();
      else if (a == "--time") b.slurm_opt.time = value();
      else if (a == "--mem") b.slurm_opt.mem = value();
      else if (a == "--job-name") b.slurm_opt.job_name = value();
      else if (a == "--gpus-per-task") b.slurm_opt.gpus_per_task = to_int(a, value(), 0);
      else if (a == "--cpus-per-task") b.slurm_opt.cpus_per_task = to_int(a, value(), 1);
      else if (a == "--array-parallel") b.slurm_opt.array_parallel = to_int(a, value(), 1);
      else if (a == "--items-per-task") b.slurm_opt.items_per_task = to_int(a, value(), 1);
      else if (a == "--jobs-per-task") b.slurm_opt.jobs_per_task = to_int(a, value(), 1);
      else if (a == "--sbatch-option") b.slurm_opt.extra_sbatch.push_back(value());
      else if (a == "--sbatch") b.slurm_opt.sbatch = value();
      else if (!a.empty() && a[0] == '-') return usage("batch: unknown option '" + a + "'");
      else if (b.sweep.empty()) b.sweep = a;
      else return usage("batch takes one SWEEP file (got '" + b.sweep + "' and '" + a + "')");
    }
  } catch (const std::invalid_argument& e) {
    return usage(e.what());
  }
  return -1;
}

// Where a batch writes: the output root, its state folder (manifest, logs, lock) and the shared cache.
struct BatchPaths {
  fs::path out_dir, state_dir, cache_dir;
};

BatchPaths batch_paths(const BatchArgs& b, const Sweep& sweep) {
  BatchPaths p;
  p.out_dir = fs::absolute(!b.out.empty()       ? fs::path(b.out)
                           : !sweep.out.empty() ? sweep.out
                                                : fs::path("out") / sweep.name)
                  .lexically_normal();
  p.state_dir = b.state_dir.empty() ? default_state_dir(p.out_dir, sweep) : fs::absolute(b.state_dir);
  p.cache_dir = b.cache_dir.empty() ? p.out_dir / ".camgraph-batch" / "cache" : fs::absolute(b.cache_dir);
  return p;
}

// --dry-run --json: the sweep with each item's state and output folder.
int print_dry_run_json(const Sweep& sweep, const BatchPaths& paths, const Manifest& manifest, const Registry& reg) {
  json j = sweep.to_json();
  j["out"] = paths.out_dir.string();
  for (auto& it : j["items"]) {
    auto r = manifest.items.find(it["id"].get<std::string>());
    it["state"] = r == manifest.items.end() ? "pending" : to_string(r->second.state);
    it["out"] = item_out_dir(sweep, *sweep.find(it["id"]), paths.out_dir, reg).string();
  }
  std::cout << j.dump(1) << "\n";
  return 0;
}

// --dry-run: one line per item (index, id, state, overrides), stale manifest items, where outputs go.
int print_dry_run(const Sweep& sweep, const BatchPaths& paths, const Manifest& manifest, const Registry& reg) {
  std::printf(
      "sweep %s: %zu item(s) over %s (graph hash %s)%s\n", sweep.name.c_str(), sweep.items.size(),
      sweep.graph_path.c_str(), sweep.graph_hash.substr(0, 16).c_str(),
      sweep.duplicates ? (", " + std::to_string(sweep.duplicates) + " duplicate variant(s) dropped").c_str() : "");
  for (const auto& it : sweep.items) {
    auto r = manifest.items.find(it.id);
    std::string ov;
    for (const auto& s : it.set_args()) ov += (ov.empty() ? "" : " ") + s;
    std::printf("%5zu  %s  %-8s %s\n", it.index, it.id.c_str(),
                r == manifest.items.end() ? "pending" : to_string(r->second.state), ov.c_str());
  }
  size_t stale = 0;
  for (const auto& [id, r] : manifest.items)
    if (!sweep.find(id)) stale++;
  if (stale)
    std::printf("%zu item(s) in the manifest are not part of this sweep any more (the sweep or its graph changed)\n",
                stale);
  if (!sweep.items_have_own_outputs(reg))
    std::printf("outputs: each item writes under %s/items/<id>/ (no per_item output paths in the sweep)\n",
                paths.out_dir.c_str());
  else std::printf("outputs: %s\n", paths.out_dir.c_str());
  return 0;
}

// --slurm: writes the job array for the items not done yet and submits it (unless --no-submit).
int submit_to_slurm(const BatchArgs& b, const Sweep& sweep, const BatchPaths& paths, const Manifest& manifest) {
  std::vector<std::string> ids;
  const auto damaged = damaged_done_items(sweep, manifest, paths.out_dir);
  for (const auto& it : sweep.items) {
    auto r = manifest.items.find(it.id);
    if (r == manifest.items.end() || r->second.state != ItemState::Done) ids.push_back(it.id);
    else if (damaged.count(it.id)) {
      std::printf("[%zu] %s: %s; running the item again\n", it.index, it.id.c_str(), damaged.at(it.id).c_str());
      ids.push_back(it.id);
    }
  }
  if (ids.empty()) {
    std::printf("every item of %s is done (%zu); nothing to submit\n", sweep.name.c_str(), sweep.items.size());
    return 0;
  }
  SlurmOptions so = b.slurm_opt;
  so.retries = b.run.retries;
  so.device = b.run.device;
  so.use_cache = !b.no_cache;
  so.cache_dir = paths.cache_dir;
  if (b.run.jobs > 0 && so.jobs_per_task == 1) so.jobs_per_task = b.run.jobs;
  try {
    fs::create_directories(paths.state_dir);
    SlurmJob job = write_slurm_job(sweep, ids, self_exe(), paths.out_dir, paths.state_dir, so);
    std::printf("slurm: %zu item(s) (of %zu; the rest are done) in %zu array task(s) of %zu item(s): %s\n", job.items,
                sweep.items.size(), job.tasks, job.items_per_task, job.script.c_str());
    if (b.submit) {
      job.job_id = submit_slurm_job(job, so);
      write_file_atomic(job.dir / "job_id", job.job_id + "\n");
      std::printf("submitted job %s; when it ends: camgraph-cli batch gather %s --out %s\n", job.job_id.c_str(),
                  b.sweep.c_str(), paths.out_dir.c_str());
      if (b.as_json)
        std::cout
            << json{{"job_id", job.job_id}, {"script", job.script}, {"tasks", job.tasks}, {"items", job.items}}.dump()
            << "\n";
    } else {
      std::printf("not submitted (--no-submit): sbatch %s\n", job.script.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

// Runs the items here (all of them, or a Slurm task's slice with --task-items), Ctrl-C cancelling.
int run_locally(BatchArgs& b, const Sweep& sweep, const BatchPaths& paths, const Registry& reg) {
  RunnerOptions& opt = b.run;
  opt.cli = self_exe();
  opt.out_dir = paths.out_dir;
  opt.state_dir = paths.state_dir;
  if (!b.no_cache) opt.cache_dir = paths.cache_dir;
  if (!b.task_items.empty()) {
    try {
      opt.only = task_items(b.task_items, size_t(b.task_index), size_t(b.task_count));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    opt.shard = b.shard;
    if (opt.only.empty()) {
      std::printf("task %d of %d: no items\n", b.task_index, b.task_count);
      return 0;
    }
  }
  opt.cancel_level = [] { return int(g_batch_cancel); };
  opt.log = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  // --events json: one JSON object a line on stdout, flushed at once (a watcher acts on each).
  if (b.events_json)
    opt.event = [](const json& e) {
      std::cout << e.dump() << "\n";
      std::cout.flush();
    };
  std::signal(SIGINT, on_batch_signal);
  std::signal(SIGTERM, on_batch_signal);
  RunSummary sum;
  try {
    sum = run_sweep(sweep, opt, reg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (b.events_json) {
    json done = sum.to_json();
    done["event"] = "batch_done";
    std::cout << done.dump() << "\n";
  } else if (b.as_json) {
    std::cout << sum.to_json().dump(1) << "\n";
  } else {
    std::fputs(sum.to_text().c_str(), stdout);
  }
  return sum.exit_code();
}

}  // namespace

int cmd_batch(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "gather") return cmd_gather({args.begin() + 1, args.end()});
  BatchArgs b;
  if (const int rc = parse_batch_args(args, b); rc >= 0) return rc;
  if (b.sweep.empty()) return usage("batch needs a SWEEP file (see docs/batch.md)");
  if (!b.task_items.empty() && (b.task_index < 0 || b.task_count < 1 || b.shard.empty()))
    return usage("--task-items needs --task-index, --task-count and --shard");

  const Registry& reg = builtin_registry();
  Sweep sweep;
  try {
    sweep = load_sweep(b.sweep, reg);
  } catch (const SweepError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  const BatchPaths paths = batch_paths(b, sweep);
  const Manifest manifest = load_manifest(paths.state_dir);
  if (b.dry_run)
    return b.as_json ? print_dry_run_json(sweep, paths, manifest, reg) : print_dry_run(sweep, paths, manifest, reg);
  if (b.slurm) return submit_to_slurm(b, sweep, paths, manifest);
  return run_locally(b, sweep, paths, reg);
}

}  // namespace camgraph::cli
