package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/config"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined; stage is the index of the FROM it belongs to.
type instruction struct {
	cmd   string // upper case
	args  string
	stage int
	line  int
}

// dockerfile is the repository's Dockerfile, parsed just enough for static
// checks (Docker cannot run here).
type dockerfile struct {
	instrs []instruction
	stages []stage
}

type stage struct {
	image, name string
}

func parseDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := &dockerfile{}
	sc := bufio.NewScanner(f)
	var cur strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // comment lines inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			fields := strings.Fields(in.args)
			fields = slices.DeleteFunc(fields, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			d.stages = append(d.stages, st)
		}
		in.stage = len(d.stages) - 1
		d.instrs = append(d.instrs, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends inside a continued instruction")
	}
	return d
}

func (d *dockerfile) find(stage int, cmd string) []instruction {
	var out []instruction
	for _, in := range d.instrs {
		if in.cmd == cmd && (stage < 0 || in.stage == stage) {
			out = append(out, in)
		}
	}
	return out
}

// execForm parses the JSON (exec) form of ENTRYPOINT and CMD.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(in.args), &out); err != nil {
		t.Fatalf("Dockerfile:%d: %s must use the exec form [\"...\"] (no shell in the image): %v", in.line, in.cmd, err)
	}
	return out
}

// entrypoint returns the final image's ENTRYPOINT and CMD.
func (d *dockerfile) entrypoint(t *testing.T) (entry, cmd []string) {
	t.Helper()
	final := len(d.stages) - 1
	ep := d.find(final, "ENTRYPOINT")
	if len(ep) != 1 {
		t.Fatalf("final stage has %d ENTRYPOINT instructions, want 1", len(ep))
	}
	entry = execForm(t, ep[0])
	if c := d.find(final, "CMD"); len(c) > 0 {
		cmd = execForm(t, c[len(c)-1])
	}
	return entry, cmd
}

// user returns the final image's USER.
func (d *dockerfile) user(t *testing.T) string {
	t.Helper()
	users := d.find(len(d.stages)-1, "USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER: the image would run as root")
	}
	return users[len(users)-1].args
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(d.stages))
	}
	build, final := 0, len(d.stages)-1

	t.Run("build stage", func(t *testing.T) {
		if img := d.stages[build].image; !strings.HasPrefix(img, "golang:1.26") {
			t.Errorf("build image %q, want golang:1.26 (go.mod's toolchain)", img)
		}
		if d.stages[build].name == "" {
			t.Errorf("build stage has no name (FROM ... AS build)")
		}
		cgoOff := false
		for _, in := range d.find(build, "ENV") {
			if strings.Contains(in.args, "CGO_ENABLED=0") {
				cgoOff = true
			}
		}
		var goBuild []instruction
		for _, in := range d.find(build, "RUN") {
			if strings.Contains(in.args, "go build") {
				goBuild = append(goBuild, in)
				if strings.Contains(in.args, "CGO_ENABLED=0") {
					cgoOff = true
				}
			}
		}
		if !cgoOff {
			t.Errorf("CGO_ENABLED=0 not set in the build stage: the binary would need libc")
		}
		if len(goBuild) != 1 {
			t.Fatalf("%d RUN go build instructions, want 1", len(goBuild))
		}
		for _, flag := range []string{"-trimpath", `-ldflags="-s -w `, "./cmd/tokengate"} {
			if !strings.Contains(goBuild[0].args, flag) {
				t.Errorf("Dockerfile:%d: go build lacks %s", goBuild[0].line, flag)
			}
		}
	})

	t.Run("final stage", func(t *testing.T) {
		img := d.stages[final].image
		if !strings.HasPrefix(img, "gcr.io/distroless/static") && img != "scratch" {
			t.Errorf("final image %q, want distroless static or scratch", img)
		}
		u := d.user(t)
		name, _, _ := strings.Cut(u, ":")
		if name == "root" || name == "0" || name == "" {
			t.Errorf("USER %q runs as root", u)
		}
		if img == "scratch" {
			if _, err := strconv.Atoi(name); err != nil {
				t.Errorf("USER %q: scratch has no /etc/passwd, use a numeric uid", u)
			}
		}
		copies := d.find(final, "COPY")
		if len(copies) == 0 || !strings.Contains(copies[0].args, "--from="+d.stages[build].name) {
			t.Errorf("final stage does not COPY the binary --from=%s", d.stages[build].name)
		}
		entry, cmd := d.entrypoint(t)
		if len(entry) != 1 || path.Base(entry[0]) != "tokengate" {
			t.Errorf("ENTRYPOINT %q, want the tokengate binary", entry)
		}
		for _, c := range copies {
			if dst := strings.Fields(c.args); dst[len(dst)-1] != entry[0] {
				t.Errorf("COPY puts the binary at %s, ENTRYPOINT runs %s", dst[len(dst)-1], entry[0])
			}
		}
		if want := []string{"serve", "--config", "/etc/tokengate/config.yaml"}; !slices.Equal(cmd, want) {
			t.Errorf("CMD %q, want %q", cmd, want)
		}
	})

	t.Run("EXPOSE both listeners", func(t *testing.T) {
		// The ports of the reference configuration.
		cfg, err := config.Load("")
		if err != nil {
			t.Fatal(err)
		}
		var exposed []string
		for _, in := range d.find(final, "EXPOSE") {
			for _, p := range strings.Fields(in.args) {
				exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
			}
		}
		for _, addr := range []string{cfg.Listen.Verify, cfg.Listen.Admin} {
			_, port, _ := strings.Cut(addr, ":")
			if !slices.Contains(exposed, port) {
				t.Errorf("port %s (%s) not in EXPOSE %v", port, addr, exposed)
			}
		}
	})

	t.Run("no HEALTHCHECK", func(t *testing.T) {
		// distroless has nothing to run one with; orchestrators probe the
		// admin listener.
		if hc := d.find(-1, "HEALTHCHECK"); len(hc) > 0 {
			t.Errorf("Dockerfile:%d: HEALTHCHECK", hc[0].line)
		}
	})
}

// dockerignore is a minimal reading of .dockerignore: patterns relative to
// the context root, "**/" for any depth, "!" exceptions; a pattern that
// matches a directory excludes everything below it.
type dockerignore []struct {
	pattern string
	negate  bool
}

func readDockerignore(t *testing.T) dockerignore {
	t.Helper()
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		line = strings.TrimPrefix(line, "!")
		line = strings.Trim(filepath.ToSlash(filepath.Clean(line)), "/")
		d = append(d, struct {
			pattern string
			negate  bool
		}{line, neg})
	}
	return d
}

func (d dockerignore) excluded(p string) bool {
	parts := strings.Split(p, "/")
	out := false
	for _, rule := range d {
		// The path or one of its parent directories matches.
		for i := 1; i <= len(parts); i++ {
			if globMatch(rule.pattern, strings.Join(parts[:i], "/")) {
				out = !rule.negate
				break
			}
		}
	}
	return out
}

// globMatch is path.Match with a leading "**/" matching any number of
// directories.
func globMatch(pattern, name string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		parts := strings.Split(name, "/")
		for i := range parts {
			if globMatch(rest, strings.Join(parts[i:], "/")) {
				return true
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

// buildInputs lists the files `go build ./cmd/tokengate` reads, relative
// to the repository root.
func buildInputs(t *testing.T) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`,
		"./cmd/tokengate")
	cmd.Dir = ".."
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, fields[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	return files
}

func TestDockerignore(t *testing.T) {
	d := readDockerignore(t)
	inputs := buildInputs(t)
	if !slices.Contains(inputs, "config/default.yaml") {
		t.Errorf("build inputs %v lack the embedded config/default.yaml", inputs)
	}
	for _, f := range inputs {
		if d.excluded(f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
	// Secrets and local artefacts must never reach the build context.
	for _, f := range []string{
		".git/config", ".dev-keys/dev.key.pem", "config/.dev-keys/dev.jwks.json",
		"secrets/api.key", "cache.test", "keyring/keyring.test", "deploy/kubernetes/secret.yaml",
	} {
		if !d.excluded(f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}
