// Package watchfile tells its caller when files change, for hot reloads of
// key files and revocation lists.
//
// It watches the parent directory of each file, not the file: editors save
// by writing a new file and renaming it over the old one, and Kubernetes
// ConfigMap and Secret volumes swap a "..data" symlink, so a watch on the
// file itself would follow the old inode and go silent. Events are filtered
// to the files' names, the names of their symlink targets (as resolved when
// the watch is set up) and "..data"; attribute changes (chmod) are ignored;
// a burst of events becomes one call once the debounce interval has passed
// without a new one.
package watchfile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet time after the last event of a burst when
// New is given none.
const DefaultDebounce = 100 * time.Millisecond

// ErrClosed reports a watcher that stopped delivering events.
var ErrClosed = errors.New("watchfile: watcher closed")

// Watcher watches the directories of a set of files. Create it with New,
// run it with Run, release it with Close. It is not safe for concurrent
// use: one goroutine runs it.
type Watcher struct {
	w        *fsnotify.Watcher
	names    map[string]map[string]bool // directory -> file names in it
	debounce time.Duration
}

// New sets up watches on the directories of paths (and of their symlink
// targets). Changes made after New returns are reported by Run, so a
// caller loads its files after New and before Run and misses nothing. With
// no paths, New returns a Watcher whose Run only waits for its context.
func New(paths []string, debounce time.Duration) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	w := &Watcher{names: map[string]map[string]bool{}, debounce: debounce}
	add := func(path string) {
		dir, base := filepath.Split(path)
		dir = filepath.Clean(dir)
		if w.names[dir] == nil {
			w.names[dir] = map[string]bool{}
		}
		w.names[dir][base] = true
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("watchfile: %s: %w", p, err)
		}
		add(abs)
		if target, err := filepath.EvalSymlinks(abs); err == nil && target != abs {
			add(target)
		}
	}
	if len(w.names) == 0 {
		return w, nil
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watchfile: %w", err)
	}
	for dir := range w.names {
		if err := fw.Add(dir); err != nil {
			fw.Close()
			return nil, fmt.Errorf("watchfile: watch %s: %w", dir, err)
		}
	}
	w.w = fw
	return w, nil
}

// Dirs returns the number of directories watched.
func (w *Watcher) Dirs() int { return len(w.names) }

// Close releases the watches. Run must have returned.
func (w *Watcher) Close() error {
	if w.w == nil {
		return nil
	}
	return w.w.Close()
}

// Run calls changed after each burst of relevant events, until ctx is
// done; it then returns nil. A watcher error (an event queue overflow, for
// example) is passed to watchErr and counts as a change, since an event may
// have been lost. Run returns ErrClosed if the watcher stops delivering.
// Both callbacks run on Run's goroutine.
func (w *Watcher) Run(ctx context.Context, changed func(), watchErr func(error)) error {
	if w.w == nil {
		<-ctx.Done()
		return nil
	}
	timer := time.NewTimer(w.debounce)
	timer.Stop()
	defer timer.Stop()
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.w.Events:
			if !ok {
				return ErrClosed
			}
			if w.relevant(ev) {
				timer.Reset(w.debounce)
				pending = timer.C
			}
		case err, ok := <-w.w.Errors:
			if !ok {
				return ErrClosed
			}
			watchErr(err)
			timer.Reset(w.debounce)
			pending = timer.C
		case <-pending:
			pending = nil
			changed()
		}
	}
}

func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false // attributes only: the bytes are the same
	}
	dir, base := filepath.Split(ev.Name)
	if base == "..data" {
		return true // ConfigMap/Secret volume update (atomic symlink swap)
	}
	return w.names[filepath.Clean(dir)][base]
}
