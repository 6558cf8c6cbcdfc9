package gate

// WaitCache waits until the cache's pending writes are applied (ristretto
// writes asynchronously), for tests that need a token cached.
func (g *Gate) WaitCache() {
	if st := g.state.Load(); st.cache != nil {
		st.cache.Wait()
	}
}
