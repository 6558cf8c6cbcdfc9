package config_test

import (
	"strings"
	"testing"

	"github.com/tokengate/tokengate/config"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want config.Size
	}{
		{"0", 0},
		{"512", 512},
		{"512B", 512},
		{"8KiB", 8 << 10},
		{"8 KiB", 8 << 10},
		{"  16KiB ", 16 << 10},
		{"1MiB", 1 << 20},
		{"64MiB", 64 << 20},
		{"2GiB", 2 << 30},
		{"9223372036854775807", 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseSize(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSizeRejects(t *testing.T) {
	tests := []struct{ name, in, msg string }{
		{"empty", "", "empty"},
		{"negative", "-1", "negative"},
		{"negative with unit", "-8KiB", "negative"},
		{"decimal unit", "8KB", `unknown unit "KB"`},
		{"short unit", "8k", `unknown unit "k"`},
		{"wrong case", "8kib", `unknown unit "kib"`},
		{"fraction", "1.5MiB", `unknown unit ".5MiB"`},
		{"unit only", "KiB", "want bytes"},
		{"trailing garbage", "8KiB x", "unknown unit"},
		{"plus sign", "+8", "want bytes"},
		{"overflow", "99999999999999999999", "out of range"},
		{"overflow with unit", "9007199254740992GiB", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseSize(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ParseSize(%q) error = %v, want it to mention %q", tt.in, err, tt.msg)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   config.Size
		want string
	}{
		{0, "0"},
		{1000, "1000"},
		{1024, "1KiB"},
		{1536, "1536"},
		{64 << 20, "64MiB"},
		{3 << 30, "3GiB"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Fatalf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
			}
			back, err := config.ParseSize(tt.want)
			if err != nil || back != tt.in {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.want, back, err, tt.in)
			}
		})
	}
}
