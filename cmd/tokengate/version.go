package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tokengate/tokengate/internal/buildinfo"
)

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	writeVersion(stdout, buildinfo.Read())
	return nil
}

// writeVersion prints an Info, one field per line after the version:
//
//	tokengate v1.2.3
//	revision: 4f2c9e1d0a7b… (modified)
//	commit time: 2026-11-30T12:00:00Z
//	go: go1.26.8 linux/amd64
//
// A field the build did not record is "unknown".
func writeVersion(w io.Writer, in buildinfo.Info) {
	rev, at := "unknown", "unknown"
	if in.Revision != "" {
		rev = in.Revision
		if in.Modified {
			rev += " (modified)"
		}
	}
	if !in.Time.IsZero() {
		at = in.Time.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "tokengate %s\nrevision: %s\ncommit time: %s\ngo: %s %s\n", in.Version, rev, at, in.GoVersion, in.Platform)
}
