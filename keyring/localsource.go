package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// localSource is a Source read from a file, an environment variable or the
// configuration itself: read and parsed again at every reload.
type localSource struct {
	cfg  Source
	name string
}

func (l *localSource) stop() {}

func (l *localSource) current() ([]*Key, []Skipped, error) {
	b, err := readSource(l.cfg)
	if err != nil {
		return nil, nil, &KeyError{Source: l.name, Index: -1, Err: err}
	}
	defer clear(b) // secrets among them: leave no copies around
	return l.parse(b)
}

func (l *localSource) parse(data []byte) ([]*Key, []Skipped, error) {
	s := l.cfg
	o := Options{ID: s.ID, Alg: s.Alg, Issuer: s.Issuer, Client: s.Client, Source: l.name}
	var (
		keys    []*Key
		skipped []Skipped
		err     error
	)
	if s.Secret {
		var k *Key
		k, err = ParseSecret(data, s.Encoding, o)
		keys = []*Key{k}
	} else {
		keys, skipped, err = ParseKeysReport(data, o)
	}
	if err != nil {
		return nil, skipped, err
	}
	if len(s.Algs) > 0 {
		var errs []error
		for _, k := range keys {
			if !algAllowed(s.Algs, k.Alg()) {
				errs = append(errs, &KeyError{Source: o.Source, Index: -1, KID: k.ID(),
					Err: errf(ErrAlgNotAllowed, "alg %s is not in the allow-list %v", k.Alg(), s.Algs)})
			}
		}
		if len(errs) > 0 {
			return nil, skipped, errors.Join(errs...)
		}
	}
	return keys, skipped, nil
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
