//go:build linux

// Command report turns bench/results into the table and chart of
// BENCHMARKS.md: it writes RESULTS/launch.svg and replaces the text between
// the markers <!-- bench:begin --> and <!-- bench:end --> of the markdown file.
//
//	report RESULTS BENCHMARKS.md
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	begin = "<!-- bench:begin -->"
	end   = "<!-- bench:end -->"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: report RESULTS BENCHMARKS.md")
		os.Exit(2)
	}
	res, mdPath := os.Args[1], os.Args[2]
	stream := hyperfine(filepath.Join(res, "stream.json"))
	ps := hyperfine(filepath.Join(res, "ps.json"))
	var machine map[string]string
	var lat, rss, reap map[string]any
	load(filepath.Join(res, "machine.json"), &machine)
	load(filepath.Join(res, "latency.json"), &lat)
	load(filepath.Join(res, "rss.json"), &rss)
	load(filepath.Join(res, "reap.json"), &reap)

	var b strings.Builder
	fs := ""
	if machine["fs"] != "" {
		fs = "; the registry on " + machine["fs"]
	}
	fmt.Fprintf(&b, "Machine: %s CPUs, %s; %s; %s; %s; %s. Commit %s, run %s; %s processes on the machine%s.\n\n",
		machine["nproc"], machine["cpu"], machine["kernel"], machine["go"], machine["hyperfine"], machine["tini"],
		machine["commit"], machine["date"], machine["procs"], fs)
	b.WriteString("| measure | baseline | claude-guard | ratio / added | goal | met? |\n|---|---|---|---|---|---|\n")
	row := func(measure, base, guard, ratio, goal string, met bool) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", measure, base, guard, ratio, goal, yes(met))
	}
	rounds := launchRounds(res)
	med := func(state, name string) float64 {
		return median(rounds[state], func(m map[string]float64) float64 { return m[name] })
	}
	// ratio of the guard's added time to tini's, per round, median over rounds
	ratio := func(state, name string) float64 {
		return median(rounds[state], func(m map[string]float64) float64 {
			return (m[name] - m["direct"]) / (m["tini"] - m["direct"])
		})
	}
	d, t := med("empty", "direct"), med("empty", "tini")
	tiniAdd := t - d
	for _, st := range []struct{ key, label string }{{"empty", "empty registry"}, {"live50", "50 live runs"}, {"reaped1000", "1,000 stale entries once reaped"}} {
		if len(rounds[st.key]) == 0 {
			continue
		}
		sd, stt := med(st.key, "direct"), med(st.key, "tini")
		for _, c := range []struct{ name, label string }{{"guard", "guard"}, {"guard-no-watchdog", "guard --no-watchdog"},
			{"guard-before", "the guard at " + cpuBaselineCommit + " (before issue 15)"}} {
			if med(st.key, c.name) == 0 {
				continue
			}
			r := ratio(st.key, c.name)
			row(fmt.Sprintf("launch /bin/true back to back, %s: %s", st.label, c.label),
				fmt.Sprintf("direct %.3f ms, tini -s %.3f ms (adds %.3f ms)", sd, stt, stt-sd),
				fmt.Sprintf("%.3f ms (adds %.3f ms)", med(st.key, c.name), med(st.key, c.name)-sd),
				fmt.Sprintf("%.1f× tini's added time (median of %d rounds)", r, len(rounds[st.key])), "≤ 2.5×", r <= 2.5)
		}
	}
	for _, st := range []struct{ key, label string }{{"empty", "empty registry"}, {"live50", "50 live runs"}, {"reaped1000", "1,000 stale entries once reaped"},
		{"tmpfs", "empty registry on tmpfs (reference)"}} {
		var b2b struct {
			Blocks, Block int
			Rounds        []map[string]float64
		}
		if !loadOpt(filepath.Join(res, "b2b-"+st.key+".json"), &b2b) || len(b2b.Rounds) == 0 {
			continue
		}
		bm := func(name string) float64 {
			return median(b2b.Rounds, func(m map[string]float64) float64 { return m[name] })
		}
		for _, c := range []struct{ name, label string }{{"guard", "guard"}, {"guard-before", "the guard at " + cpuBaselineCommit}} {
			if bm(c.name) == 0 {
				continue
			}
			r := median(b2b.Rounds, func(m map[string]float64) float64 {
				return (m[c.name] - m["direct"]) / (m["tini"] - m["direct"])
			})
			row(fmt.Sprintf("launch /bin/true back to back, interleaved in blocks of %d, %s: %s", b2b.Block, st.label, c.label),
				fmt.Sprintf("direct %.3f ms, tini -s %.3f ms (adds %.3f ms)", bm("direct"), bm("tini"), bm("tini")-bm("direct")),
				fmt.Sprintf("%.3f ms (adds %.3f ms)", bm(c.name), bm(c.name)-bm("direct")),
				fmt.Sprintf("%.2f× tini's added time (median of %d rounds)", r, len(b2b.Rounds)), "≤ 2.5×", r <= 2.5)
		}
	}
	if len(rounds["reaped1000"]) > 0 {
		for _, c := range []struct{ name, label string }{{"guard", "guard"}, {"guard-no-watchdog", "guard --no-watchdog"}} {
			// added time over direct, compared across the two states, so a
			// machine busier in one state than the other weighs less
			add := (med("reaped1000", c.name) - med("reaped1000", "direct")) - (med("empty", c.name) - med("empty", "direct"))
			row("launch after 1,000 stale entries were reaped vs empty: "+c.label,
				fmt.Sprintf("empty registry: adds %.3f ms", med("empty", c.name)-med("empty", "direct")),
				fmt.Sprintf("adds %.3f ms", med("reaped1000", c.name)-med("reaped1000", "direct")),
				fmt.Sprintf("%+.3f ms", add), "≤ +0.3 ms", add <= 0.3)
		}
	}
	var cpu map[string]any
	if loadOpt(filepath.Join(res, "cpu.json"), &cpu) && cpu["direct"] != nil {
		us := func(k string) float64 { m, _ := cpu[k].(map[string]any); return num(m["cpu_usec"]) }
		for _, c := range []struct{ name, label string }{{"guard", "guard (+ its share of the watcher)"}, {"guard-no-watchdog", "guard --no-watchdog"}} {
			r := (us(c.name) - us("direct")) / (us("tini") - us("direct"))
			row("CPU per launch back to back, whole tree (cgroup v2): "+c.label,
				fmt.Sprintf("direct %.0f µs, tini -s %.0f µs", us("direct"), us("tini")),
				fmt.Sprintf("%.0f µs (adds %.0f µs)", us(c.name), us(c.name)-us("direct")),
				fmt.Sprintf("%.1f× tini's added CPU", r), "reported (halving: the next row)", true)
		}
		if b := us("guard-before"); b > 0 {
			r := (us("guard") - us("direct")) / (b - us("direct"))
			row("CPU per launch back to back, whole tree: guard vs the guard before issue 15, same run",
				fmt.Sprintf("guard at %s: %.0f µs (adds %.0f µs)", cpuBaselineCommit, b, b-us("direct")),
				fmt.Sprintf("%.0f µs (adds %.0f µs)", us("guard"), us("guard")-us("direct")),
				fmt.Sprintf("%.2f× the added CPU before", r), "≤ 0.5×", r <= 0.5)
		}
		if m, ok := cpu["watchdog-alone"].(map[string]any); ok {
			w := num(m["cpu_usec"])
			row("CPU of one watchdog process by itself, where a run still starts one (start, startup reap of an empty registry, exit)",
				fmt.Sprintf("direct /bin/true %.0f µs", us("direct")), fmt.Sprintf("%.0f µs", w),
				fmt.Sprintf("%.0f%% of a guarded launch", 100*w/us("guard")), "reported", true)
		}
	}
	var first map[string]any
	if loadOpt(filepath.Join(res, "first.json"), &first) && first["direct"] != nil {
		ms := func(k string) float64 { m, _ := first[k].(map[string]any); return num(m["median_ms"]) }
		fd, ft := ms("direct"), ms("tini")
		for _, c := range []struct{ name, label string }{{"guard", "guard"}, {"guard-no-watchdog", "guard --no-watchdog"}} {
			row("time to the child's first instruction: "+c.label,
				fmt.Sprintf("direct %.3f ms, tini -s %.3f ms (adds %.3f ms)", fd, ft, ft-fd),
				fmt.Sprintf("%.3f ms (adds %.3f ms)", ms(c.name), ms(c.name)-fd),
				fmt.Sprintf("%.1f× tini's added time", (ms(c.name)-fd)/(ft-fd)), "reported", true)
		}
	}
	gib := func(ms float64) float64 { return 1000 / ms } // 1 GiB per run
	sd := stream["direct"]
	row("stream-json, 1 GiB through the guard", fmt.Sprintf("direct %.2f GiB/s", gib(sd)),
		fmt.Sprintf("%.2f GiB/s", gib(stream["guard"])), fmt.Sprintf("%.0f%% of direct", 100*sd/stream["guard"]), "≥ 90%",
		sd/stream["guard"] >= 0.9)
	row("(reference) 1 GiB through one `read`/`write` hop", fmt.Sprintf("direct %.2f GiB/s", gib(sd)),
		fmt.Sprintf("%.2f GiB/s", gib(stream["hop-rw"])), fmt.Sprintf("%.0f%% of direct", 100*sd/stream["hop-rw"]), "—", true)
	row("(reference) 1 GiB through one `splice` hop", fmt.Sprintf("direct %.2f GiB/s", gib(sd)),
		fmt.Sprintf("%.2f GiB/s", gib(stream["hop-splice"])), fmt.Sprintf("%.0f%% of direct", 100*sd/stream["hop-splice"]), "—", true)
	for _, p := range []struct {
		k    string
		goal float64
	}{{"p50", 50}, {"p99", 200}} {
		add := num(lat["added_"+p.k+"_us"])
		row("per-line round trip, "+p.k+" (10,000 lines)", fmt.Sprintf("direct %.1f µs", num(lat["direct_"+p.k+"_us"])),
			fmt.Sprintf("%.1f µs", num(lat["guard_"+p.k+"_us"])), fmt.Sprintf("adds %.1f µs", add),
			fmt.Sprintf("≤ %.0f µs added", p.goal), add <= p.goal)
	}
	mib := func(kib float64) string { return fmt.Sprintf("%.1f MiB", kib/1024) }
	g := num(rss["guard_stream_maxrss_kib"])
	row("peak RSS of the guard, streaming 100 MiB of stream-json", "producer alone "+mib(num(rss["producer_direct_maxrss_kib"])),
		mib(g), "", "≤ 8 MiB", g <= 8192)
	for _, w := range []struct{ k, label string }{{"watchdog_empty", "empty registry"}, {"watchdog_1000", "first reap of 1,000 stale entries"}} {
		m, _ := rss[w.k].(map[string]any)
		v := num(m["watchdog_vmhwm_kib"])
		note := ""
		if m["stale_reaped"] != true {
			note = " (reap not finished while sampled)"
		}
		row("peak RSS (VmHWM) of the watcher, "+w.label, "", mib(v)+note, "", "≤ 8 MiB", v <= 8192)
	}
	gone := num(reap["gone_median_ms"])
	row(fmt.Sprintf("reap --grace 0s of a stale run: %v processes in %v sessions", reap["processes"], reap["sessions"]), "",
		fmt.Sprintf("all gone in %.0f ms (median of %v)", gone, reap["repeats"]), "", "≤ 250 ms", gone <= 250)
	row("ps --json over 10,000 entries", "", fmt.Sprintf("%.0f ms", ps["ps-10000"]), "", "≤ 100 ms", ps["ps-10000"] <= 100)
	b.WriteString("\nAll times are medians. ![launch time](bench/results/launch.svg)\n")

	bars := []bar{{"direct exec", d}, {"tini -s --", t}, {"guard", med("empty", "guard")},
		{"guard --no-watchdog", med("empty", "guard-no-watchdog")}, {"guard, 50 live runs", med("live50", "guard")},
		{"guard, 1,000 reaped", med("reaped1000", "guard")}}
	if b := med("empty", "guard-before"); b > 0 {
		bars = append(bars, bar{"guard at " + cpuBaselineCommit + " (before)", b})
	}
	check(os.WriteFile(filepath.Join(res, "launch.svg"), []byte(chart(bars, d+2.5*tiniAdd)), 0o644))

	md, err := os.ReadFile(mdPath)
	check(err)
	s := string(md)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		check(fmt.Errorf("%s has no %s ... %s block", mdPath, begin, end))
	}
	s = s[:i+len(begin)] + "\n" + b.String() + s[j:]
	check(os.WriteFile(mdPath, []byte(s), 0o644))
}

type bar struct {
	label string
	ms    float64
}

// chart draws a horizontal bar chart of launch medians, with the goal (direct
// plus 2.5 times tini's added time) as a dashed line.
func chart(bars []bar, goal float64) string {
	const left, width, rowH, top = 250, 420, 28, 30
	maxMS := goal
	for _, b := range bars {
		maxMS = max(maxMS, b.ms)
	}
	scale := width / (maxMS * 1.1)
	h := top + rowH*len(bars) + 30
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", left+width+90, h)
	fmt.Fprintf(&s, `<text x="10" y="18" font-weight="bold">Launch of /bin/true back to back, median wall time (ms)</text>`+"\n")
	for i, b := range bars {
		y := top + i*rowH
		color := "#4c78a8"
		if strings.HasPrefix(b.label, "guard") {
			color = "#e45756"
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+17, b.label)
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y+4, b.ms*scale, rowH-8, color)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d">%.2f</text>`+"\n", float64(left)+b.ms*scale+5, y+17, b.ms)
	}
	gx := float64(left) + goal*scale
	fmt.Fprintf(&s, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4,3"/>`+"\n", gx, top, gx, top+rowH*len(bars))
	fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">goal %.2f ms</text>`+"\n", gx, top+rowH*len(bars)+18, goal)
	s.WriteString("</svg>\n")
	return s.String()
}

// hyperfine returns the median in milliseconds of each command of an export.
func hyperfine(path string) map[string]float64 {
	var r struct {
		Results []struct {
			Command string  `json:"command"`
			Median  float64 `json:"median"`
		} `json:"results"`
	}
	load(path, &r)
	out := map[string]float64{}
	for _, x := range r.Results {
		out[x.Command] = x.Median * 1000
	}
	return out
}

// cpuBaselineCommit is the guard before issue 15, built and measured side by
// side (bench/run.sh, BENCH_BASE) for the goal of halving the CPU per launch.
const cpuBaselineCommit = "3b0ce1a"

// launchRounds reads launch-STATE-R.json: per state, one map of medians per round.
func launchRounds(res string) map[string][]map[string]float64 {
	out := map[string][]map[string]float64{}
	files, _ := filepath.Glob(filepath.Join(res, "launch-*-*.json"))
	sort.Strings(files)
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".json")
		parts := strings.Split(base, "-")
		if len(parts) != 3 {
			continue
		}
		out[parts[1]] = append(out[parts[1]], hyperfine(f))
	}
	return out
}

func median(rounds []map[string]float64, f func(map[string]float64) float64) float64 {
	if len(rounds) == 0 {
		return 0
	}
	v := make([]float64, len(rounds))
	for i, m := range rounds {
		v[i] = f(m)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func loadOpt(path string, v any) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

func load(path string, v any) {
	b, err := os.ReadFile(path)
	check(err)
	check(json.Unmarshal(b, v))
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}
