package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// digestRef is an image reference pinned to a manifest digest.
var digestRef = regexp.MustCompile(`^([^@\s]+)@sha256:([0-9a-f]{64})$`)

// TestDockerfilePinned: every base image is pinned by digest, and the
// file says how to refresh the digests.
func TestDockerfilePinned(t *testing.T) {
	d := parseDockerfile(t)
	for i, st := range d.stages {
		if !digestRef.MatchString(st.image) {
			t.Errorf("stage %d: FROM %s is not pinned by digest (IMAGE:TAG@sha256:...)", i, st.image)
		}
	}
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range d.stages {
		name := digestRef.ReplaceAllString(st.image, "$1")
		if !strings.Contains(string(data), "imagetools inspect "+name+" ") {
			t.Errorf("no comment says how to refresh the digest of %s (docker buildx imagetools inspect %s)", name, name)
		}
	}
}

// labelPair matches one key=value of a LABEL instruction (value quoted or
// bare).
var labelPair = regexp.MustCompile(`([A-Za-z0-9._-]+)=("(?:[^"\\]|\\.)*"|\S+)`)

// TestDockerfileLabels: the final image carries the OCI annotations, with
// the version and revision from build arguments and the base image that
// FROM pins.
func TestDockerfileLabels(t *testing.T) {
	d := parseDockerfile(t)
	final := len(d.stages) - 1
	labels := map[string]string{}
	for _, in := range d.find(final, "LABEL") {
		for _, m := range labelPair.FindAllStringSubmatch(in.args, -1) {
			labels[m[1]] = strings.Trim(m[2], `"`)
		}
	}
	const oci = "org.opencontainers.image."
	for _, k := range []string{"title", "description", "source", "url", "documentation", "version", "revision", "created", "base.name", "base.digest"} {
		if labels[oci+k] == "" {
			t.Errorf("final stage lacks LABEL %s%s", oci, k)
		}
	}
	for k, arg := range map[string]string{"version": "VERSION", "revision": "REVISION", "created": "CREATED"} {
		if labels[oci+k] != "${"+arg+"}" {
			t.Errorf("LABEL %s%s = %q, want ${%s}", oci, k, labels[oci+k], arg)
		}
		if !declaresArg(d, final, arg) {
			t.Errorf("final stage uses ${%s} without ARG %s (build arguments do not cross stages)", arg, arg)
		}
	}
	m := digestRef.FindStringSubmatch(d.stages[final].image)
	if m == nil {
		t.Fatalf("final FROM %s is not pinned", d.stages[final].image)
	}
	if labels[oci+"base.name"] != m[1] || labels[oci+"base.digest"] != "sha256:"+m[2] {
		t.Errorf("base.name %q, base.digest %q; FROM is %s", labels[oci+"base.name"], labels[oci+"base.digest"], d.stages[final].image)
	}
}

func declaresArg(d *dockerfile, stage int, name string) bool {
	for _, in := range d.find(stage, "ARG") {
		if n, _, _ := strings.Cut(in.args, "="); n == name {
			return true
		}
	}
	return false
}

// ldflagsArg extracts the -ldflags value of the go build RUN.
var ldflagsArg = regexp.MustCompile(`-ldflags="([^"]*)"`)

// TestDockerfileVersion builds the binary with the Dockerfile's -ldflags,
// the build arguments filled in, and checks that `tokengate version`
// reports them.
func TestDockerfileVersion(t *testing.T) {
	d := parseDockerfile(t)
	var flags string
	for _, in := range d.find(0, "RUN") {
		if m := ldflagsArg.FindStringSubmatch(in.args); m != nil && strings.Contains(in.args, "go build") {
			flags = m[1]
		}
	}
	if !strings.Contains(flags, "${VERSION}") || !strings.Contains(flags, "${REVISION}") {
		t.Fatalf("go build -ldflags %q does not pass ${VERSION} and ${REVISION}", flags)
	}
	for _, arg := range []string{"VERSION", "REVISION"} {
		if !declaresArg(d, 0, arg) {
			t.Errorf("build stage uses ${%s} without ARG %s", arg, arg)
		}
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const version, revision = "v1.2.3-docker", "89abcdef0123456789abcdef0123456789abcdef"
	flags = strings.NewReplacer("${VERSION}", version, "${REVISION}", revision).Replace(flags)
	bin := filepath.Join(t.TempDir(), "tokengate")
	// Without -trimpath: it changes no symbol, and the build reuses the
	// cache of the other tests' builds (only the link step differs).
	build := exec.Command("go", "build", "-ldflags="+flags, "-o", bin, "./cmd/tokengate")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags=%q: %v\n%s", flags, err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tokengate " + version + "\n", "revision: " + revision + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version printed %q, want %q", out, want)
		}
	}
}
