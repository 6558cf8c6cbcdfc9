package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chartNames are the charts under docs/, each written as .svg (fonts
// embedded, so nothing depends on the viewer's fonts) and .png.
var chartNames = []string{"cost-per-request", "inflight", "latency-vs-load", "crossover",
	"growth-tokens", "growth-rows", "growth-claims", "growth-keys"}

// Colours: tokens in cool colours, sessions in warm ones.
var (
	jwtColours = []color.Color{
		color.RGBA{31, 119, 180, 255}, color.RGBA{23, 190, 207, 255}, color.RGBA{44, 160, 44, 255},
		color.RGBA{148, 103, 189, 255}, color.RGBA{0, 0, 128, 255}, color.RGBA{188, 189, 34, 255},
		color.RGBA{227, 119, 194, 255}, color.RGBA{0, 128, 128, 255}, color.RGBA{127, 127, 127, 255},
		color.RGBA{0, 0, 0, 255},
	}
	sessionColours = map[string]color.Color{
		"map": color.RGBA{140, 86, 75, 255}, "redis": color.RGBA{214, 39, 40, 255}, "postgres": color.RGBA{255, 127, 14, 255},
	}
	grey = color.RGBA{110, 110, 110, 255}
)

func drawCharts(d *data, dir string) error {
	p := &page{d: d}
	for _, c := range []struct {
		name string
		draw func() (*plot.Plot, vg.Length, vg.Length, error)
	}{
		{"cost-per-request", p.costChart},
		{"inflight", p.inflightChart},
		{"latency-vs-load", p.latencyChart},
		{"crossover", p.crossoverChart},
		{"growth-tokens", p.growthTokensChart},
		{"growth-rows", p.growthRowsChart},
		{"growth-claims", p.growthClaimsChart},
		{"growth-keys", p.growthKeysChart},
	} {
		pl, w, h, err := c.draw()
		if err != nil {
			return fmt.Errorf("chart %s: %w", c.name, err)
		}
		if err := save(pl, w, h, filepath.Join(dir, c.name)); err != nil {
			return err
		}
	}
	return nil
}

func init() {
	// Liberation Sans has Arial's metrics: an SVG viewer without it draws
	// the text in Arial (or Helvetica) the same width, so nothing clips.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
}

// svgFonts gives the SVG's font metric-compatible fallbacks.
var svgFonts = strings.NewReplacer("font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")

// save writes base.svg and base.png (144 dpi). A legend is drawn in a
// column right of the plot, where it can cover no data; the canvas grows
// by that column.
func save(p *plot.Plot, w, h vg.Length, base string) error {
	leg := p.Legend
	p.Legend = plot.NewLegend() // empty: the plot draws none
	leg.Left, leg.Top = true, true
	legW := leg.Rectangle(draw.New(vgimg.New(w, h))).Size().X
	if legW > 0 {
		legW += 0.3 * vg.Inch
	}
	drawAll := func(c draw.Canvas) {
		p.Draw(draw.Crop(c, 0, -legW, 0, 0))
		if legW > 0 {
			lc := draw.Crop(c, c.Size().X-legW+0.15*vg.Inch, 0, 0, -0.5*vg.Inch)
			leg.Draw(lc)
		}
	}
	svg := vgsvg.NewWith(vgsvg.UseWH(w+legW, h))
	drawAll(draw.New(svg))
	png := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w+legW, h), vgimg.UseDPI(144), vgimg.UseBackgroundColor(color.White))}
	drawAll(draw.New(png))
	for _, out := range []struct {
		ext string
		wt  func(f *os.File) error
	}{
		{".svg", func(f *os.File) error {
			var b bytes.Buffer
			if _, err := svg.WriteTo(&b); err != nil {
				return err
			}
			_, err := svgFonts.WriteString(f, b.String())
			return err
		}},
		{".png", func(f *os.File) error { _, err := png.WriteTo(f); return err }},
	} {
		f, err := os.Create(base + out.ext)
		if err != nil {
			return err
		}
		if err := out.wt(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// newPlot is a plot with the page's style.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// logTicks labels every decade (with format) and marks 2..9 between.
type logTicks struct{ format func(float64) string }

func (t logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		dec := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * dec
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			tk := plot.Tick{Value: v}
			if m == 1 {
				tk.Label = t.format(v)
			}
			ticks = append(ticks, tk)
		}
	}
	return ticks
}

func logAxis(a *plot.Axis, format func(float64) string) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{format}
}

// decadeRange widens [lo, hi] to whole decades so every decade has a label.
func decadeRange(a *plot.Axis, lo, hi float64) {
	a.Min = math.Pow(10, math.Floor(math.Log10(lo)))
	a.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
}

func fmtCountShort(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// fmtNSTick labels a decade of nanoseconds: "100 ns", "1 µs", "10 ms".
func fmtNSTick(v float64) string {
	for _, u := range []struct {
		scale float64
		name  string
	}{{1e9, " s"}, {1e6, " ms"}, {1e3, " µs"}} {
		if v >= u.scale {
			return strconv.FormatFloat(v/u.scale, 'g', 3, 64) + u.name
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " ns"
}

func lineOf(p *plot.Plot, label string, xys plotter.XYs, c color.Color, dashed bool) error {
	return drawLine(p, label, xys, c, dashed, true)
}

// drawLine draws xys as a line, with a dot at each point if points.
func drawLine(p *plot.Plot, label string, xys plotter.XYs, c color.Color, dashed, points bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	thumbs := []plot.Thumbnailer{l}
	if points {
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.Color, s.Radius, s.Shape = c, vg.Points(2.2), draw.CircleGlyph{}
		p.Add(s)
		thumbs = append(thumbs, s)
	}
	if label != "" {
		p.Legend.Add(label, thumbs...)
	}
	return nil
}

// costChart: CPU per request at one request in flight, with intervals.
func (p *page) costChart() (*plot.Plot, vg.Length, vg.Length, error) {
	type row struct {
		label string
		s     Stat
		c     color.Color
	}
	var rows []row
	for _, alg := range p.algs() {
		rows = append(rows, row{alg + ", new token", p.cost(jwtName(alg, "new", 1)), jwtColours[0]}, row{alg + ", seen before", p.cost(jwtName(alg, "repeat", 1)), jwtColours[1]})
	}
	for _, st := range sessionStore {
		if s := p.cost(sessionName(st.key, 1)); s.Valid() {
			rows = append(rows, row{"session: " + st.label, s, sessionColours[st.key]})
		}
	}
	pl := newPlot("CPU per request, one request in flight", "CPU time per request (log scale; session stores: client + store)", "")
	names := make([]string, len(rows))
	lo, hi := math.Inf(1), 0.0
	for i, r := range rows {
		y := float64(len(rows) - 1 - i)
		names[len(rows)-1-i] = r.label
		if !r.s.Valid() {
			continue
		}
		lo, hi = math.Min(lo, r.s.Lo), math.Max(hi, r.s.Hi)
		pts := plotter.XYs{{X: r.s.Median, Y: y}}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, 0, 0, err
		}
		sc.Color, sc.Radius = r.c, vg.Points(3.5)
		if strings.HasSuffix(r.label, "seen before") {
			sc.Shape = draw.RingGlyph{}
		} else {
			sc.Shape = draw.CircleGlyph{}
		}
		eb, err := plotter.NewXErrorBars(errXY{x: r.s.Median, y: y, lo: r.s.Median - r.s.Lo, hi: r.s.Hi - r.s.Median})
		if err != nil {
			return nil, 0, 0, err
		}
		eb.Color = r.c
		pl.Add(eb, sc)
	}
	pl.NominalY(names...)
	pl.Legend.Top = false
	logAxis(&pl.X, fmtNSTick)
	decadeRange(&pl.X, lo, hi)
	return pl, 9 * vg.Inch, vg.Length(len(rows))*0.22*vg.Inch + 1.4*vg.Inch, nil
}

// errXY is one point with asymmetric X error bars.
type errXY struct{ x, y, lo, hi float64 }

func (e errXY) Len() int                        { return 1 }
func (e errXY) XY(int) (float64, float64)       { return e.x, e.y }
func (e errXY) XError(int) (float64, float64)   { return e.lo, e.hi }
func (e errXY) YError(i int) (float64, float64) { return 0, 0 }

// inflightChart: throughput against requests in flight.
func (p *page) inflightChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("Throughput against requests in flight (2 cores)", "requests in flight (log scale; Redis and PostgreSQL pool = requests in flight)", "requests per second (log scale)")
	lo, hi := math.Inf(1), 0.0
	ji := 0
	for _, row := range p.inflightRows() {
		var xys plotter.XYs
		for _, k := range p.inflights() {
			s := p.d.inproc.stat(fmt.Sprintf("%s/inflight=%d", row.prefix, k), "ns/op")
			if s.Valid() {
				v := 1e9 / s.Median
				xys = append(xys, plotter.XY{X: float64(k), Y: v})
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		c, dashed := color.Color(nil), false
		if store, ok := strings.CutPrefix(row.prefix, "Session/store="); ok {
			c, dashed = sessionColours[store], true
		} else {
			c = jwtColours[ji%len(jwtColours)]
			ji++
		}
		if err := lineOf(pl, row.label, xys, c, dashed); err != nil {
			return nil, 0, 0, err
		}
	}
	pl.X.Scale = plot.LogScale{}
	pl.X.Tick.Marker = plot.ConstantTicks(powTicks(p.inflights()))
	logAxis(&pl.Y, func(v float64) string { return fmtCountShort(v) + "/s" })
	if hi > 0 {
		decadeRange(&pl.Y, lo, hi)
	}
	pl.Legend.Left, pl.Legend.Top = true, false
	return pl, 8 * vg.Inch, 5 * vg.Inch, nil
}

func powTicks(ks []int) []plot.Tick {
	var t []plot.Tick
	for _, k := range ks {
		t = append(t, plot.Tick{Value: float64(k), Label: strconv.Itoa(k)})
	}
	return t
}

// latencyChart: p99 (solid) and p50 (dashed) against offered load.
func (p *page) latencyChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("Latency against offered load (open loop; server on one core, generator on the other)", "offered requests per second (log scale)", "p99 (solid) and p50 (dashed) latency from the intended send time (log scale)")
	lo, hi, xlo, xhi := math.Inf(1), 0.0, math.Inf(1), 0.0
	ji := 0
	for _, t := range p.httpTargetsInData() {
		label, ok := shortTargetLabels[t.Target]
		if !ok {
			continue // in the table only
		}
		var p50, p99 plotter.XYs
		for _, r := range p.d.open {
			// A step where the generator used its whole core measures
			// the generator: left out.
			if r.Target == t.Target && r.Report.Latency.Count > 0 && !r.GeneratorBound() {
				p50 = append(p50, plotter.XY{X: r.Offered, Y: r.Report.Latency.P50 * 1e3})
				p99 = append(p99, plotter.XY{X: r.Offered, Y: r.Report.Latency.P99 * 1e3})
				lo, hi = math.Min(lo, r.Report.Latency.P50*1e3), math.Max(hi, r.Report.Latency.P99*1e3)
				xlo, xhi = math.Min(xlo, r.Offered), math.Max(xhi, r.Offered)
			}
		}
		var c color.Color
		switch {
		case strings.HasPrefix(t.Target, "session-"):
			c = sessionColours[strings.TrimPrefix(t.Target, "session-")]
		case t.Target == "noop" || strings.HasPrefix(t.Target, "naive"):
			c = grey
			if strings.HasPrefix(t.Target, "naive") {
				c = color.RGBA{188, 189, 34, 255}
				if strings.HasSuffix(t.Target, "ES256") {
					c = color.RGBA{227, 119, 194, 255}
				}
			}
		default:
			c = jwtColours[ji%len(jwtColours)]
			ji++
		}
		if err := lineOf(pl, label, p99, c, false); err != nil {
			return nil, 0, 0, err
		}
		if err := lineOf(pl, "", p50, c, true); err != nil {
			return nil, 0, 0, err
		}
	}
	logAxis(&pl.Y, fmtNSTick)
	logAxis(&pl.X, func(v float64) string { return fmtCountShort(v) + "/s" })
	if hi > 0 {
		decadeRange(&pl.Y, lo, hi)
		decadeRange(&pl.X, xlo, xhi)
	}
	pl.Legend.Left, pl.Legend.Top = true, true
	return pl, 9 * vg.Inch, 7 * vg.Inch, nil
}

// shortTargetLabels name the latency chart's series (the cache-off run is
// in the table only).
var shortTargetLabels = map[string]string{
	"noop": "no-op server", "tokengate-repeat": "tokengate, tokens seen before",
	"tokengate-new-HS256": "tokengate, new HS256", "tokengate-new-ES256": "tokengate, new ES256",
	"tokengate-new-EdDSA": "tokengate, new Ed25519", "naive-HS256": "naive sidecar, HS256",
	"naive-ES256": "naive sidecar, ES256", "session-redis": "session in Redis", "session-postgres": "session in PostgreSQL",
}

// crossoverAlgs are the lines of the crossover chart.
var crossoverAlgs = []string{"HS256", "RS256", "PS256", "ES256", "ES384", "ES512", "Ed25519", "Ed448", "ML-DSA-44", "ML-DSA-87"}

// crossoverChart: a token's expected CPU per request against the share
// of requests whose token was seen before; session stores as bands.
func (p *page) crossoverChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("When does a token beat a session lookup?", "share of requests whose token was seen before (cache hits), %", "CPU per request (log scale)")
	lo, hi := math.Inf(1), 0.0
	for _, st := range []string{"redis", "postgres"} {
		s := p.cost(sessionName(st, 1))
		if !s.Valid() {
			continue
		}
		band, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: s.Lo}, {X: 100, Y: s.Lo}, {X: 100, Y: s.Hi}, {X: 0, Y: s.Hi}})
		if err != nil {
			return nil, 0, 0, err
		}
		r, g, b, _ := sessionColours[st].RGBA()
		band.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 60}
		band.LineStyle.Width = 0
		pl.Add(band)
		if err := drawLine(pl, "session: "+map[string]string{"redis": "Redis", "postgres": "PostgreSQL"}[st]+" (band: its interval)", plotter.XYs{{X: 0, Y: s.Median}, {X: 100, Y: s.Median}}, sessionColours[st], true, false); err != nil {
			return nil, 0, 0, err
		}
		lo, hi = math.Min(lo, s.Lo), math.Max(hi, s.Hi)
	}
	i := 0
	for _, alg := range crossoverAlgs {
		hit, miss := p.cost(jwtName(alg, "repeat", 1)), p.cost(jwtName(alg, "new", 1))
		if !hit.Valid() || !miss.Valid() {
			continue
		}
		var xys plotter.XYs
		for share := 0.0; share <= 100; share += 5 {
			xys = append(xys, plotter.XY{X: share, Y: share/100*hit.Median + (1-share/100)*miss.Median})
		}
		lo, hi = math.Min(lo, hit.Median), math.Max(hi, miss.Median)
		if err := drawLine(pl, alg, xys, jwtColours[i%len(jwtColours)], false, false); err != nil {
			return nil, 0, 0, err
		}
		i++
	}
	logAxis(&pl.Y, fmtNSTick)
	if hi > 0 {
		decadeRange(&pl.Y, lo, hi)
	}
	pl.X.Min, pl.X.Max = 0, 100
	pl.Legend.Left, pl.Legend.Top = false, true
	return pl, 8 * vg.Inch, 6 * vg.Inch, nil
}

// growthLine plots one growth series: x from a name parameter, y a unit.
func (p *page) growthLine(pl *plot.Plot, label, prefix, xParam, xUnit, yUnit string, c color.Color, dashed bool) (float64, float64, error) {
	var xys plotter.XYs
	lo, hi := math.Inf(1), 0.0
	for _, n := range p.growthNames(prefix) {
		var x float64
		if xUnit != "" {
			x = p.d.growth.stat(n, xUnit).Median
		} else {
			x, _ = strconv.ParseFloat(param(n, xParam), 64)
		}
		var y float64
		if yUnit == "cpu+store" {
			y = p.d.growth.sumStat(n, "cpu-ns/op", "store-cpu-ns/op").Median
		} else {
			y = p.d.growth.stat(n, yUnit).Median
		}
		if y > 0 && x > 0 {
			xys = append(xys, plotter.XY{X: x, Y: y})
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
	}
	return lo, hi, lineOf(pl, label, xys, c, dashed)
}

func (p *page) growthTokensChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("HS256 through the default 64 MiB cache: distinct tokens in flight", "distinct tokens, each request's drawn uniformly (log scale)", "time per request (log scale)")
	lo, hi, err := p.growthLine(pl, "", "GrowthTokens/", "distinct", "", "ns/op", jwtColours[0], false)
	if err != nil {
		return nil, 0, 0, err
	}
	return finishGrowth(pl, lo, hi, "tokens")
}

func (p *page) growthRowsChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("PostgreSQL session check against table size", "rows in the session table (log scale)", "per request (log scale)")
	lo1, hi1, err := p.growthLine(pl, "CPU: client + PostgreSQL", "GrowthRows/", "rows", "", "cpu+store", sessionColours["postgres"], false)
	if err != nil {
		return nil, 0, 0, err
	}
	lo2, hi2, err := p.growthLine(pl, "wall time", "GrowthRows/", "rows", "", "ns/op", sessionColours["redis"], true)
	if err != nil {
		return nil, 0, 0, err
	}
	return finishGrowth(pl, math.Min(lo1, lo2), math.Max(hi1, hi2), "rows")
}

func (p *page) growthClaimsChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("A new token's CPU against its size (claims 200 B to 8 KiB)", "Authorization header bytes (log scale)", "CPU per request (log scale)")
	lo, hi := math.Inf(1), 0.0
	for i, alg := range []string{"HS256", "ES256", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87"} {
		l, h, err := p.growthLine(pl, alg+", new token", "GrowthClaims/alg="+alg+"/", "", "req-bytes", "cpu-ns/op", jwtColours[i], false)
		if err != nil {
			return nil, 0, 0, err
		}
		lo, hi = math.Min(lo, l), math.Max(hi, h)
	}
	var xys plotter.XYs
	for _, n := range p.growthNames("GrowthClaims/alg=HS256/") {
		if strings.HasSuffix(n, "/token=repeat") {
			xys = append(xys, plotter.XY{X: p.d.growth.stat(n, "req-bytes").Median, Y: p.d.growth.stat(n, "cpu-ns/op").Median})
			lo = math.Min(lo, p.d.growth.stat(n, "cpu-ns/op").Median)
		}
	}
	if err := lineOf(pl, "HS256, seen before", xys, jwtColours[0], true); err != nil {
		return nil, 0, 0, err
	}
	return finishGrowth(pl, lo, hi, "bytes")
}

func (p *page) growthKeysChart() (*plot.Plot, vg.Length, vg.Length, error) {
	pl := newPlot("HS256 against the number of keys and issuers", "keys, one issuer each (log scale)", "CPU per request (log scale)")
	var xnew, xrep plotter.XYs
	lo, hi := math.Inf(1), 0.0
	for _, n := range p.growthNames("GrowthKeys/") {
		k, _ := strconv.ParseFloat(param(n, "keys"), 64)
		y := p.d.growth.stat(n, "cpu-ns/op").Median
		lo, hi = math.Min(lo, y), math.Max(hi, y)
		if strings.HasSuffix(n, "/token=new") {
			xnew = append(xnew, plotter.XY{X: k, Y: y})
		} else {
			xrep = append(xrep, plotter.XY{X: k, Y: y})
		}
	}
	if err := lineOf(pl, "new token", xnew, jwtColours[0], false); err != nil {
		return nil, 0, 0, err
	}
	if err := lineOf(pl, "seen before", xrep, jwtColours[0], true); err != nil {
		return nil, 0, 0, err
	}
	return finishGrowth(pl, lo, hi, "keys")
}

func finishGrowth(pl *plot.Plot, lo, hi float64, _ string) (*plot.Plot, vg.Length, vg.Length, error) {
	logAxis(&pl.X, fmtCountShort)
	logAxis(&pl.Y, fmtNSTick)
	if hi > 0 {
		decadeRange(&pl.Y, lo, hi)
	}
	pl.Legend.Left = true
	return pl, 7 * vg.Inch, 4.5 * vg.Inch, nil
}
