// Command benchchart draws the cost per request of each method measured by
// the benchmark suite, from standard `go test -bench` output: wall time
// (ns/op) and the caller's CPU time (cpu-ns/op, where reported) on a
// logarithmic axis, one row per benchmark, medians over repeated runs.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./bench/ > bench.txt
//	go run ./cmd/benchchart -in bench.txt -match '/serial$' -out docs/cost-per-request.svg
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func main() {
	in := flag.String("in", "", "benchmark output file (default: standard input)")
	out := flag.String("out", "cost-per-request.svg", "chart file; .svg, .png or .pdf")
	match := flag.String("match", ".", "regular expression selecting benchmark names")
	title := flag.String("title", "Cost per request", "chart title")
	flag.Parse()
	if err := run(*in, *out, *match, *title); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

func run(in, out, match, title string) error {
	re, err := regexp.Compile(match)
	if err != nil {
		return err
	}
	var r io.Reader = os.Stdin
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	results, order, err := parse(r)
	if err != nil {
		return err
	}
	var rows []row
	for _, name := range order {
		if re.MatchString(name) {
			rows = append(rows, row{name: name, ns: median(results[name]["ns/op"]), cpu: median(results[name]["cpu-ns/op"])})
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("no benchmark matches %q", match)
	}
	return draw2(rows, out, title)
}

type row struct {
	name    string
	ns, cpu float64
}

// parse reads `go test -bench` lines: name, iterations, then value/unit
// pairs. It returns every value of every unit per benchmark name (without
// the "Benchmark" prefix and the -GOMAXPROCS suffix), and the names in
// order of first appearance.
func parse(r io.Reader) (map[string]map[string][]float64, []string, error) {
	procs := regexp.MustCompile(`-\d+$`)
	res := map[string]map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procs.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		if res[name] == nil {
			res[name] = map[string][]float64{}
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return res, order, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func draw2(rows []row, out, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "nanoseconds per request (log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	names := make([]string, len(rows))
	var wall, cpu plotter.XYs
	for i, r := range rows {
		y := float64(len(rows) - 1 - i) // first row on top
		names[len(rows)-1-i] = r.name
		if r.ns > 0 {
			wall = append(wall, plotter.XY{X: r.ns, Y: y})
		}
		if r.cpu > 0 {
			cpu = append(cpu, plotter.XY{X: r.cpu, Y: y})
		}
	}
	p.NominalY(names...)
	p.Add(plotter.NewGrid())
	if err := addPoints(p, "wall time (ns/op)", wall, draw.CircleGlyph{}, 0); err != nil {
		return err
	}
	if len(cpu) > 0 {
		if err := addPoints(p, "caller CPU (cpu-ns/op)", cpu, draw.TriangleGlyph{}, 1); err != nil {
			return err
		}
	}
	p.Legend.Top = true
	height := vg.Length(len(rows))*0.28*vg.Inch + 1.5*vg.Inch
	return p.Save(9*vg.Inch, height, out)
}

func addPoints(p *plot.Plot, label string, xys plotter.XYs, shape draw.GlyphDrawer, color int) error {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	s.GlyphStyle.Shape = shape
	s.GlyphStyle.Radius = vg.Points(4)
	s.GlyphStyle.Color = plotutilColor(color)
	p.Add(s)
	p.Legend.Add(label, s)
	return nil
}

func plotutilColor(i int) color.Color {
	return []color.Color{color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255}}[i%2]
}
