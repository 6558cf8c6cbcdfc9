package watchfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// run starts w and returns a channel that receives one value per call of
// changed.
func run(t *testing.T, w *Watcher) <-chan struct{} {
	t.Helper()
	calls := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func() { calls <- struct{}{} }, func(error) {}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		w.Close()
	})
	return calls
}

func waitCall(t *testing.T, calls <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatalf("no change reported after %s", what)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWatchReportsRenamesAndWrites: a file written in place, replaced by a
// rename (editors), and removed is reported; each burst once.
func TestWatchReportsRenamesAndWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	write(t, path, "1")
	w, err := New([]string{path}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	calls := run(t, w)

	for i := range 5 { // one burst
		write(t, path, string(rune('a'+i)))
	}
	waitCall(t, calls, "a burst of writes")
	tmp := filepath.Join(dir, "keys.json.tmp")
	write(t, tmp, "2")
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitCall(t, calls, "a rename over the file")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitCall(t, calls, "a removal")
	if n := len(calls); n != 0 {
		t.Errorf("%d extra calls: a burst must be reported once", n)
	}
}

// TestWatchKubernetesSymlinkSwap: a Kubernetes volume's "..data" swap (the
// file is a symlink into a timestamped directory) is reported.
func TestWatchKubernetesSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "..v1"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "..v1", "keys.json"), "1")
	for _, l := range [][2]string{{"..v1", "..data"}, {filepath.Join("..data", "keys.json"), "keys.json"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	w, err := New([]string{filepath.Join(dir, "keys.json")}, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if w.Dirs() != 2 {
		t.Errorf("watching %d directories, want the volume and its ..v1 target", w.Dirs())
	}
	calls := run(t, w)
	if err := os.Mkdir(filepath.Join(dir, "..v2"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "..v2", "keys.json"), "2")
	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitCall(t, calls, "the ..data swap")
}

// TestRelevantEvents: which events count.
func TestRelevantEvents(t *testing.T) {
	w := &Watcher{names: map[string]map[string]bool{"/etc/keys": {"keys.json": true}}}
	tests := []struct {
		name string
		ev   fsnotify.Event
		want bool
	}{
		{"write to the file", fsnotify.Event{Name: "/etc/keys/keys.json", Op: fsnotify.Write}, true},
		{"rename onto the file", fsnotify.Event{Name: "/etc/keys/keys.json", Op: fsnotify.Create}, true},
		{"removal", fsnotify.Event{Name: "/etc/keys/keys.json", Op: fsnotify.Remove}, true},
		{"chmod only", fsnotify.Event{Name: "/etc/keys/keys.json", Op: fsnotify.Chmod}, false},
		{"chmod and write", fsnotify.Event{Name: "/etc/keys/keys.json", Op: fsnotify.Chmod | fsnotify.Write}, true},
		{"..data swap", fsnotify.Event{Name: "/etc/keys/..data", Op: fsnotify.Create}, true},
		{"another file in the directory", fsnotify.Event{Name: "/etc/keys/other.json", Op: fsnotify.Write}, false},
		{"same name in another directory", fsnotify.Event{Name: "/etc/other/keys.json", Op: fsnotify.Write}, false},
	}
	for _, tt := range tests {
		if got := w.relevant(tt.ev); got != tt.want {
			t.Errorf("%s: relevant = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestNoPaths: a watcher of nothing waits for its context.
func TestNoPaths(t *testing.T) {
	w, err := New(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx, func() { t.Error("called") }, func(error) {}); err != nil {
		t.Fatal(err)
	}
}

// TestMissingDirectory: a file whose directory does not exist cannot be
// watched.
func TestMissingDirectory(t *testing.T) {
	if _, err := New([]string{filepath.Join(t.TempDir(), "no", "such", "keys.json")}, 0); err == nil {
		t.Fatal("New succeeded for a missing directory")
	}
}
