package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// table renders one of the page's tables from the data.
func (p *page) table(name string) (string, error) {
	var b strings.Builder
	switch name {
	case "jwt":
		p.jwtTable(&b)
	case "sessions":
		p.sessionTable(&b)
	case "inflight":
		p.inflightTable(&b)
	case "http":
		p.httpTable(&b)
	case "open":
		p.openTable(&b)
	case "crossover":
		p.crossoverTable(&b)
	case "growth-tokens":
		p.growthTokens(&b)
	case "growth-rows":
		p.growthRows(&b)
	case "growth-claims":
		p.growthClaims(&b)
	case "growth-keys":
		p.growthKeys(&b)
	case "components":
		p.componentsTable(&b)
	default:
		return "", fmt.Errorf("no table %q", name)
	}
	return b.String(), nil
}

var (
	jwtAlgRe     = regexp.MustCompile(`^JWT/alg=([^/]+)/token=new/inflight=1$`)
	inflightRe   = regexp.MustCompile(`/inflight=(\d+)$`)
	sessionStore = []struct{ key, label string }{
		{"map", "in-process map"},
		{"redis", "Redis GET + JSON"},
		{"postgres", "PostgreSQL SELECT by key"},
	}
)

// algs lists the algorithms measured, in the suite's order.
func (p *page) algs() []string {
	var out []string
	for _, n := range p.d.inproc.order {
		if m := jwtAlgRe.FindStringSubmatch(n); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// inflights lists the numbers of requests in flight measured.
func (p *page) inflights() []int {
	seen := map[int]bool{}
	var out []int
	for _, n := range p.d.inproc.order {
		if m := inflightRe.FindStringSubmatch(n); m != nil {
			k, _ := strconv.Atoi(m[1])
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

func allocs(r *benchResults, name string) string {
	s := r.stat(name, "allocs/op")
	if !s.Valid() {
		return "—"
	}
	return strconv.FormatFloat(s.Median, 'f', 0, 64)
}

func (p *page) jwtTable(b *strings.Builder) {
	b.WriteString("| algorithm | new token: CPU | new: wall | new: allocs | seen before: CPU | seen before: wall | seen: allocs | request bytes |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	r := &p.d.inproc
	for _, alg := range p.algs() {
		nw, rp := jwtName(alg, "new", 1), jwtName(alg, "repeat", 1)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", alg,
			fmtStat(p.cost(nw)), fmtStat(r.stat(nw, "ns/op")), allocs(r, nw),
			fmtStat(p.cost(rp)), fmtStat(r.stat(rp, "ns/op")), allocs(r, rp),
			fmtCount(r.stat(nw, "req-bytes").Median))
	}
}

func (p *page) sessionTable(b *strings.Builder) {
	b.WriteString("| session store | CPU: caller + store | caller CPU | store CPU | wall | allocs | request bytes |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|\n")
	r := &p.d.inproc
	for _, st := range sessionStore {
		n := sessionName(st.key, 1)
		if !r.has(n) {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", st.label, fmtStat(p.cost(n)),
			fmtStat(r.stat(n, "cpu-ns/op")), fmtStat(r.stat(n, "store-cpu-ns/op")), fmtStat(r.stat(n, "ns/op")),
			allocs(r, n), fmtCount(r.stat(n, "req-bytes").Median))
	}
}

// inflightRows are the methods of the concurrency table and chart.
func (p *page) inflightRows() []struct{ label, prefix string } {
	var rows []struct{ label, prefix string }
	for _, alg := range []string{"HS256", "RS256", "ES256", "Ed25519", "ML-DSA-65"} {
		if p.d.inproc.has(jwtName(alg, "new", 1)) {
			rows = append(rows, struct{ label, prefix string }{alg + ", new token", "JWT/alg=" + alg + "/token=new"})
		}
	}
	rows = append(rows, struct{ label, prefix string }{"ES256, seen before", "JWT/alg=ES256/token=repeat"})
	for _, st := range sessionStore {
		rows = append(rows, struct{ label, prefix string }{"session: " + st.label, "Session/store=" + st.key})
	}
	return rows
}

func (p *page) inflightTable(b *strings.Builder) {
	ks := p.inflights()
	b.WriteString("| method |")
	for _, k := range ks {
		fmt.Fprintf(b, " %d in flight |", k)
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(ks)) + "\n")
	for _, row := range p.inflightRows() {
		fmt.Fprintf(b, "| %s |", row.label)
		for _, k := range ks {
			s := p.d.inproc.stat(fmt.Sprintf("%s/inflight=%d", row.prefix, k), "ns/op")
			if !s.Valid() {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(b, " %s/s |", fmtCount(1e9/s.Median))
		}
		b.WriteString("\n")
	}
}

// httpTargetsInData are the closed-loop targets, in the order measured.
func (p *page) httpTargetsInData() []httpRecord {
	var out []httpRecord
	seen := map[string]bool{}
	for _, r := range p.d.closed {
		if !seen[r.Target] {
			seen[r.Target] = true
			out = append(out, r)
		}
	}
	return out
}

func (p *page) httpTable(b *strings.Builder) {
	b.WriteString("| server | requests/s | × no-op | server CPU per request | − no-op | p50 | p99 | p99.9 | generator CPU | wrong answers |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	noopRPS, noopCPU := p.httpStat("noop", "rps").Median, p.httpStat("noop", "server").Median
	for _, t := range p.httpTargetsInData() {
		var wrong int64
		flags := ""
		for _, r := range p.d.closed {
			if r.Target == t.Target {
				wrong += r.Report.WrongAnswers + r.Report.Errors.Total
				if r.Repeated() {
					flags = " (tokens repeated: the file was too short)"
				}
				if r.GeneratorBound() && !strings.Contains(flags, "generator") {
					flags += " (generator-bound)"
				}
			}
		}
		rps, srv := p.httpStat(t.Target, "rps"), p.httpStat(t.Target, "server")
		fmt.Fprintf(b, "| %s%s | %s | %s | %s | %s | %s | %s | %s | %.0f %% | %d |\n", t.Label, flags,
			fmtCountRange(rps), fmtTimes(rps.Median, noopRPS),
			fmtUSRange(srv), fmtPlusUS(srv.Median, noopCPU), fmtUS(p.httpStat(t.Target, "p50").Median), fmtUS(p.httpStat(t.Target, "p99").Median),
			fmtUS(p.httpStat(t.Target, "p999").Median), p.httpStat(t.Target, "generator").Median, wrong)
	}
}

// fmtTimes is a/b as "0.93×" ("—" without b).
func fmtTimes(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "×"
}

// fmtPlusUS is a−b in µs as "+4.1 µs" ("—" without b).
func fmtPlusUS(a, b float64) string {
	if b == 0 {
		return "—"
	}
	d := a - b
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	return sign + fmtUS(d)
}

func fmtCountRange(s Stat) string {
	if s.N <= 1 {
		return fmtCount(s.Median)
	}
	return fmtCount(s.Median) + " (" + fmtCount(s.Lo) + "–" + fmtCount(s.Hi) + ")"
}

func fmtUSRange(s Stat) string {
	if s.N <= 1 {
		return fmtUS(s.Median)
	}
	return fmtUS(s.Median) + " (" + strings.TrimSuffix(fmtUS(s.Lo), " µs") + "–" + fmtUS(s.Hi) + ")"
}

// knee is the highest offered rate a target served (≥ 97 % of it) with a
// p99 of at most 10 ms.
const kneeP99 = 10_000 // µs

func (p *page) openTable(b *strings.Builder) {
	b.WriteString("| server | closed-loop capacity | highest offered load with p99 ≤ 10 ms | p50 / p99 there | p50 / p99 at the lowest load | first step beyond: limited by |\n")
	b.WriteString("|---|--:|--:|--:|--:|---|\n")
	for _, t := range p.httpTargetsInData() {
		var knee, low, beyond *httpRecord
		for i := range p.d.open {
			r := &p.d.open[i]
			if r.Target != t.Target {
				continue
			}
			if low == nil || r.Offered < low.Offered {
				low = r
			}
			if r.Report.Latency.P99 <= kneeP99 && r.Report.Throughput >= 0.97*r.Offered {
				if knee == nil || r.Offered > knee.Offered {
					knee = r
				}
			} else if beyond == nil || r.Offered < beyond.Offered {
				beyond = r
			}
		}
		kneeText, kneeLat, limit := "none measured", "—", "—"
		if knee != nil {
			kneeText = fmtCount(knee.Offered) + "/s"
			kneeLat = fmtUS(knee.Report.Latency.P50) + " / " + fmtUS(knee.Report.Latency.P99)
		}
		if beyond != nil {
			limit = "the server"
			if beyond.GeneratorBound() {
				limit = "the generator (≥ 90 % of its core)"
			}
		}
		lowLat := "—"
		if low != nil {
			lowLat = fmtUS(low.Report.Latency.P50) + " / " + fmtUS(low.Report.Latency.P99)
		}
		fmt.Fprintf(b, "| %s | %s/s | %s | %s | %s | %s |\n", t.Label, fmtCount(p.httpStat(t.Target, "rps").Median), kneeText, kneeLat, lowLat, limit)
	}
}

func (p *page) crossoverTable(b *strings.Builder) {
	b.WriteString("| algorithm | new token | seen before | share of repeated tokens at which the token costs less than: Redis | PostgreSQL |\n")
	b.WriteString("|---|--:|--:|--:|--:|\n")
	for _, alg := range p.algs() {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", alg, fmtNS(p.cost(jwtName(alg, "new", 1)).Median), fmtNS(p.cost(jwtName(alg, "repeat", 1)).Median),
			p.crossoverText(alg, "redis"), p.crossoverText(alg, "postgres"))
	}
}

// growthNames returns the growth benchmarks with prefix, in order.
func (p *page) growthNames(prefix string) []string {
	var out []string
	for _, n := range p.d.growth.order {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// param reads key=value from a benchmark name.
func param(name, key string) string {
	for f := range strings.SplitSeq(name, "/") {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func (p *page) growthTokens(b *strings.Builder) {
	b.WriteString("| distinct tokens | served from the cache | time per request | allocs | cache in use | heap |\n|--:|--:|--:|--:|--:|--:|\n")
	g := &p.d.growth
	for _, n := range p.growthNames("GrowthTokens/") {
		d, _ := strconv.ParseFloat(param(n, "distinct"), 64)
		fmt.Fprintf(b, "| %s | %.0f %% | %s | %s | %.0f MiB | %.0f MiB |\n", fmtCount(d), g.stat(n, "hit-%").Median,
			fmtStat(g.stat(n, "ns/op")), allocs(g, n), g.stat(n, "cache-MiB").Median, g.stat(n, "heap-MiB").Median)
	}
}

func (p *page) growthRows(b *strings.Builder) {
	b.WriteString("| rows in the session table | CPU: caller + PostgreSQL | wall |\n|--:|--:|--:|\n")
	g := &p.d.growth
	for _, n := range p.growthNames("GrowthRows/") {
		rows, _ := strconv.ParseFloat(param(n, "rows"), 64)
		fmt.Fprintf(b, "| %s | %s | %s |\n", fmtCount(rows), fmtStat(g.sumStat(n, "cpu-ns/op", "store-cpu-ns/op")), fmtStat(g.stat(n, "ns/op")))
	}
}

func (p *page) growthClaims(b *strings.Builder) {
	g := &p.d.growth
	var algs, sizes []string
	seenA, seenS := map[string]bool{}, map[string]bool{}
	for _, n := range p.growthNames("GrowthClaims/") {
		a, s := param(n, "alg"), param(n, "claims")
		if !seenA[a] {
			seenA[a] = true
			algs = append(algs, a)
		}
		if !seenS[s] {
			seenS[s] = true
			sizes = append(sizes, s)
		}
	}
	b.WriteString("| claims bytes |")
	for _, a := range algs {
		fmt.Fprintf(b, " %s: new token (header bytes) |", a)
	}
	b.WriteString(" HS256: seen before |\n|--:|" + strings.Repeat("--:|", len(algs)+1) + "\n")
	for _, s := range sizes {
		fmt.Fprintf(b, "| %s |", s)
		for _, a := range algs {
			n := "GrowthClaims/alg=" + a + "/claims=" + s + "/token=new"
			fmt.Fprintf(b, " %s (%s) |", fmtNS(g.stat(n, "cpu-ns/op").Median), fmtCount(g.stat(n, "req-bytes").Median))
		}
		fmt.Fprintf(b, " %s |\n", fmtNS(g.stat("GrowthClaims/alg=HS256/claims="+s+"/token=repeat", "cpu-ns/op").Median))
	}
}

func (p *page) growthKeys(b *strings.Builder) {
	b.WriteString("| keys (one issuer each) | HS256 new token: CPU | seen before: CPU |\n|--:|--:|--:|\n")
	g := &p.d.growth
	for _, n := range p.growthNames("GrowthKeys/") {
		if !strings.HasSuffix(n, "/token=new") {
			continue
		}
		rp := strings.TrimSuffix(n, "new") + "repeat"
		fmt.Fprintf(b, "| %s | %s | %s |\n", param(n, "keys"), fmtStat(g.stat(n, "cpu-ns/op")), fmtStat(g.stat(rp, "cpu-ns/op")))
	}
}

func (p *page) componentsTable(b *strings.Builder) {
	c := &p.d.comps
	if len(c.order) == 0 {
		b.WriteString("(not measured in this run)\n")
		return
	}
	b.WriteString("| benchmark | time | allocs |\n|---|--:|--:|\n")
	for _, n := range c.order {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", n, fmtStat(c.stat(n, "ns/op")), allocs(c, n))
	}
}
