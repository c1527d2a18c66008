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
	launch := map[string]float64{} // median ms by benchmark name
	for _, f := range []string{"launch-baseline", "launch-empty", "launch-1000-nw", "launch-1000"} {
		for k, v := range hyperfine(filepath.Join(res, f+".json")) {
			launch[k] = v
		}
	}
	stream := hyperfine(filepath.Join(res, "stream.json"))
	ps := hyperfine(filepath.Join(res, "ps.json"))
	var machine map[string]string
	var lat, rss, reap map[string]any
	load(filepath.Join(res, "machine.json"), &machine)
	load(filepath.Join(res, "latency.json"), &lat)
	load(filepath.Join(res, "rss.json"), &rss)
	load(filepath.Join(res, "reap.json"), &reap)

	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s CPUs, %s; %s; %s; %s; %s. Commit %s, run %s; %s processes on the machine.\n\n",
		machine["nproc"], machine["cpu"], machine["kernel"], machine["go"], machine["hyperfine"], machine["tini"],
		machine["commit"], machine["date"], machine["procs"])
	b.WriteString("| measure | baseline | claude-guard | ratio / added | goal | met? |\n|---|---|---|---|---|---|\n")
	row := func(measure, base, guard, ratio, goal string, met bool) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", measure, base, guard, ratio, goal, yes(met))
	}
	d, t := launch["direct"], launch["tini"]
	tiniAdd := t - d
	for _, c := range []struct{ name, label string }{{"guard", "guard"}, {"guard-no-watchdog", "guard --no-watchdog"}} {
		add := launch[c.name] - d
		row("launch /bin/true, empty registry: "+c.label,
			fmt.Sprintf("direct %.3f ms, tini -s %.3f ms (adds %.3f ms)", d, t, tiniAdd),
			fmt.Sprintf("%.3f ms (adds %.3f ms)", launch[c.name], add),
			fmt.Sprintf("%.1f× tini's added time", add/tiniAdd), "≤ 1.5×", add <= 1.5*tiniAdd)
	}
	for _, c := range []struct{ name, empty, label string }{
		{"guard-1000", "guard", "guard"}, {"guard-no-watchdog-1000", "guard-no-watchdog", "guard --no-watchdog"}} {
		add := launch[c.name] - launch[c.empty]
		row("launch with 1,000 stale entries: "+c.label, fmt.Sprintf("empty registry %.3f ms", launch[c.empty]),
			fmt.Sprintf("%.3f ms", launch[c.name]), fmt.Sprintf("%+.3f ms", add), "≤ +0.3 ms", add <= 0.3)
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
	for _, w := range []struct{ k, label string }{{"watchdog_empty", "empty registry"}, {"watchdog_1000", "startup reap of 1,000 stale entries"}} {
		m, _ := rss[w.k].(map[string]any)
		v := num(m["watchdog_vmhwm_kib"])
		note := ""
		if m["stale_reaped"] != true {
			note = " (reap not finished while sampled)"
		}
		row("peak RSS (VmHWM) of the watchdog, "+w.label, "", mib(v)+note, "", "≤ 8 MiB", v <= 8192)
	}
	gone := num(reap["gone_median_ms"])
	row(fmt.Sprintf("reap --grace 0s of a stale run: %v processes in %v sessions", reap["processes"], reap["sessions"]), "",
		fmt.Sprintf("all gone in %.0f ms (median of %v)", gone, reap["repeats"]), "", "≤ 250 ms", gone <= 250)
	row("ps --json over 10,000 entries", "", fmt.Sprintf("%.0f ms", ps["ps-10000"]), "", "≤ 100 ms", ps["ps-10000"] <= 100)
	b.WriteString("\nAll times are medians. ![launch time](bench/results/launch.svg)\n")

	bars := []bar{{"direct exec", d}, {"tini -s --", t}, {"guard", launch["guard"]},
		{"guard --no-watchdog", launch["guard-no-watchdog"]}, {"guard, 1,000 entries", launch["guard-1000"]},
		{"guard --no-watchdog, 1,000 entries", launch["guard-no-watchdog-1000"]}}
	check(os.WriteFile(filepath.Join(res, "launch.svg"), []byte(chart(bars, d+1.5*tiniAdd)), 0o644))

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
// plus 1.5 times tini's added time) as a dashed line.
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
	fmt.Fprintf(&s, `<text x="10" y="18" font-weight="bold">Launch of /bin/true, median wall time (ms)</text>`+"\n")
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
