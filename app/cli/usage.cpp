// camgraph-cli's help texts (see usage.h).
#include "usage.h"

#include <cstdio>

namespace camgraph::cli {
namespace {

constexpr const char* kCommands = R"(camgraph-cli - run CamGraph node graphs headless

usage:
  camgraph-cli run FILE [options]      evaluate a .cgraph file
  camgraph-cli validate FILE           check a .cgraph file (exit 1 with every problem)
  camgraph-cli nodes [--json]          list the node types of this build
  camgraph-cli batch SWEEP [options]   run a parameter sweep over a graph (docs/batch.md)
  camgraph-cli batch gather SWEEP [--out DIR] [--json]
                                       merge Slurm tasks' results, report missing items
  camgraph-cli dataset index DIR       merge metadata.d/*.jsonl shards into metadata.jsonl
  camgraph-cli dataset report DIR      summarise and check a dataset: counts, QC, problems;
                                       writes report.html and the dataset card README.md
  camgraph-cli cache usage DIR [--json] the size of an on-disk cache (--cache-dir)
  camgraph-cli cache prune DIR --max-gb G
                                       remove least recently used entries until G GB remain
                                       (--max-gb 0 empties it)
  camgraph-cli paths [--json]          where this installation's shipped files are (examples,
                                       CLIP vocabulary) and where model files are looked for
  camgraph-cli --version               print the version and the node families of this build
  camgraph-cli --help                  print this help
)";

constexpr const char* kRunOptions = R"(  --set NODE.PARAM=VALUE   override a parameter (repeatable)
  --device auto|cpu|cuda   where tensors live (default auto: cuda when available)
  --out DIR                output folder for relative output paths (default: out)
  --cache-dir DIR          on-disk cache that survives restarts
  --cache-max-gb G         after the run, prune that cache to G GB, least recently used first
                           (default 50; 0: no limit)
  --target NODE            bring only this node (and what it needs) up to date (repeatable)
  --events json            print the run's event stream as JSON lines on stdout
  --quiet                  no progress output
)";

constexpr const char* kBatchOptions =
    R"(  --dry-run [--json]       list the items (id, overrides, state) without running
  --out DIR                output root (default: the sweep's "out", else out/<sweep name>)
  --jobs N                 items at once (default: one per GPU, 1 on the CPU)
  --retries K              extra attempts per failed item (default 1)
  --device auto|cpu|cuda   --gpu-mem MIB (GPU memory one item needs; caps --jobs)
  --cache-dir DIR          shared cache (default OUT/.camgraph-batch/cache); --no-cache
  --cache-max-gb G         cap of that cache, applied after each item (default 50; 0: no limit)
  --no-share               start items at once even when one computes what another needs
  --events json            print the runner's events and each item's run events (tagged with
                           the item id) as JSON lines on stdout
  --slurm                  write (and --submit, default; --no-submit) an sbatch job array;
                           --partition P --gpus-per-task G --cpus-per-task C --array-parallel K
                           --items-per-task N --time T --mem M --account A --qos Q
                           --sbatch-option OPT (repeatable) --job-name NAME
)";

constexpr const char* kExitCodes = "exit codes: 0 ok, 1 graph or node error, 2 usage error, 130 cancelled\n";

constexpr const char* kGather = R"(usage: camgraph-cli batch gather SWEEP [--out DIR] [--state-dir DIR] [--json]
  merge the Slurm tasks' manifests and every dataset's metadata.d shards, list the items still
  missing (run the same batch again to run exactly those); exit 1 while items or files are missing
)";

constexpr const char* kDatasetIndex = R"(usage: camgraph-cli dataset index DIR [--keep-shards] [--json]
  merge DIR/metadata.d/*.jsonl (one shard per writer) into DIR/metadata.jsonl: one line per
  file_name, a later shard replacing an earlier line; exit 1 when a listed file is missing
  --keep-shards            leave the shard files in place
  --json                   print the report as JSON
)";

constexpr const char* kDatasetReport = R"(usage: camgraph-cli dataset report DIR [options]
  read DIR/metadata.jsonl and every file its items name; print counts by camera move, direction,
  intensity, scene, character, action and weather, size / fps / length with every non-uniform
  item named, QC score distributions with the worst items, label-truth agreement, and every
  problem (a missing file, a video that does not decode to its frame count, a pose file with a
  wrong line count or an improper rotation, a caption whose motion words disagree with its
  motion records); write an HTML page (plots, contact sheet of first / middle / last frames) and
  the dataset card DIR/README.md; exit 1 when problems are found (docs/dataset.md, "Report")
  --html FILE              where the page goes (default DIR/report.html)
  --no-html, --no-card     write no page / no card
  --license ID             the card's licence (default other)
  --no-decode              do not decode the videos (header checks only, no contact sheet)
  --overwrite              replace a page or README.md that CamGraph did not write
  --json                   print the report as JSON
)";

constexpr const char* kCache = R"(usage: camgraph-cli cache usage DIR [--json]
       camgraph-cli cache prune DIR --max-gb G [--json]
  the size of an on-disk cache (--cache-dir); prune removes least recently used entries until
  G GB remain (--max-gb 0 empties it)
)";

}  // namespace

std::string main_usage() {
  return std::string(kCommands) + "\nrun options:\n" + kRunOptions + "\nbatch options:\n" + kBatchOptions + "\n" +
         kExitCodes;
}

std::string subcommand_usage(const std::string& name) {
  if (name == "run")
    return std::string(
               "usage: camgraph-cli run FILE [options]\n"
               "  validate a .cgraph file, then evaluate the nodes its outputs need\n\noptions:\n") +
           kRunOptions + "\n" + kExitCodes;
  if (name == "validate")
    return "usage: camgraph-cli validate FILE\n"
           "  check a .cgraph file (types, required inputs, cycles, parameter ranges); exit 1 naming\n"
           "  every problem with its node and parameter\n";
  if (name == "nodes")
    return "usage: camgraph-cli nodes [--json]\n"
           "  list the node types of this build (--json: every spec with its ports and parameters)\n";
  if (name == "batch")
    return std::string(
               "usage: camgraph-cli batch SWEEP [options]\n"
               "  run a parameter sweep over a graph (docs/batch.md)\n\noptions:\n") +
           kBatchOptions +
           "  --state-dir DIR          manifest, logs and lock (default OUT/.camgraph-batch/<sweep name>)\n"
           "  --json                   print the summary (or the dry run, or the submitted job) as JSON\n"
           "  --task-items FILE --task-index I --task-count N --shard NAME\n"
           "                           run one Slurm array task's items (what --slurm's script calls)\n\n" +
           kGather + "\n" + kExitCodes;
  if (name == "batch gather") return kGather;
  if (name == "dataset") return std::string(kDatasetIndex) + "\n" + kDatasetReport;
  if (name == "dataset index") return kDatasetIndex;
  if (name == "dataset report") return kDatasetReport;
  if (name == "cache" || name == "cache usage" || name == "cache prune") return kCache;
  if (name == "paths")
    return "usage: camgraph-cli paths [--json]\n"
           "  print the program's file, the folders searched for shipped files ($CAMGRAPH_DATA_DIR, then\n"
           "  PREFIX/share/camgraph beside the program's bin/), the example graphs, the CLIP vocabulary\n"
           "  that single-file checkpoints use, and the models root ($CAMGRAPH_MODELS)\n";
  return main_usage();
}

bool is_help(const std::string& arg) { return arg == "--help" || arg == "-h"; }

int print_help(const std::string& name) {
  std::fputs(subcommand_usage(name).c_str(), stdout);
  return 0;
}

}  // namespace camgraph::cli
