package keyring

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch reloads the ring when one of its file sources changes, until ctx is
// done; it then returns nil. It returns an error only if the watch cannot
// be set up or the watcher dies.
//
// It watches the parent directory of each file, not the file: editors save
// by writing a new file and renaming it over the old one, and Kubernetes
// ConfigMap and Secret volumes swap a "..data" symlink, so a watch on the
// file itself would follow the old inode and go silent. Events are
// filtered to the sources' names (and their symlink targets, as resolved
// when Watch starts) and to "..data"; a burst of events becomes one Reload
// once Config.Debounce has passed without a new one. A reload that fails
// keeps the previous keys and is logged (and reported in Status); the watch
// goes on, so fixing the file recovers.
func (r *Ring) Watch(ctx context.Context) error {
	names := map[string]map[string]bool{} // directory -> file names in it
	add := func(path string) {
		dir, base := filepath.Split(path)
		dir = filepath.Clean(dir)
		if names[dir] == nil {
			names[dir] = map[string]bool{}
		}
		names[dir][base] = true
	}
	for _, s := range r.sources {
		if s.Path == "" {
			continue
		}
		abs, err := filepath.Abs(s.Path)
		if err != nil {
			return fmt.Errorf("keyring: watch %s: %w", s.Path, err)
		}
		add(abs)
		if target, err := filepath.EvalSymlinks(abs); err == nil && target != abs {
			add(target)
		}
	}
	if len(names) == 0 {
		<-ctx.Done()
		return nil
	}

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("keyring: watch: %w", err)
	}
	defer w.Close()
	for dir := range names {
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("keyring: watch %s: %w", dir, err)
		}
	}
	r.log.Debug("keyring: watching key files", "directories", len(names))
	// Catch changes made between New and the watch being in place. The
	// error is logged and in Status; Reload keeps the last good keys.
	_ = r.Reload()

	relevant := func(ev fsnotify.Event) bool {
		if ev.Op == fsnotify.Chmod {
			return false // attributes only: the bytes are the same
		}
		dir, base := filepath.Split(ev.Name)
		if base == "..data" {
			return true // ConfigMap/Secret volume update (atomic symlink swap)
		}
		return names[filepath.Clean(dir)][base]
	}

	timer := time.NewTimer(r.debounce)
	timer.Stop()
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("keyring: watch: watcher closed")
			}
			if relevant(ev) {
				timer.Reset(r.debounce)
				pending = timer.C
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("keyring: watch: watcher closed")
			}
			r.log.Warn("keyring: file watch error; reloading to be safe", "error", err)
			timer.Reset(r.debounce)
			pending = timer.C
		case <-pending:
			pending = nil
			_ = r.Reload() // logged, and recorded in Status
		}
	}
}
