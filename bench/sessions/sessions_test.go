package sessions_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/internal/testenv"
)

// TestRecordSize pins the realism of a record: 350-450 bytes of JSON,
// about the size of the benchmark tokens' claims, and a 43-character id.
func TestRecordSize(t *testing.T) {
	for _, n := range []int{0, 7, 999_999, 9_999_999} {
		r := sessions.For(n)
		if l := len(r.JSON()); l < 300 || l > 450 {
			t.Errorf("record %d: %d bytes of JSON, want 300-450: %s", n, l, r.JSON())
		}
		if l := len(sessions.ID(n)); l != 43 {
			t.Errorf("id %d: %d characters", n, l)
		}
		if !(r.ExpiresAt > sessions.Now.Unix()) {
			t.Errorf("record %d expired at Now", n)
		}
	}
}

func TestRender(t *testing.T) {
	r := sessions.For(42)
	var out sessions.Rendered
	if err := sessions.Render(&r, sessions.Now, &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range out.Headers {
		got[string(h.Name)] = string(h.Value)
	}
	want := map[string]string{
		"X-Auth-Subject": "user-0000042",
		"X-Auth-Issuer":  sessions.Issuer,
		"X-Auth-Scope":   "openid profile email orders:read orders:write profile:read tenant:42",
		"X-Auth-Expires": strconv.FormatInt(r.ExpiresAt, 10),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if err := sessions.Render(&r, time.Unix(r.ExpiresAt, 0), &out); !errors.Is(err, sessions.ErrExpired) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
	if a := testing.AllocsPerRun(100, func() { _ = sessions.Render(&r, sessions.Now, &out) }); a != 0 {
		t.Errorf("Render allocates %v times", a)
	}
}

// TestStoresAgree fills a small data set into every store and checks each
// returns For(n) for the first, a middle and the last session, and
// ErrNotFound for an id in no data set.
func TestStoresAgree(t *testing.T) {
	const rows = 1000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stores := map[string]func(t *testing.T) sessions.Store{
		"map": func(*testing.T) sessions.Store { return sessions.NewMap(rows) },
		"redis": func(t *testing.T) sessions.Store {
			rdb, err := sessions.OpenRedis(ctx, sessions.RedisURL(), rows, 2)
			skipUnreachable(t, err)
			t.Cleanup(func() { rdb.Close() })
			return sessions.Redis{C: rdb}
		},
		"postgres": func(t *testing.T) sessions.Store {
			pool, err := sessions.OpenPostgres(ctx, sessions.PGDSN(), rows, 2)
			skipUnreachable(t, err)
			t.Cleanup(pool.Close)
			return sessions.NewPostgreSQL(pool)
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			var r sessions.Record
			var out sessions.Rendered
			for _, n := range []int{0, rows / 2, rows - 1} {
				if err := sessions.Check(ctx, s, sessions.ID(n), sessions.Now, &r, &out); err != nil {
					t.Fatalf("session %d: %v", n, err)
				}
				if !sessions.Same(r, sessions.For(n)) {
					t.Errorf("session %d:\n got %+v\nwant %+v", n, r, sessions.For(n))
				}
			}
			// Not ID(rows+k): Redis keys every data set by id alone, so a
			// larger data set stored earlier holds it.
			if err := s.Lookup(ctx, "no-such-session-id-0000000000000000000000000", &r); !errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("unknown id: %v, want ErrNotFound", err)
			}
		})
	}
}

func skipUnreachable(t *testing.T, err error) {
	t.Helper()
	var u *sessions.Unreachable
	if errors.As(err, &u) {
		testenv.Missing(t, "%s", strings.TrimPrefix(err.Error(), "sessions: "))
	}
	if err != nil {
		t.Fatal(err)
	}
}
