// Package proccpu reads the CPU time of processes from /proc (Linux): the
// measurement tools use it to charge a server, a load generator or a store
// (redis-server, postgres) with the CPU it spent, which wall-clock
// throughput hides. On systems without /proc every call returns an error.
package proccpu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux ABI Go supports.
const clockTick = 10 * time.Millisecond

// ErrNoProc is returned where /proc cannot be read.
var ErrNoProc = errors.New("proccpu: /proc is not available")

// Of returns the CPU time (user + system, all threads) process pid has used
// so far, with the 10 ms resolution of /proc/PID/stat.
func Of(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat("/proc/self/stat"); serr != nil {
				return 0, ErrNoProc
			}
		}
		return 0, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15, proc(5)) from a
// /proc/PID/stat line. The command name (field 2) is in parentheses and may
// hold spaces and parentheses, so fields are counted after its last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("proccpu: malformed stat line")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, errors.New("proccpu: short stat line")
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proccpu: stat line: %w", err)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// ByName returns the pids of the processes whose command name
// (/proc/PID/comm) is one of names, e.g. "redis-server" or "postgres".
func ByName(names ...string) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, ErrNoProc
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue // gone since ReadDir
		}
		c := string(bytes.TrimSpace(comm))
		for _, n := range names {
			if c == n {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

// Group is the summed CPU time of every process with one of a set of
// command names. Processes that start or exit between two readings
// (PostgreSQL forks a backend per connection) are counted from when they
// are first seen; exited ones keep their last reading, so a Group's total
// never goes backwards.
type Group struct {
	names []string
	last  map[int]time.Duration
}

// NewGroup returns a Group of the processes called names.
func NewGroup(names ...string) *Group { return &Group{names: names, last: map[int]time.Duration{}} }

// Total reads every matching process and returns the group's CPU time
// so far. Only differences between two Totals mean anything.
func (g *Group) Total() (time.Duration, error) {
	pids, err := ByName(g.names...)
	if err != nil {
		return 0, err
	}
	for _, pid := range pids {
		if d, err := Of(pid); err == nil {
			g.last[pid] = d
		}
	}
	var sum time.Duration
	for _, d := range g.last {
		sum += d
	}
	return sum, nil
}

// LoadAvg is the 1, 5 and 15 minute load averages from /proc/loadavg
// ("0.52 0.58 0.59"), or "" where there are none: other work on the host
// skews every measurement, so tools record it next to their results.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Self is the CPU time of the calling process.
func Self() (time.Duration, error) { return Of(os.Getpid()) }
