package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// benchstatVersion is the benchstat the full run uses for its
// human-readable summaries (the page's medians and intervals are computed
// here, the same way).
const benchstatVersion = "golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"

// goTestPhase runs `go test -bench pattern -count count -benchtime t` over
// pkgs into gotest-<name>.txt, printing each result as it arrives.
func goTestPhase(name string, estimate time.Duration, pattern string, count int, benchtime string, pkgs ...string) phase {
	return phase{name: name, estimate: estimate, run: func(ctx context.Context, env *environment, out string) error {
		path := filepath.Join(out, "gotest-"+name+".txt")
		args := append([]string{"test", "-run", "^$", "-bench", pattern, "-benchmem",
			"-count", strconv.Itoa(count), "-benchtime", benchtime, "-timeout", "0"}, pkgs...)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), "TOKENGATE_INTEGRATION=require", "TOKENGATE_BENCH_ROWS="+strconv.Itoa(env.plan.rows))
		cmd.Env = append(cmd.Env, env.plan.env...)
		cmd.Stderr = os.Stderr
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		logf("  go %s", strings.Join(args, " "))
		if err := cmd.Start(); err != nil {
			return err
		}
		n, failed := 0, false
		sc := bufio.NewScanner(io.TeeReader(pipe, f))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "ns/op"):
				n++
				fields := strings.Fields(line)
				logf("  %4d %s %s ns/op", n, fields[0], fields[2])
			case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.Contains(line, "panic:"):
				failed = true
				fmt.Fprintln(os.Stderr, line)
			case strings.HasPrefix(line, "    "):
				fmt.Fprintln(os.Stderr, line) // a benchmark's log or error
			}
		}
		if err := cmd.Wait(); err != nil || failed {
			return fmt.Errorf("go test failed (%v); its output is in %s", err, path)
		}
		if count > 1 {
			summarise(ctx, path, filepath.Join(out, "benchstat-"+name+".txt"))
		}
		return nil
	}}
}

// summarise writes benchstat's summary of a result file, when benchstat
// can be fetched; without it the page is still complete.
func summarise(ctx context.Context, in, out string) {
	cmd := exec.CommandContext(ctx, "go", "run", benchstatVersion, in)
	b, err := cmd.Output()
	if err != nil {
		logf("  benchstat unavailable (%v); the page's intervals are computed without it", err)
		return
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		logf("  %v", err)
	}
}
