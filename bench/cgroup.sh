#!/usr/bin/env bash
# Launch cost of the per-run cgroup (issue 11): `claude-guard /bin/true` with
# the cgroup (where this system gives one) and with CLAUDE_GUARD_CGROUP=off,
# with and without the watchdog, side by side with /bin/true and tini -s in
# one hyperfine run per round. Every guard variant and the baseline run
# through the same `env VAR=...` hop, so no correction is needed. Then CPU
# per launch of the whole tree in both modes (bench/cpu), and the reap of a
# run of 500 processes whose guard and watchdog were SIGKILLed, both modes.
# Writes bench/results/cgroup-*.json; prints the ratios.
#
# Usage: bench/cgroup.sh [RUNS]   (RUNS per variant and round, default 200;
# BENCH_ROUNDS rounds, default 3). About 2 minutes on a 2-core VM at load 5.
#
# Safety: a scratch CLAUDE_GUARD_HOME and CLAUDE_CONFIG_DIR under a fresh
# temp directory; only processes it started are touched.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
ROUNDS=${BENCH_ROUNDS:-3}
RES=$PWD/bench/results
mkdir -p "$RES"
WORK=$(mktemp -d /tmp/claude-guard-cgbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export CLAUDE_GUARD_HOME=$WORK/reg CLAUDE_CONFIG_DIR=$WORK/claude-config
mkdir -p "$CLAUDE_CONFIG_DIR"
unset CLAUDE_GUARD_RUN CLAUDE_GUARD_GRACE CLAUDE_GUARD_CGROUP
G=$WORK/claude-guard
go build -tags urfave_cli_no_docs -o "$G" .
go build -o "$WORK/cpu" ./bench/cpu
go build -o "$WORK/stale" ./bench/stale
TINI=$(command -v tini)
ENV=$(command -v env)
"$G" doctor --json | jq -c '.active' >&2 || true
quiesce() { "$WORK/stale" "$CLAUDE_GUARD_HOME" -1; }

for r in $(seq "$ROUNDS"); do
	hyperfine --style none --time-unit millisecond -N --warmup 20 --runs "$RUNS" \
		--export-json "$RES/cgroup-launch-$r.json" \
		-n direct /bin/true -n tini "$TINI -s -- /bin/true" \
		-n env "$ENV CLAUDE_GUARD_CGROUP=on /bin/true" \
		-n guard-cgroup "$ENV CLAUDE_GUARD_CGROUP=on $G /bin/true" \
		-n guard-off "$ENV CLAUDE_GUARD_CGROUP=off $G /bin/true" \
		-n guard-nowd-cgroup "$ENV CLAUDE_GUARD_CGROUP=on $G --no-watchdog /bin/true" \
		-n guard-nowd-off "$ENV CLAUDE_GUARD_CGROUP=off $G --no-watchdog /bin/true" \
		2>&1 >/dev/null | grep -v -e "Statistical outliers" -e "^ *$" -e "Warning" -e "consider using" >&2 || true
	quiesce
done

"$WORK/cpu" "$ROUNDS" 100 env="$ENV CLAUDE_GUARD_CGROUP=on /bin/true" \
	guard-cgroup="$ENV CLAUDE_GUARD_CGROUP=on $G /bin/true" guard-off="$ENV CLAUDE_GUARD_CGROUP=off $G /bin/true" \
	guard-nowd-cgroup="$ENV CLAUDE_GUARD_CGROUP=on $G --no-watchdog /bin/true" \
	guard-nowd-off="$ENV CLAUDE_GUARD_CGROUP=off $G --no-watchdog /bin/true" >"$RES/cgroup-cpu.json"
quiesce

# A stale run of 500 processes (guard and watchdog SIGKILLed), reaped.
reap500() {
	local mode=$1 dir=$WORK/r-$1
	mkdir -p "$dir"
	"$ENV" CLAUDE_GUARD_CGROUP="$mode" "$G" sh -c "i=0; while [ \$i -lt 500 ]; do sleep 1000 & i=\$((i+1)); done; : > $dir/up; wait" &
	local gpid=$!
	while [ ! -e "$dir/up" ]; do sleep 0.01; done
	sleep 0.6 # two tree records, so the off mode has them all on record
	for w in $(pgrep -f "__watchdog $CLAUDE_GUARD_HOME" || true); do kill -9 "$w"; done
	kill -9 "$gpid"
	wait "$gpid" 2>/dev/null || true
	local t0 t1
	t0=$(date +%s%N)
	"$ENV" CLAUDE_GUARD_CGROUP="$mode" "$G" reap --grace 2s >/dev/null
	t1=$(date +%s%N)
	echo "{\"mode\":\"$mode\",\"reap_ms\":$(((t1 - t0) / 1000000))}"
}
{ reap500 on; reap500 off; } | jq -s . >"$RES/cgroup-reap.json"

jq -s --slurpfile cpu "$RES/cgroup-cpu.json" --slurpfile reap "$RES/cgroup-reap.json" '
  def med: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  [ .[] | [.results[] | {key: .command, value: (.median * 1000)}] | from_entries ] as $r
  | {rounds: ($r | length),
     median_ms: ($r[0] | keys | map({key: ., value: ([$r[][.]] | med)}) | from_entries),
     cgroup_over_off_added: {
       watchdog: ([$r[] | (.["guard-cgroup"] - .env) / (.["guard-off"] - .env)] | med),
       no_watchdog: ([$r[] | (.["guard-nowd-cgroup"] - .env) / (.["guard-nowd-off"] - .env)] | med)},
     cgroup_extra_ms: {
       watchdog: ([$r[] | .["guard-cgroup"] - .["guard-off"]] | med),
       no_watchdog: ([$r[] | .["guard-nowd-cgroup"] - .["guard-nowd-off"]] | med)},
     added_over_tini: {
       cgroup: ([$r[] | (.["guard-cgroup"] - .env) / (.tini - .direct)] | med),
       off: ([$r[] | (.["guard-off"] - .env) / (.tini - .direct)] | med)},
     cpu: $cpu[0], reap500: $reap[0]}' "$RES"/cgroup-launch-[0-9]*.json >"$RES/cgroup.json"
jq . "$RES/cgroup.json"
