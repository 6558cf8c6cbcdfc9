package deploy_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokengate/tokengate/config"
)

// envVar is a container's environment variable: a value, or a value from
// the downward API.
type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		ResourceFieldRef *struct {
			ContainerName string `yaml:"containerName"`
			Resource      string `yaml:"resource"`
			Divisor       string `yaml:"divisor"`
		} `yaml:"resourceFieldRef"`
	} `yaml:"valueFrom"`
}

// networkPolicySpec is the spec of a NetworkPolicy (ingress only).
type networkPolicySpec struct {
	PodSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"podSelector"`
	PolicyTypes []string `yaml:"policyTypes"`
	Ingress     []struct {
		From  []any `yaml:"from"`
		Ports []struct {
			Protocol string    `yaml:"protocol"`
			Port     yaml.Node `yaml:"port"` // a number or a port name
			EndPort  int       `yaml:"endPort"`
		} `yaml:"ports"`
	} `yaml:"ingress"`
}

// k8sSetup returns the Deployment's pod, its tokengate container and the
// tokengate configuration of the ConfigMap (loaded, not validated: its key
// files are the other test's business).
func k8sSetup(t *testing.T) (objs []*k8sObject, dep *k8sObject, tg *container, cfg *config.Config, raw []byte) {
	t.Helper()
	objs = loadManifests(t)
	if dep = findObject(objs, "Deployment", ""); dep == nil {
		t.Fatal("no Deployment in kubernetes/")
	}
	for _, c := range dep.Spec.Template.Spec.allContainers() {
		if c.Name == "tokengate" {
			tg = c
		}
	}
	if tg == nil {
		t.Fatal("no tokengate container")
	}
	for _, o := range objs {
		if o.Kind == "ConfigMap" && o.Data["config.yaml"] != "" {
			raw = []byte(o.Data["config.yaml"])
		}
	}
	if raw == nil {
		t.Fatal("no ConfigMap holds config.yaml")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, raw)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return objs, dep, tg, cfg, raw
}

// TestKubernetesNetworkPolicy: /verify is reachable from the pod's own
// containers only. It listens on loopback in the pod's own network
// namespace, and the NetworkPolicy that selects the pods admits no port
// but those it lists — never the verify port — and the admin port only
// from a named scraper.
func TestKubernetesNetworkPolicy(t *testing.T) {
	objs, dep, _, cfg, _ := k8sSetup(t)
	pod := &dep.Spec.Template.Spec
	verifyHost, verifyPort := addrPort(t, cfg.Listen.Verify)
	_, adminPort := addrPort(t, cfg.Listen.Admin)
	if ip := net.ParseIP(verifyHost); ip == nil || !ip.IsLoopback() {
		t.Errorf("listen.verify %s is not a loopback address", cfg.Listen.Verify)
	}
	if isTrue(pod.HostNetwork) {
		t.Errorf("hostNetwork: true puts listen.verify on the node's loopback, open to the whole node")
	}

	var policies []*k8sObject
	for _, o := range objs {
		if o.Kind == "NetworkPolicy" && selects(o.Spec.PodSelector.MatchLabels, dep.Spec.Template.Metadata.Labels) {
			policies = append(policies, o)
		}
	}
	if len(policies) == 0 {
		t.Fatalf("no NetworkPolicy selects the pods (labels %v)", dep.Spec.Template.Metadata.Labels)
	}
	portOf := func(n yaml.Node) int {
		if p, err := strconv.Atoi(n.Value); err == nil {
			return p
		}
		for _, c := range pod.allContainers() {
			if p := portNumber(c, n.Value); p > 0 {
				return p
			}
		}
		t.Errorf("NetworkPolicy port %q is no container's port", n.Value)
		return -1
	}
	admitted := map[int]bool{}
	for _, np := range policies {
		if len(np.Spec.PolicyTypes) > 0 && !slices.Contains(np.Spec.PolicyTypes, "Ingress") {
			t.Errorf("%s: policyTypes %v: ingress is not restricted", np.file, np.Spec.PolicyTypes)
		}
		for i, rule := range np.Spec.Ingress {
			if len(rule.Ports) == 0 {
				t.Errorf("%s: ingress[%d] lists no ports: it admits every port, the verify port too", np.file, i)
			}
			for _, p := range rule.Ports {
				lo, hi := portOf(p.Port), portOf(p.Port)
				if p.EndPort > 0 {
					hi = p.EndPort
				}
				for port := lo; port <= hi && port > 0; port++ {
					admitted[port] = true
					if port == verifyPort {
						t.Errorf("%s: ingress[%d] admits the verify port %d", np.file, i, verifyPort)
					}
					if port == adminPort && len(rule.From) == 0 {
						t.Errorf("%s: ingress[%d] admits the admin port %d from anywhere; name the scraper in from", np.file, i, adminPort)
					}
				}
			}
		}
	}
	if !admitted[adminPort] {
		t.Errorf("no rule admits the admin port %d: the metrics scraper could not reach it", adminPort)
	}
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if !admitted[p.ContainerPort] {
				t.Errorf("container %s port %d is admitted by no rule: the application would be unreachable", c.Name, p.ContainerPort)
			}
		}
	}
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return true // an empty podSelector selects every pod of the namespace
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestKubernetesMemoryLimit: GOMEMLIMIT comes from the container's memory
// limit through the downward API, not from a number written twice; the
// value Kubernetes would set parses as Go reads it and leaves headroom
// under the limit.
func TestKubernetesMemoryLimit(t *testing.T) {
	_, _, tg, cfg, _ := k8sSetup(t)
	limit := quantityBytes(t, tg.Resources.Limits["memory"])
	values := map[string]string{}
	fromLimit := map[string]bool{}
	for _, e := range tg.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			ref := e.ValueFrom.ResourceFieldRef
			if ref.Resource != "limits.memory" || (ref.ContainerName != "" && ref.ContainerName != tg.Name) {
				continue
			}
			div := int64(1)
			if ref.Divisor != "" {
				div = quantityBytes(t, ref.Divisor)
			}
			values[e.Name] = strconv.FormatInt((limit+div-1)/div, 10) // the downward API rounds up
			fromLimit[e.Name] = true
		default:
			values[e.Name] = expandEnv(e.Value, values)
			fromLimit[e.Name] = fromLimit[e.Name] || strings.Contains(e.Value, "$(")
		}
	}
	v, ok := values["GOMEMLIMIT"]
	if !ok {
		t.Fatal("the tokengate container sets no GOMEMLIMIT")
	}
	if !fromLimit["GOMEMLIMIT"] {
		t.Fatalf("GOMEMLIMIT %q is written out, not taken from the memory limit (resourceFieldRef limits.memory)", v)
	}
	got := goMemoryLimit(t, v)
	if got >= limit || got < limit*9/10 {
		t.Errorf("GOMEMLIMIT=%s is %d bytes: want 90%% to 100%% of the %d-byte limit", v, got, limit)
	}
	if got < 2*int64(cfg.Cache.MaxSize) {
		t.Errorf("GOMEMLIMIT %d bytes leaves too little room for cache.max_size %s", got, cfg.Cache.MaxSize)
	}
}

// expandEnv replaces $(NAME) with the value of an earlier variable, as
// the kubelet does; $$ escapes a $.
var envRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func expandEnv(s string, values map[string]string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := values[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// goMemoryLimit runs this test binary with GOMEMLIMIT=v and returns the
// limit the Go runtime took from it (a value it cannot parse makes the
// runtime refuse to start).
func goMemoryLimit(t *testing.T, v string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPrintMemoryLimit$")
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+v, "DEPLOY_TEST_HELPER=memlimit")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOMEMLIMIT=%s: the Go runtime does not start: %v", v, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), 10, 64)
	if err != nil {
		t.Fatalf("helper printed %q", out)
	}
	return n
}

// TestHelperPrintMemoryLimit is TestKubernetesMemoryLimit's helper
// process: it prints the runtime's memory limit.
func TestHelperPrintMemoryLimit(t *testing.T) {
	if os.Getenv("DEPLOY_TEST_HELPER") != "memlimit" {
		t.Skip("helper process of TestKubernetesMemoryLimit")
	}
	fmt.Println(debug.SetMemoryLimit(-1))
}

// TestKubernetesConfigMapNamesEveryKey: the ConfigMap's config.yaml
// writes out every key of the reference config.yaml (but dev), as its
// comment promises.
func TestKubernetesConfigMapNamesEveryKey(t *testing.T) {
	_, _, _, _, raw := k8sSetup(t)
	have := keyPaths(t, raw)
	want := keyPaths(t, config.DefaultYAML())
	for _, k := range config.EnvKeys() {
		want[k] = true
	}
	var missing []string
	for k := range want {
		if k != "dev" && !strings.HasPrefix(k, "dev.") && !have[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("configmap.yaml says every key is written out, but lacks %s", strings.Join(missing, ", "))
	}
	if have["dev"] {
		t.Errorf("configmap.yaml has a dev section")
	}
}

// keyPaths lists the key paths of a YAML document: every mapping key, at
// any depth, as "a.b.c" (lists are values: their elements are not keys).
func keyPaths(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			out[prefix+k] = true
			if sub, ok := v.(map[string]any); ok {
				walk(sub, prefix+k+".")
			}
		}
	}
	walk(doc, "")
	return out
}

// TestKubernetesEnvNames: no container of the pod sets a TOKENGATE_
// variable that is not a configuration key's: tokengate refuses to start
// on one, and an application's own setting does not belong under that
// prefix.
func TestKubernetesEnvNames(t *testing.T) {
	_, dep, _, _, _ := k8sSetup(t)
	keys := map[string]bool{}
	for _, k := range config.EnvKeys() {
		keys[config.EnvName(k)] = true
	}
	for _, c := range dep.Spec.Template.Spec.allContainers() {
		for _, e := range c.Env {
			if strings.HasPrefix(strings.ToUpper(e.Name), config.EnvPrefix) && !keys[e.Name] {
				t.Errorf("container %s sets %s, which is no configuration key's variable", c.Name, e.Name)
			}
		}
	}
}
