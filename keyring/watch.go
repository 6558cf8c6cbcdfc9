package keyring

import (
	"context"
	"fmt"

	"github.com/tokengate/tokengate/internal/watchfile"
)

// Watch reloads the ring when one of its file sources changes, until ctx is
// done; it then returns nil. It returns an error only if the watch cannot
// be set up or the watcher dies.
//
// It watches the parent directory of each file (internal/watchfile), so
// editors' renames and Kubernetes ConfigMap and Secret "..data" symlink
// swaps are seen; a burst of events becomes one Reload once
// Config.Debounce has passed without a new one. A reload that fails keeps
// the previous keys and is logged (and reported in Status); the watch goes
// on, so fixing the file recovers.
func (r *Ring) Watch(ctx context.Context) error {
	var paths []string
	for _, s := range r.sources {
		if s.Path != "" {
			paths = append(paths, s.Path)
		}
	}
	w, err := watchfile.New(paths, r.debounce)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer w.Close()
	if w.Dirs() > 0 {
		r.log.Debug("keyring: watching key files", "directories", w.Dirs())
		// Catch changes made between New and the watch being in place. The
		// error is logged and in Status; Reload keeps the last good keys.
		_ = r.Reload()
	}
	err = w.Run(ctx,
		func() { _ = r.Reload() }, // logged, and recorded in Status
		func(err error) { r.log.Warn("keyring: file watch error; reloading to be safe", "error", err) })
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}
