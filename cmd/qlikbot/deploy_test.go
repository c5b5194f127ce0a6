package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qlikbot/qlikbot/authz"
)

// TestShippedK8sPolicy: the policy deploy/k8s/base ships parses, and its
// admin role, granted on every virtual proxy, holds every permission
// qlikbot knows (health and subscribe included); its viewer may list and
// read health but not act.
func TestShippedK8sPolicy(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../deploy/k8s/base/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "grants: []", `grants:
  - subjects: ["console:admin"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["console:viewer"]
    roles: [viewer]
    virtualProxies: ["*"]`, 1)
	if text == string(data) {
		t.Fatal(`deploy/k8s/base/policy.yaml has no "grants: []" to fill in`)
	}
	p, err := authz.Parse([]byte(text))
	if err != nil {
		t.Fatalf("deploy/k8s/base/policy.yaml: %v", err)
	}
	everywhere := authz.Scope{VirtualProxy: "*"}
	for _, perm := range authz.Permissions() {
		if d := p.Decide([]string{"console:admin"}, perm, everywhere); !d.Allowed {
			t.Errorf("admin lacks %s: %s", perm, d.Reason)
		}
		want := perm == "list" || perm == "health"
		if d := p.Decide([]string{"console:viewer"}, perm, everywhere); d.Allowed != want {
			t.Errorf("viewer %s: allowed %v, want %v", perm, d.Allowed, want)
		}
	}
}

// TestStopGraceCoversShutdown: Kubernetes (terminationGracePeriodSeconds)
// and systemd (TimeoutStopSec) kill qlikbot when their grace runs out; the
// shipped grace must outlast QLIKBOT_SHUTDOWN_DRAIN plus
// QLIKBOT_SHUTDOWN_TIMEOUT (their defaults, or what the manifest sets),
// or jobs are killed before they checkpoint.
func TestStopGraceCoversShutdown(t *testing.T) {
	t.Parallel()
	def := defaultConfig(t)
	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Grace      *int `yaml:"terminationGracePeriodSeconds"`
					Containers []struct {
						Name string `yaml:"name"`
						Env  []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	data, err := os.ReadFile("../../deploy/k8s/base/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &dep); err != nil {
		t.Fatalf("deploy/k8s/base/deployment.yaml: %v", err)
	}
	pod := dep.Spec.Template.Spec
	if pod.Grace == nil {
		t.Fatal("deploy/k8s/base/deployment.yaml sets no terminationGracePeriodSeconds (Kubernetes' 30 s is less than the shutdown takes)")
	}
	drain, timeout := def.ShutdownDrain, def.ShutdownTimeout
	for _, c := range pod.Containers {
		for _, e := range c.Env {
			var into *time.Duration
			switch e.Name {
			case "QLIKBOT_SHUTDOWN_DRAIN":
				into = &drain
			case "QLIKBOT_SHUTDOWN_TIMEOUT":
				into = &timeout
			default:
				continue
			}
			d, err := time.ParseDuration(e.Value)
			if err != nil {
				t.Fatalf("deployment.yaml %s=%q: %v", e.Name, e.Value, err)
			}
			*into = d
		}
	}
	need := drain + timeout
	if grace := time.Duration(*pod.Grace) * time.Second; grace <= need {
		t.Errorf("deploy/k8s/base/deployment.yaml: terminationGracePeriodSeconds %v, want more than QLIKBOT_SHUTDOWN_DRAIN %v + QLIKBOT_SHUTDOWN_TIMEOUT %v", grace, drain, timeout)
	}

	unit, err := os.ReadFile("../../deploy/systemd/qlikbot.service")
	if err != nil {
		t.Fatal(err)
	}
	var stop time.Duration
	for line := range strings.Lines(string(unit)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "TimeoutStopSec="); ok {
			if stop, err = time.ParseDuration(v); err != nil {
				t.Fatalf("qlikbot.service TimeoutStopSec=%s: %v", v, err)
			}
		}
	}
	if stop <= def.ShutdownDrain+def.ShutdownTimeout {
		t.Errorf("deploy/systemd/qlikbot.service: TimeoutStopSec %v, want more than QLIKBOT_SHUTDOWN_DRAIN %v + QLIKBOT_SHUTDOWN_TIMEOUT %v", stop, def.ShutdownDrain, def.ShutdownTimeout)
	}
}
