// Package suggest finds the name a user probably meant ("did you mean
// ES256?") among a fixed set of valid names: an algorithm given in the
// wrong case, a misspelt environment variable or command. It only ever
// proposes; callers still refuse the name they were given.
package suggest

import "strings"

// maxDistance is the largest edit distance still worth proposing: one or
// two typos. Beyond it, unrelated names start to look alike.
const maxDistance = 2

// Closest returns the candidate name most likely meant, and false when
// none is close enough or two are equally close. A candidate equal to name
// once case, "-" and "_" are ignored ("es256" for "ES256", "mldsa44" for
// "ML-DSA-44") wins outright; otherwise the one at the smallest edit
// distance (insertions, deletions, substitutions; at most two, and less
// than half of name) is chosen.
func Closest(name string, candidates []string) (string, bool) {
	norm := normalize(name)
	for _, c := range candidates {
		if normalize(c) == norm {
			return c, true
		}
	}
	best, bestD, tie := "", maxDistance+1, false
	for _, c := range candidates {
		d := distance(norm, normalize(c))
		switch {
		case d < bestD:
			best, bestD, tie = c, d, false
		case d == bestD:
			tie = true
		}
	}
	if best == "" || tie || 2*bestD >= len(norm) {
		return "", false
	}
	return best, true
}

func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
