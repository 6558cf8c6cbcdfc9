package revocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// Kind tells the two rules apart.
type Kind uint8

const (
	// KindJTI denies the single token with a "jti".
	KindJTI Kind = iota + 1
	// KindSubject denies every token of a "sub" issued before a time.
	KindSubject
)

func (k Kind) String() string {
	switch k {
	case KindJTI:
		return "jti"
	case KindSubject:
		return "subject"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MaxValueLen bounds the length of a jti, subject or issuer in a rule, in
// bytes: longer values are not identifiers but abuse.
const MaxValueLen = 1024

// Entry is one revocation rule.
type Entry struct {
	Kind Kind
	// JTI is the revoked token's "jti" (KindJTI).
	JTI string
	// Subject is the "sub" whose earlier tokens are void (KindSubject).
	Subject string
	// Issuer, when set, limits the rule to tokens with this "iss".
	Issuer string
	// Before is the cutoff of a KindSubject rule: tokens with "iat" before
	// it are revoked.
	Before time.Time
	// Expires is the "exp" of the last token the rule matches: for a jti,
	// the token's own "exp"; for a subject, Before plus the longest token
	// lifetime. Zero means "the default", which the Store fills in from
	// Options: Before + MaxTokenLifetime for a subject, and for a jti the
	// latest "exp" of a token that verifies when the rule is added (now +
	// Leeway + MaxTokenLifetime). The verifier accepts a token until its
	// exp plus its leeway, so the Store forgets the rule only at Expires +
	// Options.Leeway.
	Expires time.Time
	// Reason is free text for operators; it is never sent to clients.
	Reason string
	// Source says where the rule came from: "file", "api" or "redis".
	Source string
}

// Key identifies a rule: adding a rule with the same key replaces the
// earlier one (keeping the stronger of the two), and Remove takes a Key.
type Key struct {
	Kind   Kind
	Value  string // the jti or the subject
	Issuer string
}

// Key returns the identity of e.
func (e Entry) Key() Key {
	if e.Kind == KindSubject {
		return Key{Kind: KindSubject, Value: e.Subject, Issuer: e.Issuer}
	}
	return Key{Kind: e.Kind, Value: e.JTI, Issuer: e.Issuer}
}

// String names a rule for logs and errors: kind, issuer and value only.
func (k Key) String() string {
	s := k.Kind.String() + " " + strconv.Quote(k.Value)
	if k.Issuer != "" {
		s += " of issuer " + strconv.Quote(k.Issuer)
	}
	return s
}

// Validate reports what is wrong with e, naming the field.
func (e Entry) Validate() error {
	switch e.Kind {
	case KindJTI:
		if e.JTI == "" {
			return errors.New("jti: empty")
		}
		if e.Subject != "" {
			return errors.New("sub: a rule has either jti or sub, not both")
		}
		if !e.Before.IsZero() {
			return errors.New("before: applies to subject rules only")
		}
	case KindSubject:
		if e.Subject == "" {
			return errors.New("sub: empty")
		}
		if e.JTI != "" {
			return errors.New("jti: a rule has either jti or sub, not both")
		}
		if e.Before.IsZero() {
			return errors.New("before: missing")
		}
	default:
		return errors.New("a rule needs a jti or a sub")
	}
	for _, f := range [...]struct{ name, v string }{{"jti", e.JTI}, {"sub", e.Subject}, {"iss", e.Issuer}, {"reason", e.Reason}} {
		if len(f.v) > MaxValueLen {
			return fmt.Errorf("%s: longer than %d bytes", f.name, MaxValueLen)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s: not valid UTF-8", f.name)
		}
	}
	return nil
}

// wireEntry is the JSON form of a rule: in revocation files, admin API
// bodies and answers, and Redis values.
//
//	{"jti": "…", "iss": "…", "exp": 1767225600, "reason": "…"}
//	{"sub": "…", "iss": "…", "before": "2026-11-23T08:00:00Z", "reason": "…"}
//
// Times are NumericDate seconds (RFC 7519 §2) or RFC 3339 strings.
type wireEntry struct {
	JTI     string `json:"jti,omitempty"`
	Subject string `json:"sub,omitempty"`
	Issuer  string `json:"iss,omitempty"`
	Before  *int64 `json:"before,omitempty"`
	Expires *int64 `json:"exp,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Source  string `json:"source,omitempty"`
}

// MarshalJSON writes the wire form, times as NumericDate seconds (a
// sub-second cutoff is rounded up, so no token of its second escapes).
func (e Entry) MarshalJSON() ([]byte, error) {
	w := wireEntry{JTI: e.JTI, Subject: e.Subject, Issuer: e.Issuer, Reason: e.Reason, Source: e.Source}
	if !e.Before.IsZero() {
		b := ceilSeconds(e.Before)
		w.Before = &b
	}
	if !e.Expires.IsZero() {
		x := ceilSeconds(e.Expires)
		w.Expires = &x
	}
	return json.Marshal(w)
}

func ceilSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() != 0 {
		s++
	}
	return s
}

// ParseOptions are the defaults applied while parsing rules.
type ParseOptions struct {
	// Now fills in a subject rule without "before" (the admin API's "from
	// now on"); zero makes "before" required.
	Now time.Time
}

var jsonLimits = jsonx.Limits{MaxDepth: 4, MaxNodes: 1 << 22, MaxMembers: 1 << 21}

// ParseEntry parses one rule in its JSON wire form. Member names are exact
// and case-sensitive; unknown members and duplicates are errors.
func ParseEntry(data []byte, o ParseOptions) (Entry, error) {
	var d jsonx.Doc
	if err := d.Parse(data, jsonLimits); err != nil {
		return Entry{}, fmt.Errorf("not a JSON object: %w", err)
	}
	return entryFromJSON(d.Root(), o)
}

// ParseFile parses a revocation file: a JSON object {"revocations": [rule,
// …]} or a bare array of rules. Every bad rule is reported with its index;
// nothing is returned unless all are good.
func ParseFile(data []byte) ([]Entry, error) {
	var d jsonx.Doc
	if err := d.Parse(bytes.TrimSpace(data), jsonLimits); err != nil {
		return nil, fmt.Errorf("revocation file is not JSON: %w", err)
	}
	list := d.Root()
	if list.Kind() == jsonx.Object {
		for m := list.First(); m.Exists(); m = m.Next() {
			if string(m.Name()) != "revocations" {
				return nil, fmt.Errorf("revocation file: unknown member %q (want \"revocations\")", clip(m.Name()))
			}
		}
		list = list.Get("revocations")
	}
	if list.Kind() != jsonx.Array {
		return nil, errors.New(`revocation file: want {"revocations": [...]} or an array of rules`)
	}
	var (
		out  []Entry
		errs []error
	)
	i := 0
	for v := list.First(); v.Exists(); v = v.Next() {
		e, err := entryFromJSON(v, ParseOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("revocations[%d]: %w", i, err))
		} else {
			e.Source = "file"
			out = append(out, e)
		}
		i++
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func entryFromJSON(v jsonx.Value, o ParseOptions) (Entry, error) {
	if v.Kind() != jsonx.Object {
		return Entry{}, errors.New("a rule is a JSON object")
	}
	var e Entry
	for m := v.First(); m.Exists(); m = m.Next() {
		name := string(m.Name())
		var err error
		switch name {
		case "jti":
			e.JTI, err = str(m)
		case "sub":
			e.Subject, err = str(m)
		case "iss":
			e.Issuer, err = str(m)
		case "reason":
			e.Reason, err = str(m)
		case "source":
			e.Source, err = str(m)
		case "before":
			e.Before, err = timeValue(m)
		case "exp":
			e.Expires, err = timeValue(m)
		default:
			err = errors.New("unknown member")
		}
		if err != nil {
			return Entry{}, fmt.Errorf("%s: %w", clip(m.Name()), err)
		}
	}
	switch {
	case e.JTI != "":
		e.Kind = KindJTI
	case e.Subject != "":
		e.Kind = KindSubject
		if e.Before.IsZero() && !o.Now.IsZero() {
			e.Before = o.Now
		}
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func str(v jsonx.Value) (string, error) {
	if v.Kind() != jsonx.String {
		return "", errors.New("want a string")
	}
	return string(v.Str()), nil
}

// timeValue reads a NumericDate (seconds, possibly fractional) or an RFC
// 3339 string. Values outside years 1970..9999 are errors, never clamped.
func timeValue(v jsonx.Value) (time.Time, error) {
	switch v.Kind() {
	case jsonx.Number:
		f, ok := v.Float()
		if !ok || f < 0 || f > maxSeconds || math.IsNaN(f) {
			return time.Time{}, errors.New("NumericDate out of range")
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	case jsonx.String:
		t, err := time.Parse(time.RFC3339Nano, string(v.Str()))
		if err != nil {
			return time.Time{}, errors.New("want RFC 3339 time or NumericDate seconds")
		}
		if t.Unix() < 0 || t.Unix() > maxSeconds {
			return time.Time{}, errors.New("time out of range")
		}
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("want a NumericDate number or an RFC 3339 string")
}

// maxSeconds is 9999-12-31T23:59:59Z.
const maxSeconds = 253402300799

func clip(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	q := strconv.QuoteToASCII(string(b))
	return q[1 : len(q)-1]
}
