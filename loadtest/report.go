package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the result of one run. Latencies are in microseconds. It is a
// plain value: JSON round-trips it.
type Report struct {
	Tool        string       `json:"tool"`
	Config      ReportConfig `json:"config"`
	Workload    WorkloadInfo `json:"workload"`
	Environment Environment  `json:"environment"`
	Started     time.Time    `json:"started"`
	// ElapsedSeconds runs from the first send to the last answer.
	ElapsedSeconds float64 `json:"elapsed_s"`
	// Warmup counts the requests of the warm-up (Config.Warmup), which are
	// in no other figure.
	Warmup int64 `json:"warmup_requests,omitempty"`
	// Sent counts requests sent; Completed those answered with a status.
	Sent      int64 `json:"sent"`
	Completed int64 `json:"completed"`
	// Scheduled and Unsent (open loop): requests on the schedule, and
	// those never sent because the run hit its end (duration + timeout)
	// or was cancelled first.
	Scheduled int64 `json:"scheduled,omitempty"`
	Unsent    int64 `json:"unsent,omitempty"`
	// Throughput is Completed per elapsed second.
	Throughput float64 `json:"throughput_rps"`
	// GeneratorCPU is the CPU time this process (the generator, and a
	// target it started itself) used during the load, from /proc (0 where
	// there is none): a generator close to one core per elapsed second
	// per core it may use is the bottleneck, not the target.
	GeneratorCPU float64 `json:"generator_cpu_s,omitempty"`
	// Status counts answers by status code; Expected counts requests by
	// the status a correct target gives them (errors included).
	Status   map[string]int64 `json:"status"`
	Expected map[string]int64 `json:"expected_status"`
	// WrongAnswers counts answers whose status differs from the expected one.
	WrongAnswers int64       `json:"wrong_answers"`
	Errors       ErrorCounts `json:"errors"`
	// Latency: open loop from each request's intended send time (queueing
	// included), closed loop from the send. Errors are included.
	Latency Percentiles `json:"latency_us"`
	// ServiceTime (open loop only) is measured from the actual send: the
	// difference to Latency is time spent waiting for a free worker.
	ServiceTime *Percentiles `json:"service_time_us,omitempty"`
}

// ReportConfig is the run's configuration as reported.
type ReportConfig struct {
	Target      string  `json:"target"`
	URL         string  `json:"url"`
	Mode        string  `json:"mode"`
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate,omitempty"`
	Duration    string  `json:"duration"`
	Requests    int64   `json:"requests,omitempty"`
	Timeout     string  `json:"timeout"`
	Tokens      int     `json:"tokens"`
	TokenFile   string  `json:"token_file,omitempty"`
	Rows        int     `json:"rows,omitempty"`
	Algs        string  `json:"algs"`
	Invalid     float64 `json:"invalid"`
	Expired     float64 `json:"expired"`
}

// WorkloadInfo describes the credentials actually minted.
type WorkloadInfo struct {
	Credential string         `json:"credential"` // "bearer token" or "session cookie"
	Distinct   int            `json:"distinct"`
	Kinds      map[string]int `json:"kinds"`
	Algs       map[string]int `json:"algs,omitempty"`
}

// Environment is where the run happened (generator and target share it).
type Environment struct {
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// LoadAvg is /proc/loadavg when the run started (Linux): other work on
	// the host skews every number.
	LoadAvg string `json:"load_avg,omitempty"`
}

// ErrorCounts counts requests that got no HTTP answer.
type ErrorCounts struct {
	Total      int64  `json:"total"`
	Timeouts   int64  `json:"timeouts"`
	Connection int64  `json:"connection"`
	Other      int64  `json:"other"`
	Sample     string `json:"sample,omitempty"` // the first error's message
}

// Percentiles of a latency distribution, in microseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

func reportConfig(c Config, url string) ReportConfig {
	rc := ReportConfig{
		Target: string(c.Target), URL: url, Mode: string(c.Mode), Connections: c.Connections,
		Duration: c.Duration.String(), Requests: c.Requests, Timeout: c.Timeout.String(),
		Tokens: c.Tokens, TokenFile: c.TokenFile, Algs: FormatAlgMix(c.Algs), Invalid: c.Invalid, Expired: c.Expired,
	}
	if c.sessions() {
		rc.Rows = c.Rows
	}
	if c.Target == "" {
		rc.Target = "url"
	}
	if c.Mode == Open {
		rc.Rate = c.Rate
	}
	return rc
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadJSON decodes a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("loadtest: report: %w", err)
	}
	return &r, nil
}

// WriteMarkdownTable writes one summary table with a row per report, for
// comparing targets side by side.
func WriteMarkdownTable(w io.Writer, reports ...*Report) error {
	var b strings.Builder
	b.WriteString("| target | mode | conns | requests | rps | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | errors | wrong answers |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range reports {
		mode := r.Config.Mode
		if r.Config.Rate > 0 {
			mode += fmt.Sprintf(" @%g/s", r.Config.Rate)
		}
		l := r.Latency
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %d |\n",
			r.Config.Target, mode, r.Config.Connections, r.Sent, r.Throughput,
			l.P50, l.P90, l.P99, l.P999, l.Max, r.Errors.Total, r.WrongAnswers)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes a human-readable report: the summary table, the
// configuration, and the counts by status.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "# tokengate loadtest: %s\n\n", c.Target)
	if err := WriteMarkdownTable(&b, r); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\n- target: `%s` at %s\n", c.Target, c.URL)
	switch c.Mode {
	case string(Open):
		fmt.Fprintf(&b, "- mode: open loop at %g requests/s for %s, %d workers; latency from each request's intended send time\n", c.Rate, c.Duration, c.Connections)
	default:
		fmt.Fprintf(&b, "- mode: closed loop, %d connections, %s\n", c.Connections, c.Duration)
	}
	if c.Requests > 0 {
		fmt.Fprintf(&b, "- request limit: %d\n", c.Requests)
	}
	wl := r.Workload
	fmt.Fprintf(&b, "- credentials: %d distinct %ss (%s)", wl.Distinct, wl.Credential, kindList(wl.Kinds))
	if len(wl.Algs) > 0 {
		fmt.Fprintf(&b, ", algorithms %s", kindList(wl.Algs))
	}
	b.WriteString("\n")
	e := r.Environment
	fmt.Fprintf(&b, "- environment: %s %s/%s, %d CPUs (GOMAXPROCS %d), generator and target on the same host over loopback", e.GoVersion, e.OS, e.Arch, e.NumCPU, e.GOMAXPROCS)
	if e.LoadAvg != "" {
		fmt.Fprintf(&b, "; load average at start %s", e.LoadAvg)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- started %s, elapsed %.2f s, sent %d, answered %d, throughput %.0f requests/s\n",
		r.Started.Format(time.RFC3339), r.ElapsedSeconds, r.Sent, r.Completed, r.Throughput)
	if r.Scheduled > 0 {
		fmt.Fprintf(&b, "- scheduled %d, never sent %d\n", r.Scheduled, r.Unsent)
	}
	if st := r.ServiceTime; st != nil {
		fmt.Fprintf(&b, "- service time (from the actual send): p50 %.1f µs, p99 %.1f µs, max %.1f µs\n", st.P50, st.P99, st.Max)
	}
	b.WriteString("\n| status | answers | expected |\n|--:|--:|--:|\n")
	seen := map[string]bool{}
	for _, s := range append(sortedKeys(r.Status), sortedKeys(r.Expected)...) {
		if seen[s] {
			continue
		}
		seen[s] = true
		fmt.Fprintf(&b, "| %s | %d | %d |\n", s, r.Status[s], r.Expected[s])
	}
	fmt.Fprintf(&b, "\nWrong answers (status differs from the expected one): %d", r.WrongAnswers)
	if c.Target == string(TargetNoop) {
		b.WriteString(" (the noop target answers 200 to everything: it is the HTTP floor, not a check)")
	}
	b.WriteString(".  \n")
	fmt.Fprintf(&b, "Errors: %d (timeouts %d, connection %d, other %d)", r.Errors.Total, r.Errors.Timeouts, r.Errors.Connection, r.Errors.Other)
	if r.Errors.Sample != "" {
		fmt.Fprintf(&b, "; first: `%s`", r.Errors.Sample)
	}
	b.WriteString(".\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func kindList(m map[string]int) string {
	var s []string
	for _, k := range sortedKeys(m) {
		s = append(s, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(s, ", ")
}
