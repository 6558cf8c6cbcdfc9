package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/proccpu"
)

// runMeta is bench/testdata/run.json: what ran, where and when.
type runMeta struct {
	Plan        string        `json:"plan"`
	Preliminary string        `json:"preliminary,omitempty"` // why the run is not final ("" when it is)
	Command     string        `json:"command"`
	Started     time.Time     `json:"started"`
	Finished    time.Time     `json:"finished,omitzero"`
	Machine     machine       `json:"machine"`
	Phases      []phaseRecord `json:"phases"`
}

type machine struct {
	CPU        string  `json:"cpu"`
	Cores      int     `json:"cores"`
	MemoryGiB  float64 `json:"memory_gib"`
	Kernel     string  `json:"kernel"`
	Go         string  `json:"go"`
	Redis      string  `json:"redis"`
	PostgreSQL string  `json:"postgresql"`
}

type phaseRecord struct {
	Name        string    `json:"name"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"`
	LoadBefore  string    `json:"load_before"` // /proc/loadavg: 1, 5, 15 minutes
	LoadAfter   string    `json:"load_after"`
	Done        bool      `json:"done"`
	startedMono time.Time
}

const metaFile = "run.json"

// startRun begins run.json, keeping the phases of an interrupted run
// when resuming.
func startRun(o options, p plan) (*runMeta, error) {
	m := &runMeta{Plan: p.name, Preliminary: o.preliminary, Command: strings.Join(append([]string{"go run ./cmd/benchrun"}, os.Args[1:]...), " "), Started: time.Now().UTC().Truncate(time.Second), Machine: thisMachine()}
	if o.resume || len(o.only) > 0 {
		if old, err := loadMeta(o.out); err == nil {
			if old.Plan != p.name {
				return nil, fmt.Errorf("%s holds a %s run, not %s: resume it with the same form", o.out, old.Plan, p.name)
			}
			m.Phases, m.Started = old.Phases, old.Started
		}
	}
	return m, nil
}

func loadMeta(dir string) (*runMeta, error) {
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	var m runMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", metaFile, err)
	}
	return &m, nil
}

func (m *runMeta) done(name string) bool {
	for _, ph := range m.Phases {
		if ph.Name == name && ph.Done {
			return true
		}
	}
	return false
}

func (m *runMeta) begin(name string) *phaseRecord {
	for i := range m.Phases {
		if m.Phases[i].Name == name {
			m.Phases = append(m.Phases[:i], m.Phases[i+1:]...)
			break
		}
	}
	return &phaseRecord{Name: name, Started: time.Now().UTC().Truncate(time.Second), LoadBefore: proccpu.LoadAvg(), startedMono: time.Now()}
}

func (m *runMeta) end(r *phaseRecord) {
	r.Seconds = time.Since(r.startedMono).Round(time.Second).Seconds()
	r.LoadAfter, r.Done = proccpu.LoadAvg(), true
	m.Phases = append(m.Phases, *r)
}

func (m *runMeta) finish() { m.Finished = time.Now().UTC().Truncate(time.Second) }

func (m *runMeta) save(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, metaFile), append(b, '\n'), 0o644)
}

func (m *runMeta) phase(name string) (phaseRecord, bool) {
	for _, ph := range m.Phases {
		if ph.Name == name {
			return ph, true
		}
	}
	return phaseRecord{}, false
}

func thisMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.MemoryGiB = float64(int(kb/(1<<20)*10+0.5)) / 10
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

var errNoData = errors.New("no data")
