package cache_test

// result stands in for the verifier's result: a pointer to immutable claims.
type result struct {
	Subject string
	Scopes  []string
}

func resultSize(r *result) int {
	if r == nil {
		return 0
	}
	n := 40 + len(r.Subject) + 16*len(r.Scopes) // struct + strings
	for _, s := range r.Scopes {
		n += len(s)
	}
	return n
}
