package revocation

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchFile loads path now and again whenever it changes, until ctx is
// done. Like the key watch it watches the parent directory (editors rename
// over the file; Kubernetes ConfigMap volumes swap a "..data" symlink) and
// debounces bursts of events into one load. A load that fails keeps the
// previous file rules; fixing the file recovers. The first load's error is
// returned (the watch does not start), so a broken file fails start-up.
func (s *Store) WatchFile(ctx context.Context, path string, debounce time.Duration, ready chan<- struct{}) error {
	if debounce <= 0 {
		debounce = 100 * time.Millisecond
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("revocation: watch %s: %w", path, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("revocation: watch: %w", err)
	}
	defer w.Close()
	dir, base := filepath.Split(abs)
	if err := w.Add(filepath.Clean(dir)); err != nil {
		return fmt.Errorf("revocation: watch %s: %w", dir, err)
	}
	if err := s.LoadFile(path); err != nil {
		return err
	}
	if ready != nil {
		close(ready)
	}
	timer := time.NewTimer(debounce)
	timer.Stop()
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("revocation: watch: watcher closed")
			}
			_, b := filepath.Split(ev.Name)
			if ev.Op != fsnotify.Chmod && (b == base || b == "..data") {
				timer.Reset(debounce)
				pending = timer.C
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("revocation: watch: watcher closed")
			}
			s.log.Warn("revocation: file watch error; reloading to be safe", "error", err)
			timer.Reset(debounce)
			pending = timer.C
		case <-pending:
			pending = nil
			_ = s.LoadFile(path) // logged and in FileStatus
		}
	}
}
