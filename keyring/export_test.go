package keyring

// SetMissingFileHook makes the ring call hook, from inside the reload,
// when a key file it held keys from has gone missing and the reload starts
// waiting for it to come back.
func SetMissingFileHook(r *Ring, hook func(path string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onMissing = hook
}
