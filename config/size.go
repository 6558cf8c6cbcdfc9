package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes. In YAML and the environment it is written as
// a plain non-negative integer (bytes) or an integer followed by one of the
// binary (IEC) units B, KiB, MiB or GiB, with optional spaces in between:
// "512", "8KiB", "8 KiB", "64MiB". Units are case-sensitive. Decimal units
// (KB, MB, k, M) are refused rather than guessed at: "8KB" could mean 8000
// or 8192 bytes. Fractions ("1.5MiB") are refused too.
type Size int64

// Size units.
const (
	Byte Size = 1
	KiB       = 1024 * Byte
	MiB       = 1024 * KiB
	GiB       = 1024 * MiB
)

var sizeUnits = []struct {
	name string
	mult Size
}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", Byte}}

// ParseSize parses a size as described on Size.
func ParseSize(s string) (Size, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty size")
	}
	if in[0] == '-' {
		return 0, fmt.Errorf("invalid size %q: negative", s)
	}
	i := 0
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want bytes or an integer with KiB, MiB or GiB", s)
	}
	n, err := strconv.ParseInt(in[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: out of range", s)
	}
	unit := strings.TrimLeft(in[i:], " ")
	mult := Size(0)
	if unit == "" {
		mult = Byte
	}
	for _, u := range sizeUnits {
		if unit == u.name {
			mult = u.mult
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB or GiB)", s, unit)
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("invalid size %q: out of range", s)
	}
	return Size(n) * mult, nil
}

// String formats s in the largest unit that divides it exactly: "8KiB",
// "64MiB", "1000". ParseSize(s.String()) == s for every s ≥ 0.
func (s Size) String() string {
	if s != 0 {
		for _, u := range sizeUnits[:3] {
			if s%u.mult == 0 {
				return strconv.FormatInt(int64(s/u.mult), 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with String.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
