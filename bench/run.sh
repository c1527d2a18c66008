#!/usr/bin/env bash
# Runs every claude-guard benchmark once, against baselines on this machine,
# writes the raw figures to bench/results/ and regenerates the table and the
# chart in BENCHMARKS.md. Takes about 5-8 minutes. Usage: bench/run.sh
#
# Safety: every run uses its own scratch CLAUDE_GUARD_HOME and
# CLAUDE_CONFIG_DIR under a fresh temp directory and touches only processes
# it started; nothing here reads or reaps the user's registry.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RES=$ROOT/bench/results
mkdir -p "$RES"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v tini >/dev/null || need+=(tini)
[ -x /usr/bin/time ] || need+=(time)
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
TINI=$(command -v tini)

WORK=$(mktemp -d /tmp/claude-guard-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
BIN=$WORK/bin
mkdir -p "$BIN"
export CLAUDE_GUARD_HOME=$WORK/reg CLAUDE_CONFIG_DIR=$WORK/claude-config
mkdir -p "$CLAUDE_CONFIG_DIR"
unset CLAUDE_GUARD_RUN CLAUDE_GUARD_GRACE

echo "bench: building" >&2
go build -tags urfave_cli_no_docs -o "$BIN/claude-guard" .
for p in stale producer latency reapbench rss hop; do go build -o "$BIN/$p" "./bench/$p"; done
G=$BIN/claude-guard
STALE="$BIN/stale $CLAUDE_GUARD_HOME"
HF=(hyperfine --style none --time-unit millisecond)

# --- machine -------------------------------------------------------------
jq -n --arg nproc "$(nproc)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	--arg kernel "$(uname -sr)" --arg go "$(go version | cut -d' ' -f3-)" \
	--arg hyperfine "$(hyperfine --version)" --arg tini "$($TINI --version 2>&1 | head -1)" \
	--arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')" \
	--arg date "$(date -u +%Y-%m-%dT%H:%MZ)" \
	--arg procs "$(ls /proc | grep -c '^[0-9]')" \
	'{nproc:$nproc,cpu:$cpu,kernel:$kernel,go:$go,hyperfine:$hyperfine,tini:$tini,commit:$commit,date:$date,procs:$procs}' >"$RES/machine.json"

# --- launch overhead -----------------------------------------------------
echo "bench: launch overhead" >&2
"${HF[@]}" -N --warmup 30 --runs 500 --export-json "$RES/launch-baseline.json" \
	-n direct /bin/true -n tini "$TINI -s -- /bin/true"
# Each guarded run starts from the same registry: the prepare step waits for
# the previous run's watchdog to finish, then restores the entries.
"${HF[@]}" -N --warmup 30 --runs 500 --export-json "$RES/launch-empty.json" --prepare "$STALE 0" \
	-n guard "$G /bin/true" -n guard-no-watchdog "$G --no-watchdog /bin/true"
"${HF[@]}" -N --warmup 5 --runs 300 --export-json "$RES/launch-1000-nw.json" --prepare "$STALE 1000" \
	-n guard-no-watchdog-1000 "$G --no-watchdog /bin/true"
# With the watchdog, each run's watchdog reaps all 1,000 entries (about a
# second of work) while the guard runs, so each run needs a fresh registry.
"${HF[@]}" -N --warmup 2 --runs 40 --export-json "$RES/launch-1000.json" --prepare "$STALE 1000" \
	-n guard-1000 "$G /bin/true"
$STALE 0

# --- stream-json throughput -----------------------------------------------
echo "bench: stream-json throughput (1 GiB)" >&2
P=$BIN/producer
"${HF[@]}" --warmup 1 --runs 7 --export-json "$RES/stream.json" \
	-n direct "$P --output-format stream-json | cat >/dev/null" \
	-n hop-rw "$P --output-format stream-json | $BIN/hop rw | cat >/dev/null" \
	-n hop-splice "$P --output-format stream-json | $BIN/hop splice | cat >/dev/null" \
	-n guard "$G $P --output-format stream-json | cat >/dev/null"

# --- per-line latency -----------------------------------------------------
echo "bench: per-line latency" >&2
"$BIN/latency" "$G" 10000 >"$RES/latency.json"

# --- peak RSS --------------------------------------------------------------
echo "bench: peak RSS" >&2
BENCH_BYTES=$((100 << 20)) /usr/bin/time -f %M -o "$WORK/g.rss" "$G" "$P" --output-format stream-json >/dev/null
BENCH_BYTES=$((100 << 20)) /usr/bin/time -f %M -o "$WORK/p.rss" "$P" --output-format stream-json >/dev/null
$STALE 0
"$BIN/rss" "$G" 1 >"$WORK/wd0.json"
$STALE 1000
"$BIN/rss" "$G" 8 >"$WORK/wd1000.json"
$STALE 0
jq -n --argjson g "$(tail -1 "$WORK/g.rss")" --argjson p "$(tail -1 "$WORK/p.rss")" \
	--slurpfile w0 "$WORK/wd0.json" --slurpfile w1 "$WORK/wd1000.json" \
	'{guard_stream_maxrss_kib:$g, producer_direct_maxrss_kib:$p, watchdog_empty:$w0[0], watchdog_1000:$w1[0]}' >"$RES/rss.json"

# --- reaping ----------------------------------------------------------------
echo "bench: reap of a stale run of 1,000 processes in 100 sessions" >&2
"$BIN/reapbench" "$G" 3 >"$RES/reap.json"
echo "bench: ps --json over 10,000 entries" >&2
$STALE 10000
"${HF[@]}" -N --warmup 2 --runs 15 --export-json "$RES/ps.json" -n ps-10000 "$G ps --json"
$STALE 0

# --- launch-path profile (evidence for the analysis) -----------------------
echo "bench: launch profile" >&2
strace -f -c -o "$RES/profile-strace-c.txt" "$G" --no-watchdog /bin/true
strace -f -c -o "$RES/profile-strace-c-stream100m.txt" env BENCH_BYTES=$((100 << 20)) "$G" "$P" --output-format stream-json >/dev/null
GODEBUG=inittrace=1 "$G" --no-watchdog /bin/true 2>"$RES/profile-inittrace.txt"
if command -v perf >/dev/null && perf record -q -o "$WORK/perf.data" -F 10000 -g -- \
	sh -c "for i in \$(seq 200); do $G --no-watchdog /bin/true; done" >/dev/null 2>&1; then
	perf report -i "$WORK/perf.data" --comm claude-guard --children --sort symbol --stdio -g none 2>/dev/null |
		grep -E '^ +[0-9.]+%' | grep -E 'main\.|claude-guard|urfave|regexp|runtime\.(main|rt0_go|schedinit|doInit1)' |
		sed -E 's/ +- +- *$//; s/ +$//' | head -40 >"$RES/profile-perf.txt" || true
fi

echo "bench: report" >&2
go run ./bench/report "$RES" BENCHMARKS.md
echo "bench: done; results in bench/results, table in BENCHMARKS.md" >&2
