package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, tm, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"}, {Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: modified},
		}
	}
	commit := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		bi             *debug.BuildInfo
		linkV, linkRev string
		want           Info
	}{
		{"no build info", nil, "", "", Info{Version: "(devel)"}},
		{"go install module@version",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/tokengate/tokengate", Version: "v1.2.3"}},
			"", "", Info{Version: "v1.2.3", GoVersion: "go1.26.8"}},
		{"local build with VCS data",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("4f2c9e1d", "2026-11-30T12:00:00Z", "true")},
			"", "", Info{Version: "(devel)", GoVersion: "go1.26.8", Revision: "4f2c9e1d", Time: commit, Modified: true}},
		{"link-time version wins",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("4f2c9e1d", "2026-11-30T12:00:00Z", "false")},
			"v1.2.3", "", Info{Version: "v1.2.3", GoVersion: "go1.26.8", Revision: "4f2c9e1d", Time: commit}},
		{"link-time revision of the same commit keeps the time",
			&debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs("4f2c9e1d", "2026-11-30T12:00:00Z", "true")},
			"v1.2.3", "4f2c9e1d", Info{Version: "v1.2.3", GoVersion: "go1.26.8", Revision: "4f2c9e1d", Time: commit, Modified: true}},
		{"link-time revision without VCS data (container build)",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"v1.2.3", "0123abcd", Info{Version: "v1.2.3", GoVersion: "go1.26.8", Revision: "0123abcd"}},
		{"link-time revision of another commit drops the toolchain's time and flag",
			&debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs("4f2c9e1d", "2026-11-30T12:00:00Z", "true")},
			"", "0123abcd", Info{Version: "(devel)", GoVersion: "go1.26.8", Revision: "0123abcd"}},
		{"unparsable time is left out",
			&debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs("4f2c9e1d", "yesterday", "false")},
			"", "", Info{Version: "(devel)", GoVersion: "go1.26.8", Revision: "4f2c9e1d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = runtime.Version()
			}
			if got := fromBuildInfo(tt.bi, tt.linkV, tt.linkRev); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestRead: the test binary's own build information.
func TestRead(t *testing.T) {
	in := Read()
	if in.GoVersion != runtime.Version() {
		t.Errorf("GoVersion %q, want %q", in.GoVersion, runtime.Version())
	}
	if in.Version == "" || in.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Read() = %+v", in)
	}
	if Read() != in {
		t.Errorf("Read is not stable")
	}
}
