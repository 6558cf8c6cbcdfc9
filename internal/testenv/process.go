package testenv

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreeAddr returns a loopback address whose port was free a moment ago.
// Whatever listens there later must be checked to be the process the test
// started (it answers, and it has not exited).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SyncBuffer is a bytes.Buffer that a process may write while a test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Process is a server subprocess in a process group of its own, its stdout
// and stderr captured in Output.
type Process struct {
	Name   string
	Output *SyncBuffer
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	once   sync.Once
}

// StartProcess starts bin with args and env (nil: this process's
// environment) and stops it when the test ends; the output is logged if the
// test failed.
func StartProcess(t testing.TB, name string, env []string, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: name, Output: &SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	if env != nil {
		p.cmd.Env = env
	}
	p.cmd.Stdout, p.cmd.Stderr = p.Output, p.Output
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output)
		}
	})
	return p
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Err is the process's exit error; read it only after Exited is closed.
func (p *Process) Err() error { return p.err }

// WaitHTTP polls url with client until it answers 200 OK and fails the
// test if the process exits first or within passes.
func (p *Process) WaitHTTP(t testing.TB, client *http.Client, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if r, err := client.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before %s answered 200: %v (its output follows)", p.Name, url, p.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer 200 within %s (its output follows)", p.Name, url, within)
		}
	}
}

// Stop sends SIGTERM and waits up to 10s for the process to exit, then
// kills its whole process group. It may be called more than once.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	p.once.Do(func() {
		pid := p.cmd.Process.Pid
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10s of SIGTERM; killing its process group", p.Name)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s (pid %d) survived SIGKILL", p.Name, pid)
		}
	})
}

// Environ returns this process's environment without the variables for
// which drop reports true, followed by extra ("NAME=value" each).
func Environ(drop func(name string) bool, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !drop(name) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
