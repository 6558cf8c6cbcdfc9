//go:build unix

package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokengate/tokengate/internal/testenv"
)

// TestPromtoolAcceptsMetricsAndRules: /metrics passes `promtool check
// metrics` with no finding (HELP and TYPE on every family, counters ending
// in _total, units in names), and the shipped alerting rules pass
// `promtool check rules`.
func TestPromtoolAcceptsMetricsAndRules(t *testing.T) {
	promtool := lookBinary(t, "promtool")
	g := newGate(t)
	traffic(t, g, 20)
	body := get(t, "http://"+g.adminAddr+"/metrics", "")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "rules", "prometheus/alerts.yaml").CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// TestPrometheusScrapesTokengate runs a real Prometheus against a running
// tokengate with the shipped alerting rules, sends traffic, and asks
// Prometheus's HTTP API what a dashboard and the alerts will ask: the
// target is up without scrape errors, the p99 latency and the per-result
// request rates have values, and every rule evaluates.
func TestPrometheusScrapesTokengate(t *testing.T) {
	bin := lookBinary(t, "prometheus")
	g := newGate(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	rules, err := filepath.Abs("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: tokengate
    static_configs:
      - targets: [%q]
`, rules, g.adminAddr))
	p := startProc(t, "prometheus", nil, nil, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
		"--log.level=warn")
	api := "http://" + listen
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err := http.Get(api + "/-/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready; its output:\n%s", p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var targets struct {
		Data struct {
			ActiveTargets []struct{ Health, LastError string }
		}
	}
	testenv.Eventually(t, 15*time.Second, "the target scraped", func() bool {
		return json.Unmarshal(get(t, api+"/api/v1/targets", ""), &targets) == nil &&
			len(targets.Data.ActiveTargets) == 1 && targets.Data.ActiveTargets[0].Health != "unknown"
	})
	if tg := targets.Data.ActiveTargets[0]; tg.Health != "up" || tg.LastError != "" {
		t.Errorf("target health %q, last error %q", tg.Health, tg.LastError)
	}
	// Traffic over several scrapes, so that rate() has two points.
	for range 6 {
		traffic(t, g, 10)
		time.Sleep(700 * time.Millisecond)
	}
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last answer: %s", last)
		}
	}()
	query := func(q string) []map[string]any {
		var res struct {
			Status string
			Data   struct{ Result []map[string]any }
		}
		testenv.Eventually(t, 15*time.Second, q, func() bool {
			b := get(t, api+"/api/v1/query?query="+url.QueryEscape(q), "")
			last = string(b)
			if err := json.Unmarshal(b, &res); err != nil || res.Status != "success" {
				return false
			}
			for _, r := range res.Data.Result {
				if v, _ := r["value"].([]any); len(v) == 2 && v[1] != "NaN" {
					return true
				}
			}
			return false
		})
		return res.Data.Result
	}
	query(`up{job="tokengate"} == 1`)
	query(`histogram_quantile(0.99, rate(tokengate_verify_duration_seconds_bucket[1m]))`)
	results := map[string]bool{}
	for _, r := range query(`sum by (result) (rate(tokengate_requests_total[1m])) > 0`) {
		m, _ := r["metric"].(map[string]any)
		results[fmt.Sprint(m["result"])] = true
	}
	for _, want := range []string{"ok", "unauthorized", "forbidden", "public"} {
		if !results[want] {
			t.Errorf("no rate for result=%q: %v", want, results)
		}
	}
	query(`tokengate_build_info == 1`)
	var rulesRes struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Health, LastError string }
			}
		}
	}
	testenv.Eventually(t, 15*time.Second, "every rule evaluated", func() bool {
		if err := json.Unmarshal(get(t, api+"/api/v1/rules", ""), &rulesRes); err != nil || len(rulesRes.Data.Groups) == 0 {
			return false
		}
		for _, r := range rulesRes.Data.Groups[0].Rules {
			if r.Health != "ok" {
				return false
			}
		}
		return true
	})
}

// TestPodMonitorSelectsTheDeployment: the shipped PodMonitor selects the
// Deployment's pods and scrapes its admin port by name.
func TestPodMonitorSelectsTheDeployment(t *testing.T) {
	var pm struct {
		Kind string
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			}
			Endpoints []struct{ Port, Path string } `yaml:"podMetricsEndpoints"`
		}
	}
	data, err := os.ReadFile("prometheus/podmonitor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &pm); err != nil || pm.Kind != "PodMonitor" {
		t.Fatalf("podmonitor.yaml: %v %q", err, pm.Kind)
	}
	dep := findObject(loadManifests(t), "Deployment", "my-app")
	if dep == nil {
		t.Fatal("no Deployment my-app")
	}
	for k, v := range pm.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("PodMonitor selects %s=%s, the pods have %q", k, v, dep.Spec.Template.Metadata.Labels[k])
		}
	}
	if len(pm.Spec.Endpoints) != 1 || pm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("endpoints %+v", pm.Spec.Endpoints)
	}
	found := false
	for _, c := range dep.Spec.Template.Spec.allContainers() {
		if portNumber(c, pm.Spec.Endpoints[0].Port) == 8182 {
			found = true
		}
	}
	if !found {
		t.Errorf("no container port named %q on the admin port", pm.Spec.Endpoints[0].Port)
	}
}

// traffic sends n rounds of requests of every kind to g's /verify.
func traffic(t *testing.T, g *gate, n int) {
	t.Helper()
	for range n {
		for _, r := range []struct{ path, token string }{
			{"/orders/7", g.good}, {"/orders/7", g.forged}, {"/admin/x", g.good}, {"/public/x", ""}, {"/orders/7", ""},
		} {
			req, _ := http.NewRequest("GET", "http://"+g.verifyAddr+"/verify", nil)
			req.Header.Set("X-Original-URI", r.path)
			if r.token != "" {
				req.Header.Set("Authorization", "Bearer "+r.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

func get(t *testing.T, u, accept string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestMetricsNegotiateOpenMetrics: /metrics speaks OpenMetrics to a
// scraper that asks for it, with client_golang's own negotiation.
func TestMetricsNegotiateOpenMetrics(t *testing.T) {
	g := newGate(t)
	traffic(t, g, 1)
	b := get(t, "http://"+g.adminAddr+"/metrics", "application/openmetrics-text; version=1.0.0")
	if !bytes.HasSuffix(bytes.TrimSpace(b), []byte("# EOF")) || !strings.Contains(string(b), "# TYPE tokengate_requests counter") {
		t.Errorf("not OpenMetrics:\n%.400s", b)
	}
}
