// Package buildinfo says what a tokengate binary was built from: the
// module version, the VCS revision and its commit time, and the Go
// toolchain, as runtime/debug.ReadBuildInfo records them. A build whose
// source has no VCS data (a container build, whose context leaves .git
// out) can set the version and revision at link time:
//
//	go build -ldflags "-X github.com/tokengate/tokengate/internal/buildinfo.version=v1.2.3 \
//	  -X github.com/tokengate/tokengate/internal/buildinfo.revision=$(git rev-parse HEAD)" ./cmd/tokengate
//
// Values set at link time win over what the toolchain recorded. The
// `tokengate version` command prints an Info; its fields are also meant as
// the labels of a build-info metric, so they never carry anything secret.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Set with -ldflags -X (see the package comment); empty when not.
var (
	version  string
	revision string
)

// Info describes a build. It is a plain value, safe to copy and share.
type Info struct {
	// Version is the module version ("v1.2.3", or a pseudo-version such as
	// "v0.0.0-20261130120000-4f2c9e1d0a7b+dirty"), or "(devel)" when the
	// toolchain recorded none.
	Version string
	// Revision is the VCS commit ("" when unknown); Time its commit time
	// (zero when unknown); Modified reports uncommitted changes at build
	// time.
	Revision string
	Time     time.Time
	Modified bool
	// GoVersion is the toolchain ("go1.26.8"); Platform is the GOOS/GOARCH
	// the binary was built for (and so runs on).
	GoVersion string
	Platform  string
}

// Read returns the running binary's Info. It reads the build information
// once; later calls return the same value.
func Read() Info { return read() }

var read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, version, revision)
})

// fromBuildInfo builds an Info from what the toolchain recorded (bi may be
// nil: a binary built without module support) and the link-time values.
func fromBuildInfo(bi *debug.BuildInfo, linkVersion, linkRevision string) Info {
	in := Info{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.Main.Version != "" {
			in.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					in.Time = t.UTC()
				}
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if linkVersion != "" {
		in.Version = linkVersion
	}
	if linkRevision != "" && linkRevision != in.Revision {
		// The link-time revision names another commit than the one the
		// toolchain saw (if any): the toolchain's time and modified flag
		// describe that other commit.
		in.Revision, in.Time, in.Modified = linkRevision, time.Time{}, false
	}
	return in
}
