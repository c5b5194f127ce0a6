// Command kcheck checks a rendered kustomize overlay (multi-document YAML
// on standard input) for what qlikbot's deployment relies on: each object
// found by kind and name and each field at its path, so a check fails when
// the field moves or goes, not only when a word vanishes from the text.
//
//	kubectl kustomize deploy/k8s/ha | go run ./.ci/kcheck ha
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kcheck base|ha|ingress < rendered.yaml")
		os.Exit(2)
	}
	objs, err := decode(os.Stdin)
	if err == nil {
		err = check(os.Args[1], objs)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "deploy/k8s/%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

type obj = map[string]any

func decode(r io.Reader) ([]obj, error) {
	dec := yaml.NewDecoder(r)
	var out []obj
	for {
		var o obj
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// at follows a path of map keys through v; nil when a step is missing.
func at(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := at(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := at(v, path...).([]any)
	return l
}

// named is the element of l whose name is name, or nil.
func named(l []any, name string) any {
	for _, e := range l {
		if str(e, "name") == name {
			return e
		}
	}
	return nil
}

func find(objs []obj, kind, name string) (obj, error) {
	for _, o := range objs {
		if str(o, "kind") == kind && str(o, "metadata", "name") == name {
			return o, nil
		}
	}
	return nil, fmt.Errorf("no %s %s", kind, name)
}

// checker collects failures so one run names them all.
type checker struct{ errs []error }

func (c *checker) expect(ok bool, format string, args ...any) {
	if !ok {
		c.errs = append(c.errs, fmt.Errorf(format, args...))
	}
}

func (c *checker) find(objs []obj, kind, name string) obj {
	o, err := find(objs, kind, name)
	c.expect(err == nil, "%v", err)
	return o
}

func check(overlay string, objs []obj) error {
	if !slices.Contains([]string{"base", "ha", "ingress"}, overlay) {
		return fmt.Errorf("unknown overlay %q", overlay)
	}
	c := &checker{}
	for _, o := range objs {
		kind, name := str(o, "kind"), str(o, "metadata", "name")
		// The store URL and Secrets are resolved in qlikbot by short name.
		c.expect(kind == "Namespace" || str(o, "metadata", "namespace") == "qlikbot", "%s %s is outside namespace qlikbot", kind, name)
		// Site settings come from the Secret qlikbot-env: a Teams-only site
		// uses the same files.
		for _, ct := range list(o, "spec", "template", "spec", "containers") {
			for _, v := range []string{"QLIKBOT_SLACK_MODE", "QLIKBOT_TEAMS_APP_ID"} {
				c.expect(named(list(ct, "env"), v) == nil, "%s %s sets %s; it belongs in the qlikbot-env Secret", kind, name, v)
			}
		}
	}
	bot := c.find(objs, "Deployment", "qlikbot")
	ct := named(list(bot, "spec", "template", "spec", "containers"), "qlikbot")
	c.expect(ct != nil, "Deployment qlikbot has no container qlikbot")
	c.expect(str(ct, "readinessProbe", "httpGet", "path") == "/readyz" && str(ct, "readinessProbe", "httpGet", "port") == "admin",
		"the qlikbot container's readinessProbe is not GET /readyz on port admin")
	c.expect(str(ct, "livenessProbe", "httpGet", "path") == "/healthz" && str(ct, "livenessProbe", "httpGet", "port") == "http",
		"the qlikbot container's livenessProbe is not GET /healthz on port http")
	svc := c.find(objs, "Service", "qlikbot")
	for _, p := range list(svc, "spec", "ports") {
		c.expect(str(p, "targetPort") != "admin" && at(p, "targetPort") != 9090, "Service qlikbot exposes the admin port")
	}
	np := c.find(objs, "NetworkPolicy", "qlikbot")
	c.expect(str(np, "spec", "podSelector", "matchLabels", "app.kubernetes.io/component") == "bot", "NetworkPolicy qlikbot does not select the bot")
	for _, rule := range list(np, "spec", "ingress") {
		// A rule without ports opens every port, the admin one included.
		admin := len(list(rule, "ports")) == 0
		for _, p := range list(rule, "ports") {
			admin = admin || str(p, "port") == "admin" || at(p, "port") == 9090
		}
		if admin {
			c.expect(len(list(rule, "from")) > 0, "NetworkPolicy qlikbot opens the admin port to everyone")
		}
	}
	switch overlay {
	case "ha":
		checkHA(c, objs, bot, ct)
	case "ingress":
		checkIngress(c, objs)
	}
	return errors.Join(c.errs...)
}

func checkHA(c *checker, objs []obj, bot, ct any) {
	c.expect(at(bot, "spec", "replicas") == 2, "Deployment qlikbot: replicas %v, want 2", at(bot, "spec", "replicas"))
	c.expect(at(bot, "spec", "template", "spec", "affinity", "podAntiAffinity") != nil, "Deployment qlikbot has no podAntiAffinity")
	env := list(ct, "env")
	pw, store := -1, -1
	for i, e := range env {
		switch str(e, "name") {
		case "REDIS_PASSWORD":
			pw = i
		case "QLIKBOT_STORE":
			store = i
		}
	}
	// $(VAR) only sees variables listed above it.
	c.expect(pw >= 0 && store > pw, "the qlikbot container must define REDIS_PASSWORD before QLIKBOT_STORE (env %d, %d)", pw, store)
	if store >= 0 {
		c.expect(str(env[store], "value") == "redis://:$(REDIS_PASSWORD)@qlikbot-redis:6379/0", "QLIKBOT_STORE is %q", str(env[store], "value"))
	}
	c.expect(named(list(bot, "spec", "template", "spec", "volumes"), "state") == nil, "Deployment qlikbot still mounts the bolt volume")

	pdb := c.find(objs, "PodDisruptionBudget", "qlikbot")
	c.expect(str(pdb, "spec", "unhealthyPodEvictionPolicy") == "AlwaysAllow", "PodDisruptionBudget qlikbot: unhealthyPodEvictionPolicy is not AlwaysAllow")
	c.expect(str(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/component") == "bot", "PodDisruptionBudget qlikbot does not select the bot")

	redis := c.find(objs, "Deployment", "qlikbot-redis")
	rc := named(list(redis, "spec", "template", "spec", "containers"), "redis")
	c.expect(at(rc, "readinessProbe") != nil, "the redis container has no readinessProbe")
	args := ""
	for _, a := range list(rc, "args") {
		s, _ := a.(string)
		args += s + "\n"
	}
	for _, want := range []string{"requirepass $REDIS_PASSWORD", "--appendonly yes", "--appendfsync always", "maxmemory-policy noeviction"} {
		c.expect(strings.Contains(args, want), "the redis container's arguments lack %q", want)
	}
	rs := c.find(objs, "Service", "qlikbot-redis")
	c.expect(str(rs, "spec", "selector", "app.kubernetes.io/component") == "redis", "Service qlikbot-redis does not select Redis")
	rnp := c.find(objs, "NetworkPolicy", "qlikbot-redis")
	c.expect(str(rnp, "spec", "podSelector", "matchLabels", "app.kubernetes.io/component") == "redis", "NetworkPolicy qlikbot-redis does not select Redis")
	rules := list(rnp, "spec", "ingress")
	from := ""
	if len(rules) == 1 && len(list(rules[0], "from")) == 1 {
		from = str(list(rules[0], "from")[0], "podSelector", "matchLabels", "app.kubernetes.io/component")
	}
	c.expect(from == "bot", "NetworkPolicy qlikbot-redis admits more than the bot's pods")
}

func checkIngress(c *checker, objs []obj) {
	ing := c.find(objs, "Ingress", "qlikbot")
	var paths []string
	for _, rule := range list(ing, "spec", "rules") {
		for _, p := range list(rule, "http", "paths") {
			paths = append(paths, str(p, "path"))
			c.expect(str(p, "backend", "service", "name") == "qlikbot" && str(p, "backend", "service", "port", "name") == "http",
				"Ingress path %s does not go to the qlikbot Service's http port", str(p, "path"))
		}
	}
	slices.Sort(paths)
	c.expect(slices.Equal(paths, []string{"/api/messages", "/files/", "/slack/"}), "Ingress routes %v, want /slack/, /api/messages and /files/ only", paths)
	c.expect(len(list(ing, "spec", "tls")) > 0, "Ingress qlikbot has no TLS")
}
