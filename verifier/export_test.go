package verifier

import "github.com/tokengate/tokengate/internal/jsonx"

// Parts exposes the walk of a parsed path to the tests.
func (p Path) Parts() []string { return p.parts }

// ResolveIn parses doc as a claims object (with the verifier's default
// claims limits) and resolves p in it: the value's JSON text and the
// number of places p names (0, 1 or 2).
func ResolveIn(doc []byte, p Path) (raw []byte, places int, ok bool) {
	var d jsonx.Doc
	if err := d.Parse(doc, jsonx.Limits{MaxDepth: 16, MaxNodes: 1024, MaxMembers: 256}); err != nil || d.Root().Kind() != jsonx.Object {
		return nil, 0, false
	}
	v, n := p.resolve(d.Root())
	return v.Raw(), n, true
}
