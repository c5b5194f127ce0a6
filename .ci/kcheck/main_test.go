package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// load decodes testdata/<overlay>.yaml: kustomize's render of the overlay
// (kubectl kustomize deploy/k8s/<overlay>), kept here so the checks are
// tested without a cluster tool; .ci/run checks the manifests themselves.
func load(t *testing.T, overlay string) []obj {
	t.Helper()
	f, err := os.Open("testdata/" + overlay + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func obj1(t *testing.T, objs []obj, kind, name string) obj {
	t.Helper()
	o, err := find(objs, kind, name)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// node follows path through maps and, for a step "name=x", the element of
// a list whose name is x; it fails the test when a step is missing.
func node(t *testing.T, v any, path ...string) obj {
	t.Helper()
	for _, k := range path {
		if n, ok := strings.CutPrefix(k, "name="); ok {
			l, _ := v.([]any)
			v = named(l, n)
		} else {
			m, _ := v.(obj)
			v = m[k]
		}
		if v == nil {
			t.Fatalf("no %s in %v", k, path)
		}
	}
	m, ok := v.(obj)
	if !ok {
		t.Fatalf("%v is not a map", path)
	}
	return m
}

// openToAll drops the from of every ingress rule of NetworkPolicy name.
func openToAll(name string) func(t *testing.T, objs []obj) []obj {
	return func(t *testing.T, objs []obj) []obj {
		for _, r := range list(obj1(t, objs, "NetworkPolicy", name), "spec", "ingress") {
			delete(r.(obj), "from")
		}
		return objs
	}
}

func botContainer(t *testing.T, objs []obj) obj {
	return node(t, obj1(t, objs, "Deployment", "qlikbot"), "spec", "template", "spec", "containers", "name=qlikbot")
}

// TestChecks: each overlay's render passes, and every check fails on a
// render broken in the one way it guards against.
func TestChecks(t *testing.T) {
	t.Parallel()
	for _, overlay := range []string{"base", "ha", "ingress"} {
		if err := check(overlay, load(t, overlay)); err != nil {
			t.Errorf("%s as rendered: %v", overlay, err)
		}
	}
	tests := []struct {
		overlay, name, want string
		breakIt             func(t *testing.T, objs []obj) []obj
	}{
		{"base", "object outside the namespace", "Service qlikbot is outside namespace qlikbot", func(t *testing.T, objs []obj) []obj {
			delete(node(t, obj1(t, objs, "Service", "qlikbot"), "metadata"), "namespace")
			return objs
		}},
		{"base", "chat platform in the manifest", "sets QLIKBOT_SLACK_MODE", func(t *testing.T, objs []obj) []obj {
			ct := botContainer(t, objs)
			ct["env"] = append(list(ct, "env"), obj{"name": "QLIKBOT_SLACK_MODE", "value": "socket"})
			return objs
		}},
		{"base", "no bot Deployment", "no Deployment qlikbot", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "Deployment", "qlikbot"), "metadata")["name"] = "bot"
			return objs
		}},
		{"base", "readiness on the public port", "readinessProbe is not GET /readyz on port admin", func(t *testing.T, objs []obj) []obj {
			node(t, botContainer(t, objs), "readinessProbe", "httpGet")["port"] = "http"
			return objs
		}},
		{"base", "liveness elsewhere", "livenessProbe is not GET /healthz on port http", func(t *testing.T, objs []obj) []obj {
			node(t, botContainer(t, objs), "livenessProbe", "httpGet")["path"] = "/readyz"
			return objs
		}},
		{"base", "Service exposes admin by name", "Service qlikbot exposes the admin port", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "Service", "qlikbot"), "spec", "ports", "name=http")["targetPort"] = "admin"
			return objs
		}},
		{"base", "Service exposes admin by number", "Service qlikbot exposes the admin port", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "Service", "qlikbot"), "spec", "ports", "name=http")["targetPort"] = 9090
			return objs
		}},
		{"base", "admin port open to all", "opens the admin port to everyone", openToAll("qlikbot")},
		{"base", "a rule for every port", "opens the admin port to everyone", func(t *testing.T, objs []obj) []obj {
			spec := node(t, obj1(t, objs, "NetworkPolicy", "qlikbot"), "spec")
			spec["ingress"] = append(list(spec, "ingress"), obj{})
			return objs
		}},
		{"base", "NetworkPolicy selects nothing of ours", "NetworkPolicy qlikbot does not select the bot", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "NetworkPolicy", "qlikbot"), "spec", "podSelector", "matchLabels")["app.kubernetes.io/component"] = "redis"
			return objs
		}},
		{"ha", "one replica", "replicas 1, want 2", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "Deployment", "qlikbot"), "spec")["replicas"] = 1
			return objs
		}},
		{"ha", "no anti-affinity", "no podAntiAffinity", func(t *testing.T, objs []obj) []obj {
			delete(node(t, obj1(t, objs, "Deployment", "qlikbot"), "spec", "template", "spec"), "affinity")
			return objs
		}},
		{"ha", "store URL before the password", "must define REDIS_PASSWORD before QLIKBOT_STORE", func(t *testing.T, objs []obj) []obj {
			ct := botContainer(t, objs)
			env := list(ct, "env")
			slices.Reverse(env)
			return objs
		}},
		{"ha", "store URL changed", "QLIKBOT_STORE is", func(t *testing.T, objs []obj) []obj {
			node(t, botContainer(t, objs), "env", "name=QLIKBOT_STORE")["value"] = "redis://qlikbot-redis:6379/0"
			return objs
		}},
		{"ha", "bolt volume kept", "still mounts the bolt volume", func(t *testing.T, objs []obj) []obj {
			spec := node(t, obj1(t, objs, "Deployment", "qlikbot"), "spec", "template", "spec")
			spec["volumes"] = append(list(spec, "volumes"), obj{"name": "state"})
			return objs
		}},
		{"ha", "PDB keeps unready pods", "unhealthyPodEvictionPolicy is not AlwaysAllow", func(t *testing.T, objs []obj) []obj {
			delete(node(t, obj1(t, objs, "PodDisruptionBudget", "qlikbot"), "spec"), "unhealthyPodEvictionPolicy")
			return objs
		}},
		{"ha", "PDB selects Redis", "PodDisruptionBudget qlikbot does not select the bot", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "PodDisruptionBudget", "qlikbot"), "spec", "selector", "matchLabels")["app.kubernetes.io/component"] = "redis"
			return objs
		}},
		{"ha", "Redis without readiness", "the redis container has no readinessProbe", func(t *testing.T, objs []obj) []obj {
			delete(node(t, obj1(t, objs, "Deployment", "qlikbot-redis"), "spec", "template", "spec", "containers", "name=redis"), "readinessProbe")
			return objs
		}},
		{"ha", "Redis fsync every second", `lack "--appendfsync always"`, func(t *testing.T, objs []obj) []obj {
			rc := node(t, obj1(t, objs, "Deployment", "qlikbot-redis"), "spec", "template", "spec", "containers", "name=redis")
			args := list(rc, "args")
			for i, a := range args {
				s, _ := a.(string)
				args[i] = strings.ReplaceAll(s, "--appendfsync always", "--appendfsync everysec")
			}
			return objs
		}},
		{"ha", "Redis Service selects the bot", "Service qlikbot-redis does not select Redis", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "Service", "qlikbot-redis"), "spec", "selector")["app.kubernetes.io/component"] = "bot"
			return objs
		}},
		{"ha", "Redis NetworkPolicy selects the bot", "NetworkPolicy qlikbot-redis does not select Redis", func(t *testing.T, objs []obj) []obj {
			node(t, obj1(t, objs, "NetworkPolicy", "qlikbot-redis"), "spec", "podSelector", "matchLabels")["app.kubernetes.io/component"] = "bot"
			return objs
		}},
		{"ha", "Redis open to all", "NetworkPolicy qlikbot-redis admits more than the bot's pods", openToAll("qlikbot-redis")},
		{"ingress", "an extra route", "Ingress routes", func(t *testing.T, objs []obj) []obj {
			rule := list(obj1(t, objs, "Ingress", "qlikbot"), "spec", "rules")[0]
			h := node(t, rule, "http")
			h["paths"] = append(list(h, "paths"), obj{"path": "/metrics", "backend": obj{"service": obj{"name": "qlikbot", "port": obj{"name": "http"}}}})
			return objs
		}},
		{"ingress", "a route to another port", "does not go to the qlikbot Service's http port", func(t *testing.T, objs []obj) []obj {
			rule := list(obj1(t, objs, "Ingress", "qlikbot"), "spec", "rules")[0]
			p := list(rule, "http", "paths")[0]
			node(t, p, "backend", "service", "port")["name"] = "admin"
			return objs
		}},
		{"ingress", "no TLS", "Ingress qlikbot has no TLS", func(t *testing.T, objs []obj) []obj {
			delete(node(t, obj1(t, objs, "Ingress", "qlikbot"), "spec"), "tls")
			return objs
		}},
	}
	for _, tt := range tests {
		t.Run(tt.overlay+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			err := check(tt.overlay, tt.breakIt(t, load(t, tt.overlay)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
