#!/bin/bash
# A real one-node Slurm cluster on localhost (munged, slurmctld, slurmd from Debian's packages,
# started in a temp folder, no systemd), a small sweep submitted as a job array with one item made
# to fail, `batch gather` reporting it missing, a resubmit that runs only that item, and the merged
# dataset checked. Exit 77 (ctest SKIP) with the reason where Slurm cannot start here.
#   usage: slurm_local_test.sh CAMGRAPH_CLI SOURCE_DIR
set -uo pipefail
CLI=$(readlink -f "$1")
SRC=$(readlink -f "$2")
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; for f in "$T"/log/*.log; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }

for tool in munged slurmctld slurmd sbatch squeue sinfo scontrol; do
  command -v "$tool" >/dev/null || skip "$tool not installed (packaging/install-deps.sh installs slurm-wlm, slurm-client, munge)"
done
[ "$(id -u)" = 0 ] || skip "slurmd must run as root to start jobs (running as $(id -un))"
python3 -c 1 2>/dev/null || skip "python3 is needed to pick free ports and read JSON"

T=$(mktemp -d /tmp/camgraph-slurm-XXXXXX)
chmod 700 "$T"
mkdir -p "$T/log" "$T/state" "$T/spool" "$T/work"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ -n "${KEEP_SLURM_TEST:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# munge: our own key and socket.
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
munged -F --force --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
  --log-file="$T/log/munged.log" --seed-file="$T/munge.seed" >"$T/log/munged.out" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do [ -S "$T/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/munge.sock" ] || skip "munged did not start: $(tail -n 3 "$T/log/munged.out" "$T/log/munged.log" 2>/dev/null | tr '\n' ' ')"

read -r CTLD_PORT SLURMD_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2/1024*0.8)}' /proc/meminfo)
cat >"$T/slurm.conf" <<CONF
ClusterName=camgraphtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MaxArraySize=1001
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=camgraph Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"

slurmctld -D -i -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$HOST" >"$T/log/slurmd.out" 2>&1 &
PIDS+=($!)
up=""
for i in $(seq 60); do
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null | head -n1)
  case "$state" in idle*|mix*|alloc*) up=1; break ;; esac
  sleep 1
done
[ -n "$up" ] || skip "the local Slurm did not come up (node state '${state:-none}'): $(tail -n 3 "$T/log/slurmctld.out" "$T/log/slurmd.out" "$T/log/slurmctld.log" "$T/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "local Slurm up: node $HOST, $CPUS CPUs, ports $CTLD_PORT/$SLURMD_PORT"

# The sweep: the small demo sweep (3 camera moves of one tiny trained scene).
cp "$SRC/examples-graphs/demo.cgraph" "$T/work/demo.cgraph"
python3 - "$SRC/examples-graphs/sweeps/demo-motions-small.json" "$T/work/sweep.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["graph"] = "demo.cgraph"
s.pop("out", None)
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
OUT="$T/work/out"
"$CLI" batch "$T/work/sweep.json" --out "$OUT" --dry-run --json >"$T/items.json" || fail "dry run"
N=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$T/items.json")
VICTIM=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][1]["id"])' "$T/items.json")
VIDEO=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][1]["outputs"]["encode.path"])' "$T/items.json")
[ "$N" -ge 2 ] || fail "expected a few items, got $N"
# Make one item fail: a folder where its video file should go.
mkdir -p "$OUT/$VIDEO"

wait_job() {
  local job=$1
  for i in $(seq 600); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && return 0
    sleep 1
  done
  fail "job $job did not finish in 600 s: $(squeue -j "$job")"
}

"$CLI" batch "$T/work/sweep.json" --out "$OUT" --slurm --partition camgraph --array-parallel 2 --cpus-per-task 1 \
  --retries 0 --device cpu --json >"$T/submit1.out" 2>"$T/log/submit1.err" || fail "submit: $(cat "$T/log/submit1.err" "$T/submit1.out")"
JOB=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["job_id"])' "$T/submit1.out")
grep -q "#SBATCH --array=0-$((N - 1))%2" "$OUT"/.camgraph-batch/*/slurm/submission-1/job.sbatch || fail "array line"
echo "submitted job $JOB ($N items)"
wait_job "$JOB"

"$CLI" batch gather "$T/work/sweep.json" --out "$OUT" >"$T/gather1.out" 2>&1
rc=$?
cat "$T/gather1.out"
[ $rc = 1 ] || fail "gather should report the failed item (exit $rc)"
grep -q "missing $VICTIM" "$T/gather1.out" || fail "gather does not name the missing item $VICTIM"
grep -q "of $N item(s) done, 1 missing" "$T/gather1.out" || fail "gather counts"

# Resubmit: only the missing item runs.
rmdir "$OUT/$VIDEO"
"$CLI" batch "$T/work/sweep.json" --out "$OUT" --slurm --partition camgraph --retries 0 --device cpu --json \
  >"$T/submit2.out" 2>"$T/log/submit2.err" || fail "resubmit: $(cat "$T/log/submit2.err")"
grep -q "slurm: 1 item(s)" "$T/submit2.out" || fail "the resubmit should run only the missing item: $(cat "$T/submit2.out")"
JOB2=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["job_id"])' "$T/submit2.out")
wait_job "$JOB2"
"$CLI" batch gather "$T/work/sweep.json" --out "$OUT" >"$T/gather2.out" 2>&1 || fail "gather after the resubmit: $(cat "$T/gather2.out")"
cat "$T/gather2.out"

# The merged dataset: one metadata line per item, every file present, no shards left.
DS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["outputs"]["annotate.folder"])' "$T/items.json" 2>/dev/null || echo dataset)
python3 - "$OUT/$DS" "$N" "$T/items.json" <<'PY' || fail "merged dataset check"
import json, os, sys
folder, n, items = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))["items"]
lines = [json.loads(l) for l in open(os.path.join(folder, "metadata.jsonl")) if l.strip()]
names = sorted(l["file_name"] for l in lines)
assert len(lines) == n, f"{len(lines)} metadata lines for {n} items"
assert len(set(names)) == n, "duplicate file_name"
for l in lines:
    assert os.path.getsize(os.path.join(folder, l["file_name"])) > 0, l["file_name"]
want = sorted(it["outputs"]["annotate.item_id"] for it in items)
got = sorted(os.path.splitext(os.path.basename(x))[0] for x in names)
assert got == want, (got, want)
shards = os.path.join(folder, "metadata.d")
assert not os.path.isdir(shards) or not [f for f in os.listdir(shards) if f.endswith(".jsonl")], "shards left"
print(f"dataset {folder}: {len(lines)} items, all files present")
PY
echo "PASS: Slurm array ($N items), gather, resubmit of the missing item, merged dataset"
