package keyring_test

import (
	"bytes"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

func TestRingReconfigure(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.secret", bytes.Repeat([]byte("a"), 32))
	b := writeFile(t, dir, "b.secret", bytes.Repeat([]byte("b"), 32))
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: a, Secret: true, Alg: keyring.HS256, ID: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	gen := r.Snapshot().Generation()

	// An invalid new list keeps everything as it was.
	if err := r.Reconfigure([]keyring.Source{{Path: b, Secret: true, ID: "b"}}); err == nil {
		t.Fatal("secret without alg accepted")
	}
	if err := r.Reconfigure([]keyring.Source{{Path: dir + "/missing", Secret: true, Alg: keyring.HS256, ID: "b"}}); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, ok := r.Snapshot().Find(nil, []byte("a"), keyring.HS256); !ok || r.Snapshot().Generation() != gen {
		t.Fatal("failed reconfiguration changed the keys")
	}
	if err := r.Reload(); err != nil {
		t.Fatalf("old sources not restored: %v", err)
	}

	// Same file, other options: a new generation with the new binding.
	if err := r.Reconfigure([]keyring.Source{{Path: a, Secret: true, Alg: keyring.HS256, ID: "a", Client: "batch"}, {Path: b, Secret: true, Alg: keyring.HS256, ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	snap := r.Snapshot()
	if snap.Generation() <= gen {
		t.Fatalf("generation %d did not advance past %d", snap.Generation(), gen)
	}
	k, ok := snap.Find(nil, []byte("a"), keyring.HS256)
	if !ok || k.Client() != "batch" {
		t.Fatal("new options not applied")
	}
	if _, ok := snap.Find(nil, []byte("b"), keyring.HS256); !ok {
		t.Fatal("new source not loaded")
	}
}
