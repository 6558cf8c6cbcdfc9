package cache

// WithKeyToHash returns cfg with ristretto's key hashing replaced by h, so
// that tests can make different tokens collide.
func WithKeyToHash(cfg Config, h func(key []byte) (uint64, uint64)) Config {
	cfg.keyToHash = h
	return cfg
}
