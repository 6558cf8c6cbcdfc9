package sidecar

import (
	"testing"
	"time"
)

func TestParseRequestStart(t *testing.T) {
	at := time.Date(2026, 12, 5, 1, 2, 3, 456_000_000, time.UTC)
	for in, want := range map[string]time.Time{
		"t=1796432523.456":    at,                             // nginx ${msec}
		"1796432523.456":      at,                             // bare
		"t=1796432523456":     at,                             // milliseconds
		"t=1796432523456000":  at,                             // microseconds
		"t=1796432523":        at.Truncate(time.Second),       // seconds
		"t=1796432523.456789": at.Add(789 * time.Microsecond), // more digits
	} {
		if got, ok := parseRequestStart([]byte(in)); !ok || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "t=", "t=abc", "t=1.2.3", "t=-5", "t=1796432523 ", "t=99999999999999999999", "x=1796432523"} {
		if got, ok := parseRequestStart([]byte(in)); ok {
			t.Errorf("%q read as %v", in, got)
		}
	}
}
