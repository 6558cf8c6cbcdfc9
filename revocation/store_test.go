package revocation

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) (*Store, *clock) {
	c := &clock{t: t0}
	return NewStore(Options{Now: c.Now, MaxTokenLifetime: time.Hour}), c
}

func secs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func TestJTIRuleDeniesOnlyThatTokenUntilItExpires(t *testing.T) {
	s, c := newStore(t)
	if _, err := s.Add(Entry{Kind: KindJTI, JTI: "t-1", Expires: t0.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if !s.Revoked([]byte("https://a"), []byte("u"), []byte("t-1"), secs(t0), true, c.Now()) {
		t.Fatal("revoked jti accepted")
	}
	if s.Revoked([]byte("https://a"), []byte("u"), []byte("t-2"), secs(t0), true, c.Now()) {
		t.Fatal("other jti denied")
	}
	if s.Revoked(nil, nil, nil, 0, false, c.Now()) {
		t.Fatal("token without jti denied")
	}
	c.Add(10 * time.Minute)
	if s.Revoked(nil, nil, []byte("t-1"), 0, false, c.Now()) {
		t.Fatal("rule outlived the token's exp")
	}
	if n := s.Sweep(); n != 1 || s.Len() != 0 {
		t.Fatalf("Sweep dropped %d, %d left; want 1, 0", n, s.Len())
	}
}

func TestJTIRuleWithoutExpLastsMaxTokenLifetime(t *testing.T) {
	s, c := newStore(t)
	e, err := s.Add(Entry{Kind: KindJTI, JTI: "t-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Expires = %v, want now + MaxTokenLifetime", e.Expires)
	}
	c.Add(59 * time.Minute)
	if !s.Revoked(nil, nil, []byte("t-1"), 0, false, c.Now()) {
		t.Fatal("rule forgotten too early")
	}
}

func TestSubjectCutoffDeniesEarlierTokensOnly(t *testing.T) {
	s, c := newStore(t)
	cut := t0.Add(-time.Minute)
	if _, err := s.Add(Entry{Kind: KindSubject, Subject: "user-42", Before: cut}); err != nil {
		t.Fatal(err)
	}
	sub := []byte("user-42")
	for _, tc := range []struct {
		name   string
		iat    float64
		hasIat bool
		want   bool
	}{
		{"issued an hour before", secs(cut.Add(-time.Hour)), true, true},
		{"issued a second before", secs(cut) - 1, true, true},
		{"issued at the cutoff", secs(cut), true, false},
		{"issued after", secs(cut) + 5, true, false},
		{"no iat", 0, false, true},
	} {
		if got := s.Revoked([]byte("https://a"), sub, []byte("x"), tc.iat, tc.hasIat, c.Now()); got != tc.want {
			t.Errorf("%s: revoked = %v, want %v", tc.name, got, tc.want)
		}
	}
	if s.Revoked(nil, []byte("user-43"), nil, secs(cut)-100, true, c.Now()) {
		t.Error("other subject denied")
	}
	// The rule lasts until every token it could match has expired.
	c.Add(time.Hour - time.Minute - time.Second)
	if !s.Revoked(nil, sub, nil, secs(cut)-1, true, c.Now()) {
		t.Error("cutoff forgotten before Before+MaxTokenLifetime")
	}
	c.Add(2 * time.Second)
	if s.Revoked(nil, sub, nil, secs(cut)-1, true, c.Now()) {
		t.Error("cutoff kept after Before+MaxTokenLifetime")
	}
}

func TestIssuerScopedRules(t *testing.T) {
	s, c := newStore(t)
	s.Add(Entry{Kind: KindSubject, Subject: "42", Issuer: "https://a", Before: t0})
	s.Add(Entry{Kind: KindJTI, JTI: "j", Issuer: "https://a"})
	a, b := []byte("https://a"), []byte("https://b")
	if !s.Revoked(a, []byte("42"), nil, secs(t0)-1, true, c.Now()) || !s.Revoked(a, nil, []byte("j"), 0, false, c.Now()) {
		t.Fatal("issuer A's rules not applied to A")
	}
	if s.Revoked(b, []byte("42"), nil, secs(t0)-1, true, c.Now()) || s.Revoked(b, nil, []byte("j"), 0, false, c.Now()) {
		t.Fatal("issuer A's rules applied to issuer B")
	}
	if s.Revoked(nil, []byte("42"), []byte("j"), secs(t0)-1, true, c.Now()) {
		t.Fatal("issuer A's rules applied to a token without iss")
	}
}

func TestStrongerRuleWinsAcrossLayers(t *testing.T) {
	s, c := newStore(t)
	if err := s.SetFile([]Entry{{Kind: KindSubject, Subject: "u", Before: t0.Add(-30 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	s.Add(Entry{Kind: KindSubject, Subject: "u", Before: t0})
	if !s.Revoked(nil, []byte("u"), nil, secs(t0)-60, true, c.Now()) {
		t.Fatal("the later cutoff did not win")
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (same rule in two layers)", s.Len())
	}
	// Removing the API rule leaves the file rule.
	if !s.Remove(Key{Kind: KindSubject, Value: "u"}) {
		t.Fatal("Remove found nothing")
	}
	if s.Revoked(nil, []byte("u"), nil, secs(t0)-60, true, c.Now()) || !s.Revoked(nil, []byte("u"), nil, secs(t0)-7200, true, c.Now()) {
		t.Fatal("after Remove the file rule should remain alone")
	}
}

func TestAddRejectsBadRules(t *testing.T) {
	s, _ := newStore(t)
	for _, e := range []Entry{
		{},
		{Kind: KindJTI},
		{Kind: KindSubject, Subject: "u"},
		{Kind: KindJTI, JTI: "a", Subject: "u"},
		{Kind: KindJTI, JTI: strings.Repeat("a", MaxValueLen+1)},
		{Kind: KindJTI, JTI: "\xff"},
	} {
		if _, err := s.Add(e); err == nil {
			t.Errorf("Add(%+v) succeeded", e)
		}
	}
	if s.Len() != 0 {
		t.Fatal("a bad rule was stored")
	}
}

func TestMaxEntries(t *testing.T) {
	s := NewStore(Options{MaxEntries: 2})
	s.Add(Entry{Kind: KindJTI, JTI: "a"})
	s.Add(Entry{Kind: KindJTI, JTI: "b"})
	if _, err := s.Add(Entry{Kind: KindJTI, JTI: "c"}); !errors.Is(err, ErrFull) {
		t.Fatalf("third rule: err = %v, want ErrFull", err)
	}
	if _, err := s.Add(Entry{Kind: KindJTI, JTI: "a", Reason: "again"}); err != nil {
		t.Fatalf("replacing a rule at the limit: %v", err)
	}
}

func TestParseFile(t *testing.T) {
	good := `{"revocations": [
	  {"jti": "abc", "exp": 1795000000, "reason": "leaked in a log"},
	  {"sub": "user-42", "iss": "https://idp.example.com", "before": "2026-11-23T08:00:00Z"}
	]}`
	es, err := ParseFile([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Kind != KindJTI || es[1].Kind != KindSubject || !es[1].Before.Equal(t0) || es[0].Expires.Unix() != 1795000000 {
		t.Fatalf("parsed %+v", es)
	}
	if es, err := ParseFile([]byte(`[{"jti":"x"}]`)); err != nil || len(es) != 1 {
		t.Fatalf("bare array: %v %v", es, err)
	}
	for name, bad := range map[string]string{
		"not json":          `revocations: []`,
		"unknown top":       `{"revocation": []}`,
		"unknown member":    `[{"jti":"x","JTI":"y"}]`,
		"case variant":      `[{"JTI":"x"}]`,
		"duplicate":         `[{"jti":"x","jti":"y"}]`,
		"both":              `[{"jti":"x","sub":"y","before":1}]`,
		"neither":           `[{"iss":"x"}]`,
		"subject no before": `[{"sub":"y"}]`,
		"before not time":   `[{"sub":"y","before":"yesterday"}]`,
		"exp out of range":  `[{"jti":"x","exp":1e300}]`,
		"exp negative":      `[{"jti":"x","exp":-1}]`,
		"exp not number":    `[{"jti":"x","exp":true}]`,
		"jti not string":    `[{"jti":1}]`,
		"rule not object":   `["x"]`,
	} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
	_, err = ParseFile([]byte(`[{"jti":"ok"},{"jti":1},{"sub":"s"}]`))
	if err == nil || !strings.Contains(err.Error(), "revocations[1]") || !strings.Contains(err.Error(), "revocations[2]") {
		t.Fatalf("error should name every bad rule by index: %v", err)
	}
}

func TestBrokenFileKeepsPreviousRules(t *testing.T) {
	s, c := newStore(t)
	path := filepath.Join(t.TempDir(), "revocations.json")
	os.WriteFile(path, []byte(`[{"jti":"a"}]`), 0o600)
	if err := s.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(`[{"jti":"b"},{"jti":`), 0o600)
	if err := s.LoadFile(path); err == nil {
		t.Fatal("broken file loaded")
	}
	if !s.Revoked(nil, nil, []byte("a"), 0, false, c.Now()) || s.Revoked(nil, nil, []byte("b"), 0, false, c.Now()) {
		t.Fatal("broken file changed the rules")
	}
	if _, err := s.FileStatus(); err == nil {
		t.Fatal("FileStatus does not report the failure")
	}
	os.WriteFile(path, []byte(`[{"jti":"b"}]`), 0o600)
	if err := s.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if s.Revoked(nil, nil, []byte("a"), 0, false, c.Now()) || !s.Revoked(nil, nil, []byte("b"), 0, false, c.Now()) {
		t.Fatal("fixed file not applied as a whole")
	}
}

func TestWatchFileReloads(t *testing.T) {
	s := NewStore(Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "rev.json")
	os.WriteFile(path, []byte(`[]`), 0o600)
	ctx := t.Context()
	ready := make(chan struct{})
	go s.WatchFile(ctx, path, 20*time.Millisecond, ready)
	<-ready
	tmp := filepath.Join(dir, "rev.json.tmp")
	os.WriteFile(tmp, []byte(`[{"jti":"late"}]`), 0o600)
	os.Rename(tmp, path) // as editors and config management do
	deadline := time.Now().Add(5 * time.Second)
	for !s.Revoked(nil, nil, []byte("late"), 0, false, time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("file change not picked up within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatchFileFailsOnBrokenStartFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rev.json")
	os.WriteFile(path, []byte(`{`), 0o600)
	if err := NewStore(Options{}).WatchFile(t.Context(), path, 0, nil); err == nil {
		t.Fatal("a broken revocation file at start-up must be an error")
	}
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	s := NewStore(Options{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					s.Revoked(nil, []byte("u"), []byte("j"), 1, true, time.Now())
				}
			}
		}()
	}
	for i := range 200 {
		s.Add(Entry{Kind: KindJTI, JTI: string(rune('a' + i%26))})
		s.Remove(Key{Kind: KindJTI, Value: string(rune('a' + (i+13)%26))})
	}
	close(stop)
	wg.Wait()
}

func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		s := NewStore(Options{})
		var es []Entry
		for i := range n {
			es = append(es, Entry{Kind: KindJTI, JTI: "jti-" + string(rune(i))})
		}
		s.SetFile(es)
		iss, sub, jti, now := []byte("https://a"), []byte("u"), []byte("k"), time.Now()
		b.Run("rules="+map[int]string{0: "0", 100_000: "100k"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Revoked(iss, sub, jti, 1, true, now)
			}
		})
	}
}
