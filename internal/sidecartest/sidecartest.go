// Package sidecartest builds a gate and the fasthttp sidecar over it for
// tests that start the sidecar from keyring and revocation objects rather
// than from a configuration file (which build.New covers). It wires them
// as serve does: one metrics registry is the gate's observer and the
// sidecar's /metrics.
package sidecartest

import (
	"testing"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

// New builds the gate from gcfg, vo and gopts and the sidecar from scfg
// and sopts. Keys and Revocations given on one side are used for the
// other too; the gate is closed when t ends.
func New(t testing.TB, gcfg gate.Config, scfg sidecar.Config, vo verifier.Options, gopts gate.Options, sopts sidecar.Options) *sidecar.Server {
	t.Helper()
	if gopts.Keys == nil && sopts.Keys != nil {
		gopts.Keys = sopts.Keys
	}
	if sopts.Keys == nil {
		k, ok := gopts.Keys.(sidecar.Keys)
		if !ok {
			t.Fatal("sidecartest: the key set must be a keyring with Status (sidecar.Keys)")
		}
		sopts.Keys = k
	}
	if gopts.Revocations == nil && sopts.Revocations != nil {
		gopts.Revocations = sopts.Revocations
	}
	if gopts.Now == nil {
		gopts.Now = sopts.Now
	}
	if sopts.Now == nil {
		sopts.Now = gopts.Now
	}
	reg := metrics.New(metrics.Options{Keys: sopts.Keys, Revocations: sopts.Revocations, RevocationSync: sopts.RevocationSync})
	gopts.Observer = reg
	g, err := gate.New(gcfg, vo, gopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	reg.AttachGate(g)
	sopts.Gate, sopts.Metrics = g, reg
	srv, err := sidecar.New(scfg, sopts)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}
