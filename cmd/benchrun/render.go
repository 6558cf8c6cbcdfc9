package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

// pageTemplate is the source of BENCHMARKS.md; the page is generated.
const pageTemplate = "bench/BENCHMARKS.md.tmpl"

// data is everything one run wrote.
type data struct {
	meta                  *runMeta
	inproc, growth, comps benchResults
	closed, open          []httpRecord
}

func loadData(dir string) (*data, error) {
	d := &data{}
	var err error
	if d.meta, err = loadMeta(dir); err != nil {
		return nil, fmt.Errorf("%s: %w (run benchrun first)", dir, err)
	}
	for name, into := range map[string]*benchResults{"inprocess": &d.inproc, "growth": &d.growth, "components": &d.comps} {
		f, err := os.Open(filepath.Join(dir, "gotest-"+name+".txt"))
		if errors.Is(err, os.ErrNotExist) {
			continue // the quick form has no components phase
		}
		if err != nil {
			return nil, err
		}
		err = parseBench(f, into)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if d.closed, err = readJSONL(filepath.Join(dir, "http-closed.jsonl")); err != nil {
		return nil, err
	}
	if d.open, err = readJSONL(filepath.Join(dir, "http-open.jsonl")); err != nil {
		return nil, err
	}
	return d, nil
}

// render writes BENCHMARKS.md and the charts under root (the repository,
// or a scratch directory) from the data in dir. With enforce, a claim of
// the page that the data does not support is an error.
func render(dir, root string, enforce bool) error {
	d, err := loadData(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		return err
	}
	if err := drawCharts(d, filepath.Join(root, "docs")); err != nil {
		return err
	}
	src, err := os.ReadFile(pageTemplate)
	if err != nil {
		return err
	}
	pg := &page{d: d}
	tmpl, err := template.New(pageTemplate).Funcs(pg.funcs()).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, pg); err != nil {
		return err
	}
	if len(pg.failed) > 0 {
		msg := "claims the data does not support (edit " + pageTemplate + "):\n  - " + strings.Join(pg.failed, "\n  - ")
		if enforce {
			return errors.New(msg)
		}
		logf("%s", msg)
	}
	return os.WriteFile(filepath.Join(root, "BENCHMARKS.md"), out.Bytes(), 0o644)
}

// check renders the committed data into a scratch directory and compares
// the page and the charts with the committed ones.
func check(dir string) error {
	tmp, err := os.MkdirTemp("", "benchrun-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := render(dir, tmp, true); err != nil {
		return err
	}
	var stale []string
	files := []string{"BENCHMARKS.md"}
	for _, c := range chartNames {
		files = append(files, "docs/"+c+".svg", "docs/"+c+".png")
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(tmp, f))
		if err != nil {
			return err
		}
		got, err := os.ReadFile(f)
		if err != nil || !sameFile(f, got, want) {
			stale = append(stale, f)
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s disagree with %s: regenerate with `go run ./cmd/benchrun --render` (and edit %s, not the page)", strings.Join(stale, ", "), dir, pageTemplate)
	}
	logf("check: BENCHMARKS.md, %d charts and every claim agree with %s", 2*len(chartNames), dir)
	return nil
}

// sameFile compares two renderings: byte for byte, except PNGs, whose
// pixels are compared (the encoder's compression may differ between Go
// versions while the picture does not).
func sameFile(name string, a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if filepath.Ext(name) != ".png" {
		return false
	}
	ia, err1 := png.Decode(bytes.NewReader(a))
	ib, err2 := png.Decode(bytes.NewReader(b))
	if err1 != nil || err2 != nil || ia.Bounds() != ib.Bounds() {
		return false
	}
	for y := ia.Bounds().Min.Y; y < ia.Bounds().Max.Y; y++ {
		for x := ia.Bounds().Min.X; x < ia.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := ia.At(x, y).RGBA()
			r2, g2, b2, a2 := ib.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// page is the template's view of the data.
type page struct {
	d      *data
	failed []string
}

// Meta is run.json.
func (p *page) Meta() *runMeta { return p.d.meta }

func (p *page) funcs() template.FuncMap {
	return template.FuncMap{
		"cost":      p.cost,
		"wall":      func(name string) Stat { return p.d.inproc.stat(name, "ns/op") },
		"growth":    func(name, unit string) Stat { return p.d.growth.stat(name, unit) },
		"http":      p.httpStat,
		"v":         fmtStat,
		"t":         func(s Stat) string { return fmtNS(s.Median) },
		"ratio":     func(a, b Stat) string { return fmtRatio(a.Median / b.Median) },
		"below":     func(a, b Stat) bool { return a.Valid() && b.Valid() && a.Hi < b.Lo },
		"within":    func(a, b Stat, f float64) bool { return a.Median <= f*b.Median && b.Median <= f*a.Median },
		"crossover": p.crossoverText,
		"assert":    p.assert,
		"table":     p.table,
		"load":      p.loadText,
		"phase":     func(name string) phaseRecord { ph, _ := p.d.meta.phase(name); return ph },
		"fmtCount":  fmtCount,
		"mul":       func(a, b float64) float64 { return a * b },
	}
}

// cost is the CPU one request takes, per process CPU time: the caller's,
// plus the store's own processes for a network store.
func (p *page) cost(name string) Stat {
	return p.d.inproc.sumStat(name, "cpu-ns/op", "store-cpu-ns/op")
}

// assert records a claim that does not hold; it renders nothing.
func (p *page) assert(ok bool, claim string) string {
	if !ok {
		p.failed = append(p.failed, claim)
	}
	return ""
}

// httpStat is a closed-loop figure of a target over the rounds: "rps",
// "server" (µs of server CPU per request), "p50", "p99", "p999" (µs).
func (p *page) httpStat(target, field string) Stat {
	var v []float64
	for _, r := range p.d.closed {
		if r.Target != target {
			continue
		}
		switch field {
		case "rps":
			v = append(v, r.Report.Throughput)
		case "server":
			v = append(v, r.ServerUS())
		case "p50":
			v = append(v, r.Report.Latency.P50)
		case "p99":
			v = append(v, r.Report.Latency.P99)
		case "p999":
			v = append(v, r.Report.Latency.P999)
		case "generator":
			v = append(v, 100*r.Report.GeneratorCPU/r.Report.ElapsedSeconds)
		}
	}
	return newStat(v)
}

func (p *page) loadText() string {
	var parts []string
	for _, ph := range p.d.meta.Phases {
		parts = append(parts, fmt.Sprintf("%s %s → %s", ph.Name, ph.LoadBefore, ph.LoadAfter))
	}
	return strings.Join(parts, "; ")
}

// crossover is the share of requests carrying a token seen before at which
// a token's cost (hit share × hit + the rest × miss) equals the session
// check's: below it the session lookup is cheaper, above it the token.
// ok is false when the lines do not cross (one is cheaper throughout).
func crossover(hit, miss, store float64) (share float64, ok bool) {
	if miss <= store || hit >= store {
		return 0, false
	}
	return (miss - store) / (miss - hit), true
}

func (p *page) crossoverText(alg, store string) string {
	hit := p.cost(jwtName(alg, "repeat", 1)).Median
	miss := p.cost(jwtName(alg, "new", 1)).Median
	st := p.cost(sessionName(store, 1)).Median
	s, ok := crossover(hit, miss, st)
	switch {
	case ok:
		return strconv.Itoa(int(math.Round(100*s))) + " %"
	case miss <= st:
		return "never: a new token is already cheaper"
	default:
		return "never: even a cache hit costs more"
	}
}

func jwtName(alg, token string, inflight int) string {
	return fmt.Sprintf("JWT/alg=%s/token=%s/inflight=%d", alg, token, inflight)
}

func sessionName(store string, inflight int) string {
	return fmt.Sprintf("Session/store=%s/inflight=%d", store, inflight)
}

// fmtStat is "4.1 µs (3.9–4.3)": the median and its confidence interval.
func fmtStat(s Stat) string {
	if !s.Valid() {
		return "—"
	}
	if s.N == 1 || s.Lo == s.Hi {
		return fmtNS(s.Median)
	}
	return fmtNS(s.Median) + " (" + strings.TrimSuffix(strings.TrimSuffix(fmtNS(s.Lo), " ns"), " µs") + "–" + fmtNS(s.Hi) + ")"
}

// fmtNS formats nanoseconds with three significant digits.
func fmtNS(ns float64) string {
	switch {
	case ns >= 1e9:
		return sig3(ns/1e9) + " s"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	default:
		return sig3(ns) + " ns"
	}
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func fmtRatio(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + "×"
}

func fmtCount(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
