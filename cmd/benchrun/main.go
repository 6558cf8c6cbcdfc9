// Command benchrun reproduces BENCHMARKS.md: it checks Redis and
// PostgreSQL and fills the session data sets (once; later runs reuse
// them), runs every measurement with its repetitions — the in-process
// suite of bench/ with -count 10, the HTTP runs with the server and the
// load generator pinned to different cores in alternating rounds —,
// writes the raw data under bench/testdata/, and regenerates BENCHMARKS.md
// (from bench/BENCHMARKS.md.tmpl) and every chart under docs/ from that
// data, with the machine, its load average and the date recorded.
//
//	go run ./cmd/benchrun                 # the full run (about 80 minutes on 2 cores; resumable with --resume)
//	go run ./cmd/benchrun --quick         # about 1.5 minutes: every measurement, briefly, then --check
//	go run ./cmd/benchrun --render        # regenerate BENCHMARKS.md and docs/ from bench/testdata/
//	go run ./cmd/benchrun --check         # fail if BENCHMARKS.md, docs/ or a claim disagrees with bench/testdata/
//	go run ./cmd/benchrun --quick --out DIR  # keep the quick run's data (and DIR/page) to look at
//	go run ./cmd/benchrun --out DIR --only http-closed  # just the HTTP rows (issue 16's tool): printed, and in DIR/http-closed.jsonl
//
// The quick form writes its data to a temporary directory (its numbers
// are a smoke test, not results), renders a page from it to prove the
// pipeline works end to end, then runs --check: CI runs it, so a number
// in the prose that no longer matches the committed data fails CI.
//
// Run it from the repository root on a quiet machine: other work on the
// host is measured too (the load average before and after each phase is
// recorded next to the data).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	quick, render, check, resume bool
	out                          string
	outSet                       bool // --out given
	plan                         string
	only                         []string
	preliminary                  string
}

func main() {
	var o options
	var only string
	flag.BoolVar(&o.quick, "quick", false, "brief form of every measurement into a temporary directory, a page rendered from it, then --check (CI)")
	flag.BoolVar(&o.render, "render", false, "only regenerate BENCHMARKS.md and docs/ from the data in --out")
	flag.BoolVar(&o.check, "check", false, "only check that BENCHMARKS.md, docs/ and every claim agree with the data in --out")
	flag.BoolVar(&o.resume, "resume", false, "keep the phases an interrupted run in --out completed, run the rest")
	flag.StringVar(&o.out, "out", "bench/testdata", "directory of the raw data")
	flag.StringVar(&only, "only", "", "comma-separated phases to run (setup, "+strings.Join(phaseNames(), ", ")+"); the others keep their data")
	flag.StringVar(&o.plan, "plan", "full", "full, or short (-count 3, one HTTP round, no 10M-row table: about 20 minutes; for trying the pipeline on real sizes)")
	flag.StringVar(&o.preliminary, "preliminary", "", "label the run preliminary, with this reason (e.g. \"machine shared with other work\"), on the page")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { o.outSet = o.outSet || f.Name == "out" })
	if only != "" {
		o.only = strings.Split(only, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run it from the repository root (where go.mod is)")
	}
	switch {
	case o.check:
		return check(o.out)
	case o.render:
		return render(o.out, ".", true)
	case o.quick:
		return runQuick(ctx, o)
	}
	switch o.plan {
	case "full":
		return measure(ctx, o, fullPlan())
	case "short":
		if o.preliminary == "" {
			return errors.New("a short run is preliminary by definition: say why with --preliminary")
		}
		return measure(ctx, o, shortPlan())
	}
	return fmt.Errorf("--plan %q: full or short", o.plan)
}

// runQuick measures briefly into a temporary directory, renders a page
// from that (claims not enforced: brief numbers are noisy), then checks
// the committed page against the committed data.
func runQuick(ctx context.Context, o options) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "benchrun-quick-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	page := filepath.Join(dir, "page")
	if o.outSet { // keep the quick run's data and page for a look
		page = filepath.Join(o.out, "page")
	} else {
		o.out = filepath.Join(dir, "data")
	}
	o.preliminary = "quick form (a smoke test of the tooling; its numbers are not results)"
	if err := measure(ctx, o, quickPlan()); err != nil {
		return err
	}
	if err := render(o.out, page, false); err != nil {
		return fmt.Errorf("rendering the quick run: %w", err)
	}
	logf("quick measurements and rendering took %s", time.Since(start).Round(time.Second))
	return check("bench/testdata")
}

// measure runs plan's phases into o.out, then renders the page (into the
// repository unless o.quick).
func measure(ctx context.Context, o options, p plan) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	meta, err := startRun(o, p)
	if err != nil {
		return err
	}
	logf("%s run into %s; estimated %s (%d phases)", p.name, o.out, p.estimate().Round(time.Minute), len(p.phases))
	env, err := setup(ctx, p)
	if err != nil {
		return err
	}
	meta.Machine.Redis, meta.Machine.PostgreSQL = env.redisVersion, env.pgVersion
	defer env.close()
	for i, ph := range p.phases {
		if len(o.only) > 0 && !slices.Contains(o.only, ph.name) {
			continue
		}
		if o.resume && meta.done(ph.name) {
			logf("[%d/%d] %s: kept from the interrupted run", i+1, len(p.phases), ph.name)
			continue
		}
		logf("[%d/%d] %s (about %s)", i+1, len(p.phases), ph.name, ph.estimate.Round(time.Second))
		rec := meta.begin(ph.name)
		if err := ph.run(ctx, env, o.out); err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		meta.end(rec)
		if err := meta.save(o.out); err != nil {
			return err
		}
	}
	meta.finish()
	if err := meta.save(o.out); err != nil {
		return err
	}
	if o.quick {
		return nil
	}
	if len(o.only) > 0 && filepath.Clean(o.out) != "bench/testdata" {
		logf("data in %s; not rendered (a partial run elsewhere): `go run ./cmd/benchrun --render --out %s` once it is complete", o.out, o.out)
		return nil
	}
	return render(o.out, ".", o.preliminary == "")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
