package verifier

import (
	"math"
	"testing"
	"time"
)

// TestNumericTimeNeverWraps: converting a float NumericDate to time.Time
// is where libjwt #283 overflowed (1e300 seconds as int64 nanoseconds).
// numericDate never stores such a value, and numericTime maps anything
// outside [0, 9999-12-31T23:59:59Z] to the zero Time instead of a wrapped
// one, so Result.Expiry cannot report a garbage future.
func TestNumericTimeNeverWraps(t *testing.T) {
	for _, f := range []float64{1e300, -1e300, math.Pow(2, 63), math.Pow(2, 64), -1, maxNumericDate + 1, math.Inf(1), math.Inf(-1), math.NaN()} {
		if got := numericTime(f); !got.IsZero() {
			t.Errorf("numericTime(%g) = %v, want the zero Time", f, got)
		}
	}
	for f, want := range map[float64]time.Time{
		0:              time.Unix(0, 0),
		1.5:            time.Unix(1, 5e8),
		1e10:           time.Unix(1e10, 0),
		maxNumericDate: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		if got := numericTime(f); !got.Equal(want) {
			t.Errorf("numericTime(%g) = %v, want %v", f, got, want)
		}
	}
}
