package gate

import "testing"

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means denied
	}{
		{"/", "/"},
		{"/admin", "/admin"},
		{"/admin/", "/admin"},
		{"/admin?x=1", "/admin"},
		{"/admin#frag", ""}, // a raw fragment is refused
		{"/admin?x=/../public", "/admin"},
		{"//admin///users", "/admin/users"},
		{"/public/../admin", "/admin"},
		{"/public/./../admin/./x", "/admin/x"},
		{"/%61dmin", "/admin"},
		{"/%2e%2e/admin", ""},
		{"/public/%2E%2E/admin", "/admin"},
		{"/a/%7e/%41", "/a/~/A"},
		{"/a/%3f", ""}, // a decoded '?' would start a query
		{"/a/%23", ""}, // a decoded '#' would start a fragment
		{"/a/b.", ""},  // IIS drops trailing dots
		{"/a/b%20", ""},
		{"/a/b.c", "/a/b.c"},
		{"/a/%c0%ae", ""}, // overlong '.'
		{"/a/%c3%a9", "/a/%C3%A9"},
		{"/%EF%BD%81", ""}, // full-width a
		{"/a%2Fb", ""},
		{"/a%2fb", ""},
		{"/a%5Cb", ""},
		{"/a%zz", ""},
		{"/a%4", ""},
		{"/a%", ""},
		{"/..", ""},
		{"/a/../..", ""},
		{"admin", ""},
		{"", ""},
		{"http://host/admin", ""},
		{"/a b", ""},
		{"/a\x00b", ""},
	}
	for _, tc := range tests {
		got, ok := normalizePath(nil, []byte(tc.in), true)
		if tc.want == "" {
			if ok {
				t.Errorf("normalizePath(%q) = %q, want denied", tc.in, got)
			}
			continue
		}
		if !ok || string(got) != tc.want {
			t.Errorf("normalizePath(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestMatchPrefix(t *testing.T) {
	for _, tc := range []struct {
		path, prefix string
		want         bool
	}{
		{"/admin", "/admin", true},
		{"/admin/x", "/admin", true},
		{"/administrator", "/admin", false},
		{"/x", "/", true},
		{"/ad", "/admin", false},
	} {
		if got := matchPrefix([]byte(tc.path), tc.prefix); got != tc.want {
			t.Errorf("matchPrefix(%q, %q) = %v", tc.path, tc.prefix, got)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "//a//b/", "/a?b#c", "/a%2Fb", "/%41%42"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, ok := normalizePath(nil, in, true)
		if !ok {
			return
		}
		// Normalising is idempotent and the result is clean.
		again, ok2 := normalizePath(nil, out, true)
		if !ok2 || string(again) != string(out) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", in, out, again, ok2)
		}
		if out[0] != '/' {
			t.Fatalf("%q -> %q", in, out)
		}
		for i := 0; i+1 < len(out); i++ {
			if out[i] == '/' && out[i+1] == '/' {
				t.Fatalf("%q -> %q has //", in, out)
			}
		}
	})
}
