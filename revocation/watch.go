package revocation

import (
	"context"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/watchfile"
)

// WatchFile loads path now and again whenever it changes, until ctx is
// done. Like the key watch it watches the parent directory
// (internal/watchfile: editors rename over the file; Kubernetes ConfigMap
// volumes swap a "..data" symlink) and debounces bursts of events into one
// load. A load that fails keeps the previous file rules; fixing the file
// recovers. The first load's error is returned (the watch does not start),
// so a broken file fails start-up.
func (s *Store) WatchFile(ctx context.Context, path string, debounce time.Duration, ready chan<- struct{}) error {
	w, err := watchfile.New([]string{path}, debounce)
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	defer w.Close()
	if err := s.LoadFile(path); err != nil {
		return err
	}
	if ready != nil {
		close(ready)
	}
	err = w.Run(ctx,
		func() { _ = s.LoadFile(path) }, // logged and in FileStatus
		func(err error) { s.log.Warn("revocation: file watch error; reloading to be safe", "error", err) })
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	return nil
}
