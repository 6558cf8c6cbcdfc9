package loadtest

import (
	"errors"
	"testing"
	"time"
)

// TestDialRefusesNonLoopback: the dialer checks the resolved address before
// connecting, so a name that resolves elsewhere is never contacted.
func TestDialRefusesNonLoopback(t *testing.T) {
	dial := loopbackDial(time.Second)
	for _, addr := range []string{"10.0.0.1:80", "[2001:db8::1]:80"} {
		c, err := dial(addr)
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("dial %s: %v, want ErrNotLoopback", addr, err)
		}
	}
}
