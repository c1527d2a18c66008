#!/usr/bin/env bash
# Launch cost of the per-run cgroup: `claude-guard true` with the cgroup
# (where this system gives one) and with CLAUDE_GUARD_CGROUP=off, side by
# side with bare `true` as the baseline, in one hyperfine run. Also the
# reap of a run of 500 processes whose guard and watchdog were SIGKILLed,
# with and without the cgroup. Usage: bench/cgroup.sh [RUNS]
#
# Safety: a scratch CLAUDE_GUARD_HOME and CLAUDE_CONFIG_DIR under a fresh
# temp directory; only processes it started are touched.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-300}
WORK=$(mktemp -d /tmp/claude-guard-cgbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export CLAUDE_GUARD_HOME=$WORK/reg CLAUDE_CONFIG_DIR=$WORK/claude-config
mkdir -p "$CLAUDE_CONFIG_DIR"
unset CLAUDE_GUARD_RUN CLAUDE_GUARD_GRACE CLAUDE_GUARD_CGROUP
G=$WORK/claude-guard
go build -tags urfave_cli_no_docs -o "$G" .
"$G" doctor --json | grep -A3 '"active"' >&2 || true

hyperfine --style basic --time-unit millisecond -N --warmup 20 --runs "$RUNS" \
	--export-json "$WORK/launch.json" \
	-n 'true (baseline)' 'true' \
	-n 'guard, cgroup' "$G --no-watchdog true" \
	-n 'guard, CLAUDE_GUARD_CGROUP=off' "env CLAUDE_GUARD_CGROUP=off $G --no-watchdog true" \
	-n 'env + true (baseline of the above)' 'env CLAUDE_GUARD_CGROUP=off true'

python3 - "$WORK/launch.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base, env = r["true (baseline)"], r["env + true (baseline of the above)"]
cg, off = r["guard, cgroup"], r["guard, CLAUDE_GUARD_CGROUP=off"]
for k in ("median", "min", "mean"):
    o = off[k] - env[k] + base[k]  # the env hop taken out
    print("launch %-6s ms: true %.2f  guard+cgroup %.2f  guard, cgroup off %.2f  ratio cgroup/off %.3f  cgroup extra %.2f ms" % (
        k, base[k]*1e3, cg[k]*1e3, o*1e3, cg[k]/o, (cg[k]-o)*1e3))
PY

# A stale run of 500 processes (guard and watchdog SIGKILLed), reaped.
reap500() {
	local mode=$1 dir=$WORK/r-$1
	mkdir -p "$dir"
	local envs=()
	[ "$mode" = off ] && envs=(env CLAUDE_GUARD_CGROUP=off)
	"${envs[@]}" "$G" sh -c "i=0; while [ \$i -lt 500 ]; do sleep 1000 & i=\$((i+1)); done; : > $dir/up; wait" &
	local gpid=$!
	while [ ! -e "$dir/up" ]; do sleep 0.01; done
	sleep 0.6 # two tree records, so the off mode has them all on record
	for w in $(pgrep -f "^claude-guard __watchdog $CLAUDE_GUARD_HOME" || true); do kill -9 "$w"; done
	kill -9 "$gpid"; wait "$gpid" 2>/dev/null || true
	local t0=$(date +%s%N)
	"${envs[@]}" "$G" reap --grace 2s >/dev/null
	local t1=$(date +%s%N)
	echo "reap of 500 stale processes, $mode: $(( (t1-t0)/1000000 )) ms"
}
reap500 cgroup
reap500 off
