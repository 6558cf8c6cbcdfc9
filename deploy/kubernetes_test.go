package deploy_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/keyring"
)

// The parts of Kubernetes objects the checks read. Unknown fields are
// ignored; a misspelt field shows up as a missing value in a check.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		networkPolicySpec `yaml:",inline"`
	} `yaml:"spec"`

	file string // where it was read, for messages
}

type podSpec struct {
	HostNetwork                  *bool           `yaml:"hostNetwork"`
	AutomountServiceAccountToken *bool           `yaml:"automountServiceAccountToken"`
	SecurityContext              securityContext `yaml:"securityContext"`
	InitContainers               []container     `yaml:"initContainers"`
	Containers                   []container     `yaml:"containers"`
	Volumes                      []volume        `yaml:"volumes"`
}

type securityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
}

type container struct {
	Name          string   `yaml:"name"`
	Image         string   `yaml:"image"`
	Command       []string `yaml:"command"`
	Args          []string `yaml:"args"`
	RestartPolicy string   `yaml:"restartPolicy"`
	Ports         []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env            []envVar `yaml:"env"`
	StartupProbe   *probe   `yaml:"startupProbe"`
	LivenessProbe  *probe   `yaml:"livenessProbe"`
	ReadinessProbe *probe   `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
}

type keyToPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name  string      `yaml:"name"`
		Items []keyToPath `yaml:"items"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string      `yaml:"secretName"`
		Items      []keyToPath `yaml:"items"`
	} `yaml:"secret"`
	EmptyDir any `yaml:"emptyDir"`
}

// loadManifests decodes every document of every YAML file in kubernetes/.
func loadManifests(t *testing.T) []*k8sObject {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifests in kubernetes/")
	}
	var objs []*k8sObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
				continue // an empty document ("---" at the end)
			}
			obj := &k8sObject{file: f}
			if err := node.Decode(obj); err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if obj.APIVersion == "" || obj.Kind == "" || obj.Metadata.Name == "" {
				t.Errorf("%s: document %d lacks apiVersion, kind or metadata.name", f, i)
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

func findObject(objs []*k8sObject, kind, name string) *k8sObject {
	for _, o := range objs {
		if o.Kind == kind && (name == "" || o.Metadata.Name == name) {
			return o
		}
	}
	return nil
}

func (p *podSpec) allContainers() []*container {
	var out []*container
	for i := range p.InitContainers {
		out = append(out, &p.InitContainers[i])
	}
	for i := range p.Containers {
		out = append(out, &p.Containers[i])
	}
	return out
}

func (p *podSpec) volume(name string) *volume {
	for i := range p.Volumes {
		if p.Volumes[i].Name == name {
			return &p.Volumes[i]
		}
	}
	return nil
}

// volumeFiles returns the files a ConfigMap or Secret volume shows in its
// mount directory (honouring items), from the manifests.
func volumeFiles(t *testing.T, objs []*k8sObject, v *volume) map[string][]byte {
	t.Helper()
	var (
		obj   *k8sObject
		items []keyToPath
	)
	switch {
	case v.ConfigMap != nil:
		if obj = findObject(objs, "ConfigMap", v.ConfigMap.Name); obj == nil {
			t.Fatalf("volume %s: ConfigMap %q is not among the manifests", v.Name, v.ConfigMap.Name)
		}
		items = v.ConfigMap.Items
	case v.Secret != nil:
		if obj = findObject(objs, "Secret", v.Secret.SecretName); obj == nil {
			t.Fatalf("volume %s: Secret %q is not among the manifests", v.Name, v.Secret.SecretName)
		}
		items = v.Secret.Items
	default:
		return map[string][]byte{}
	}
	data := map[string][]byte{}
	for k, val := range obj.Data {
		if obj.Kind == "Secret" {
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				t.Fatalf("%s: data.%s is not base64: %v", obj.file, k, err)
			}
			data[k] = b
		} else {
			data[k] = []byte(val)
		}
	}
	for k, val := range obj.StringData {
		data[k] = []byte(val)
	}
	if len(items) == 0 {
		return data
	}
	files := map[string][]byte{}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			t.Fatalf("volume %s: item key %q is not in %s %s", v.Name, it.Key, obj.Kind, obj.Metadata.Name)
		}
		files[it.Path] = b
	}
	return files
}

// portNumber resolves a probe port (number or name) against a container's ports.
func portNumber(c *container, port string) int {
	if n, err := strconv.Atoi(port); err == nil {
		return n
	}
	for _, p := range c.Ports {
		if p.Name == port {
			return p.ContainerPort
		}
	}
	return -1
}

func addrPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}

// quantityBytes parses a Kubernetes memory quantity ("128Mi", "1G", "512").
func quantityBytes(t *testing.T, q string) int64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(q, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				t.Fatalf("memory quantity %q: %v", q, err)
			}
			return n * u.mult
		}
	}
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil {
		t.Fatalf("memory quantity %q: %v", q, err)
	}
	return n
}

func isTrue(b *bool) bool { return b != nil && *b }

// TestKubernetesManifests checks the Deployment against its ConfigMap,
// Secret and the Dockerfile: the tokengate configuration the pod would
// see is rebuilt in a temp dir from the volume mounts, loaded with
// config.Load and Validate, and its keys are loaded as serve would.
func TestKubernetesManifests(t *testing.T) {
	objs := loadManifests(t)
	dep := findObject(objs, "Deployment", "")
	if dep == nil {
		t.Fatal("no Deployment in kubernetes/")
	}
	pod := &dep.Spec.Template.Spec
	var tg *container
	for _, c := range pod.allContainers() {
		if c.Name == "tokengate" {
			tg = c
		}
	}
	if tg == nil {
		t.Fatal("the Deployment has no container named tokengate")
	}

	t.Run("every volume mount refers to a defined volume", func(t *testing.T) {
		used := map[string]bool{}
		for _, c := range pod.allContainers() {
			for _, m := range c.VolumeMounts {
				used[m.Name] = true
				v := pod.volume(m.Name)
				if v == nil {
					t.Errorf("container %s mounts %q, which is not a volume of the pod", c.Name, m.Name)
					continue
				}
				volumeFiles(t, objs, v) // its ConfigMap or Secret exists
			}
		}
		for _, v := range pod.Volumes {
			if !used[v.Name] {
				t.Errorf("volume %s is mounted by no container", v.Name)
			}
		}
	})

	// Rebuild the tokengate container's view of its mounts under root.
	root := t.TempDir()
	for _, m := range tg.VolumeMounts {
		v := pod.volume(m.Name)
		if v == nil {
			t.Fatalf("tokengate mounts undefined volume %q", m.Name)
		}
		if m.SubPath != "" {
			t.Fatalf("tokengate mounts %s with subPath: such mounts are never updated, so key rotation would not reach tokengate", m.Name)
		}
		dir := filepath.Join(root, filepath.FromSlash(m.MountPath))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, data := range volumeFiles(t, objs, v) {
			writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), data)
		}
	}

	d := parseDockerfile(t)
	entry, cmd := d.entrypoint(t)
	argv := slices.Concat(tg.Command, tg.Args)
	if len(tg.Command) == 0 {
		argv = slices.Concat(entry, tg.Args)
		if len(tg.Args) == 0 {
			argv = slices.Concat(entry, cmd)
		}
	}
	t.Run("runs the image's binary with serve --config", func(t *testing.T) {
		if argv[0] != entry[0] {
			t.Errorf("runs %s, the image's binary is %s", argv[0], entry[0])
		}
		if len(argv) != 4 || argv[1] != "serve" || argv[2] != "--config" {
			t.Errorf("command %q, want [%s serve --config FILE]", argv, entry[0])
		}
	})
	cfgPath := argv[len(argv)-1]
	if cfgPath != "/etc/tokengate/config.yaml" {
		t.Errorf("configuration at %s, want /etc/tokengate/config.yaml (the image's CMD)", cfgPath)
	}

	cfg, err := config.Load(filepath.Join(root, filepath.FromSlash(cfgPath)))
	if err != nil {
		t.Fatalf("the mounted %s does not load: %v", cfgPath, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the mounted %s does not validate: %v", cfgPath, err)
	}

	t.Run("production configuration", func(t *testing.T) {
		if cfg.DevKeysDir() != "" {
			t.Errorf("dev mode is on (dev.keys_dir %q): a production configuration has no dev section", cfg.DevKeysDir())
		}
		if cfg.Log.Format != "json" {
			t.Errorf("log.format %q; json suits log collectors", cfg.Log.Format)
		}
	})

	verifyHost, verifyPort := addrPort(t, cfg.Listen.Verify)
	adminHost, adminPort := addrPort(t, cfg.Listen.Admin)

	t.Run("listen addresses", func(t *testing.T) {
		// /verify serves the pod neighbour over loopback only.
		if ip := net.ParseIP(verifyHost); ip == nil || !ip.IsLoopback() {
			t.Errorf("listen.verify %s: want a loopback address (only the pod's containers call it)", cfg.Listen.Verify)
		}
		// The kubelet probes the pod IP.
		if ip := net.ParseIP(adminHost); adminHost != "" && (ip == nil || !ip.IsUnspecified()) {
			t.Errorf("listen.admin %s: the kubelet's probes cannot reach it; listen on 0.0.0.0 or all interfaces", cfg.Listen.Admin)
		}
	})

	t.Run("container ports match the listen addresses", func(t *testing.T) {
		var ports []int
		for _, p := range tg.Ports {
			ports = append(ports, p.ContainerPort)
		}
		slices.Sort(ports)
		want := []int{verifyPort, adminPort}
		slices.Sort(want)
		if !slices.Equal(ports, want) {
			t.Errorf("container ports %v, configuration listens on %v", ports, want)
		}
	})

	t.Run("probes on the admin listener", func(t *testing.T) {
		for _, pr := range []struct {
			name  string
			probe *probe
			paths []string
		}{
			{"livenessProbe", tg.LivenessProbe, []string{"/healthz"}},
			{"readinessProbe", tg.ReadinessProbe, []string{"/readyz"}},
			{"startupProbe", tg.StartupProbe, []string{"/readyz", "/healthz"}},
		} {
			if pr.probe == nil {
				if pr.name != "startupProbe" {
					t.Errorf("no %s", pr.name)
				}
				continue
			}
			if pr.probe.HTTPGet == nil {
				t.Errorf("%s is not an httpGet probe", pr.name)
				continue
			}
			if !slices.Contains(pr.paths, pr.probe.HTTPGet.Path) {
				t.Errorf("%s path %s, want %s", pr.name, pr.probe.HTTPGet.Path, pr.paths[0])
			}
			if p := portNumber(tg, pr.probe.HTTPGet.Port); p != adminPort {
				t.Errorf("%s port %s (%d), admin listener is on %d", pr.name, pr.probe.HTTPGet.Port, p, adminPort)
			}
		}
	})

	t.Run("resources", func(t *testing.T) {
		for _, c := range pod.allContainers() {
			for _, r := range []string{"cpu", "memory"} {
				if c.Resources.Requests[r] == "" {
					t.Errorf("container %s: no %s request", c.Name, r)
				}
				if c.Resources.Limits[r] == "" {
					t.Errorf("container %s: no %s limit", c.Name, r)
				}
			}
		}
		if lim := tg.Resources.Limits["memory"]; lim != "" {
			if n := quantityBytes(t, lim); n < 2*int64(cfg.Cache.MaxSize) {
				t.Errorf("tokengate memory limit %s leaves too little room for cache.max_size %s", lim, cfg.Cache.MaxSize)
			}
		}
	})

	t.Run("non-root, read-only, no privileges", func(t *testing.T) {
		psc, sc := pod.SecurityContext, tg.SecurityContext
		if !isTrue(sc.RunAsNonRoot) && !isTrue(psc.RunAsNonRoot) {
			t.Errorf("runAsNonRoot is not set")
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) {
			t.Errorf("readOnlyRootFilesystem is not set")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("allowPrivilegeEscalation is not false")
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("capabilities are not dropped (drop: [ALL])")
		}
		uid := sc.RunAsUser
		if uid == nil {
			uid = psc.RunAsUser
		}
		imageUser, _, _ := strings.Cut(d.user(t), ":")
		if uid != nil && strconv.FormatInt(*uid, 10) != imageUser {
			t.Errorf("runAsUser %d, the image's USER is %s", *uid, imageUser)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("automountServiceAccountToken is not false: the pod needs no API access")
		}
	})

	// Every key file the configuration names must come from a mount: map
	// the container paths into root.
	for i := range cfg.Keys {
		k := &cfg.Keys[i]
		for _, p := range []*string{&k.File, &k.SecretFile} {
			if *p != "" && !strings.HasPrefix(*p, root) {
				*p = filepath.Join(root, filepath.FromSlash(*p))
			}
		}
	}
	t.Run("key files come from the mounts", func(t *testing.T) {
		for i, k := range cfg.Keys {
			p := k.File + k.SecretFile
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("keys[%d]: %s is provided by no volume of the tokengate container", i, strings.TrimPrefix(p, root))
			}
		}
	})

	t.Run("the Secret's file is the configured secret_file", func(t *testing.T) {
		n := 0
		for i, k := range cfg.Keys {
			if k.SecretFile == "" {
				continue
			}
			n++
			inPod := filepath.ToSlash(strings.TrimPrefix(k.SecretFile, root))
			var from *volume
			for _, m := range tg.VolumeMounts {
				if path.Dir(inPod) == path.Clean(m.MountPath) {
					from = pod.volume(m.Name)
				}
			}
			if from == nil || from.Secret == nil {
				t.Errorf("keys[%d].secret_file %s is not in a Secret volume's mount directory", i, inPod)
				continue
			}
			if _, ok := volumeFiles(t, objs, from)[path.Base(inPod)]; !ok {
				t.Errorf("keys[%d].secret_file %s: Secret %s has no key %q", i, inPod, from.Secret.SecretName, path.Base(inPod))
			}
		}
		if n == 0 {
			t.Errorf("the configuration has no secret_file key")
		}
	})

	t.Run("the placeholder secret fails closed", func(t *testing.T) {
		_, err := keyring.New(cfg.Keyring())
		if err == nil {
			t.Fatalf("keys load with the placeholder secret of secret.yaml: a deployment that forgot to replace it would trust a published secret")
		}
		for _, k := range cfg.Keys {
			if k.SecretFile != "" && !strings.Contains(err.Error(), filepath.Base(k.SecretFile)) {
				t.Errorf("keys fail to load, but not because of the placeholder in %s: %v", filepath.Base(k.SecretFile), err)
			}
		}
	})

	t.Run("keys load and the sidecar starts once the secret is real", func(t *testing.T) {
		for _, k := range cfg.Keys {
			if k.SecretFile == "" {
				continue
			}
			secret := make([]byte, 64)
			rand.Read(secret)
			enc, err := keyring.ParseSecretEncoding(k.Encoding)
			if err != nil {
				t.Fatal(err)
			}
			var text string
			switch enc.String() {
			case "base64url":
				text = base64.RawURLEncoding.EncodeToString(secret)
			case "base64":
				text = base64.StdEncoding.EncodeToString(secret)
			default:
				t.Fatalf("test does not know encoding %s", enc)
			}
			writeFile(t, k.SecretFile, []byte(text+"\n"))
		}
		parts, err := build.New(cfg, build.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer parts.Close()
		if got := parts.Keys.Snapshot().Len(); got != len(cfg.Keys) {
			t.Errorf("%d keys loaded from %d sources", got, len(cfg.Keys))
		}
		if _, err := parts.Sidecar(); err != nil {
			t.Fatal(err)
		}
	})
}
