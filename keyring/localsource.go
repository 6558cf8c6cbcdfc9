package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// DefaultMissingFileGrace is how long a reload waits, by default, for a
// key file that has disappeared to come back before it removes the file's
// keys (Config.MissingFileGrace).
const DefaultMissingFileGrace = time.Second

// localSource is a Source read from a file, an environment variable or the
// configuration itself: read and parsed again at every reload.
//
// The rule for a document that holds some bad keys: its usable keys are
// applied and each refused key is reported; the source keeps its last good
// keys only when the document as a whole is unusable (unreadable, not a key
// document, a mix of secrets and public keys, or no usable key at all), so
// a key its owner removed stops verifying even when the new document has a
// key tokengate refuses.
//
// A file that is missing is waited for, for the ring's MissingFileGrace:
// editors and sync tools replace files by delete and create, and a volume
// swap must not drop keys. A file still missing after that is taken as
// deleted: its keys are removed (deleting a key file is how an operator
// takes its keys away) and the reload reports the missing file.
type localSource struct {
	cfg  Source
	name string
	ring *Ring
	last *keySet // last good keys; nil until the first successful load
}

func (l *localSource) stop() {}

func (l *localSource) current() sourceKeys {
	b, err := readSource(l.cfg)
	if errors.Is(err, fs.ErrNotExist) && l.cfg.Path != "" && l.last != nil && len(l.last.keys) > 0 {
		b, err = l.awaitFile()
		if errors.Is(err, fs.ErrNotExist) {
			l.last = &keySet{}
			return sourceKeys{err: &KeyError{Source: l.name, Index: -1,
				Err: fmt.Errorf("file still missing after %s: its keys were removed: %w", l.ring.missingGrace, err)}}
		}
	}
	if err != nil {
		return l.failed(&KeyError{Source: l.name, Index: -1, Err: err})
	}
	defer clear(b) // secrets among them: leave no copies around
	p := l.parse(b)
	if p.err != nil {
		return l.failed(p.err)
	}
	l.last = &p.keySet
	return sourceKeys{keys: p.keys, skipped: p.skipped, refused: p.refused}
}

// failed is the contribution of a source whose document is unusable: its
// last good keys, or a fatal error before it ever loaded.
func (l *localSource) failed(err error) sourceKeys {
	if l.last == nil {
		return sourceKeys{err: err, fatal: true}
	}
	return sourceKeys{keys: l.last.keys, err: err}
}

// awaitFile re-reads a missing file until it is back or MissingFileGrace
// has passed (or the ring is closed).
func (l *localSource) awaitFile() ([]byte, error) {
	if hook := l.ring.onMissing; hook != nil {
		hook(l.cfg.Path)
	}
	deadline := time.NewTimer(l.ring.missingGrace)
	defer deadline.Stop()
	tick := time.NewTicker(min(l.ring.missingGrace/10+time.Millisecond, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return readSource(l.cfg)
		case <-l.ring.ctx.Done():
			return readSource(l.cfg)
		case <-tick.C:
			if b, err := readSource(l.cfg); !errors.Is(err, fs.ErrNotExist) {
				return b, err
			}
		}
	}
}

// parse reads the source's document leniently (parseDocument) and applies
// the source's allow-list: a key with another alg is refused.
func (l *localSource) parse(data []byte) parsed {
	s := l.cfg
	o := Options{ID: s.ID, Alg: s.Alg, Issuer: s.Issuer, Client: s.Client, Source: l.name, algs: s.Algs}
	if s.Secret {
		k, err := ParseSecret(data, s.Encoding, o)
		if err != nil {
			return parsed{err: err}
		}
		return parsed{keySet: keySet{keys: []*Key{k}}}
	}
	p := parseDocument(data, o)
	if p.err != nil || len(s.Algs) == 0 {
		return p
	}
	allowed := p.keys[:0:0]
	for _, k := range p.keys {
		if algAllowed(s.Algs, k.Alg()) {
			allowed = append(allowed, k)
			continue
		}
		p.refused = append(p.refused, &KeyError{Source: o.Source, Index: -1, KID: k.ID(),
			Err: errf(ErrAlgNotAllowed, "alg %s is not in the allow-list %v", k.Alg(), s.Algs)})
	}
	p.keys = allowed
	if len(allowed) == 0 {
		p.err = noKeys(o, p.keySet, "no key with an alg in the allow-list %v", s.Algs)
	}
	return p
}

// readSource returns the bytes of a source, at most MaxDocumentSize.
func readSource(s Source) ([]byte, error) {
	switch {
	case s.Path != "":
		f, err := os.Open(s.Path)
		if err != nil {
			return nil, withoutPath(err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
		if err != nil {
			return nil, withoutPath(err)
		}
		if len(b) > MaxDocumentSize {
			return nil, errf(ErrTooLarge, "file is larger than %d bytes", MaxDocumentSize)
		}
		return b, nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return nil, errors.New("environment variable is not set")
		}
		return []byte(v), nil
	}
	return bytes.Clone(s.Inline), nil
}

// withoutPath drops the path from an *fs.PathError: the KeyError around it
// names the source already.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
