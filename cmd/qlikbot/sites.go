package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/qlik"
)

// QLIKBOT_SITES names a YAML file of Qlik Sense sites, one qlik.Client
// each. Every field a site leaves out takes its QLIKBOT_QLIK_* value, so
// what all sites share (the X-Qlik-User, the limits) is set once. Without
// the file, the QLIKBOT_QLIK_* settings are one site named "default".
//
//	sites:
//	  - name: prod                   # what --site and the policy's sites: call it
//	    default: true                # commands on one site without --site go here (else the first)
//	    host: qlik.example.com       # the QRS host (QLIKBOT_QLIK_HOST)
//	    qrsPort: 4242                # QLIKBOT_QLIK_QRS_PORT
//	    qpsPort: 4243                # QLIKBOT_QLIK_QPS_PORT
//	    enginePort: 4747             # QLIKBOT_QLIK_ENGINE_PORT (0: what QRS reports)
//	    cert: /etc/qlikbot/prod/client.pem
//	    key: /etc/qlikbot/prod/client_key.pem
//	    root: /etc/qlikbot/prod/root.pem
//	    user: INTERNAL\sa_api        # X-Qlik-User, DIR\ID
//	    insecureSkipVerify: false
//	    resolve:                     # host name -> address (QLIKBOT_QLIK_RESOLVE)
//	      node2.example.internal: 10.0.0.12
//	    limits:
//	      timeout: 10s
//	      concurrency: 16
//	      rps: 100
//	      topologyTTL: 30s           # 0: not cached
//	    health:                      # /qlik health's warnings
//	      cpuWarn: 90                # QLIKBOT_HEALTH_CPU_WARN
//	      memFreeWarn: 10            # QLIKBOT_HEALTH_MEM_FREE_WARN

// sitesFileMax caps the sites file; a site is a few lines.
const sitesFileMax = 1 << 20

type sitesFile struct {
	Sites []siteSpec `yaml:"sites"`
}

type siteSpec struct {
	Name               string            `yaml:"name"`
	Default            bool              `yaml:"default"`
	Host               string            `yaml:"host"`
	QRSPort            int               `yaml:"qrsPort"`
	QPSPort            int               `yaml:"qpsPort"`
	EnginePort         int               `yaml:"enginePort"`
	Cert               string            `yaml:"cert"`
	Key                string            `yaml:"key"`
	Root               string            `yaml:"root"`
	User               string            `yaml:"user"`
	InsecureSkipVerify *bool             `yaml:"insecureSkipVerify"`
	Resolve            map[string]string `yaml:"resolve"`
	Limits             siteLimits        `yaml:"limits"`
	Health             siteHealth        `yaml:"health"`
}

type siteHealth struct {
	CPUWarn     float64 `yaml:"cpuWarn"`
	MemFreeWarn float64 `yaml:"memFreeWarn"`
}

type siteLimits struct {
	Timeout     string  `yaml:"timeout"`
	Concurrency int     `yaml:"concurrency"`
	RPS         float64 `yaml:"rps"`
	TopologyTTL string  `yaml:"topologyTTL"`
}

// siteSettings is one site as qlikbot will talk to it: what qlik.Config
// needs but the certificates, and the files they are read from.
type siteSettings struct {
	name  string
	def   bool
	qc    qlik.Config
	certs certFiles
	// /qlik health's thresholds, in percent
	cpuWarn, memFreeWarn float64
}

// siteProblem is the one line for a mistake in the sites file: the
// file, the site (by name, or by number when it has none) and the field.
func siteProblem(path, site string, n int, field, problem, want string) error {
	where := fmt.Sprintf("site %d", n)
	if site != "" {
		where = fmt.Sprintf("site %q", site)
	}
	if field != "" {
		where += ": " + field
	}
	return badSetting("QLIKBOT_SITES", path, where+": "+problem, want)
}

// loadSites reads the sites file at path; fields left out take base's
// QLIKBOT_QLIK_* values. It reads no certificate (buildSite does).
func loadSites(path string, base Config) ([]siteSettings, error) {
	const want = "a YAML file listing sites (name, host, ports, certificate files, user, resolve, limits), as the README's Several sites shows"
	data, err := readSettingFile("QLIKBOT_SITES", path, want)
	if err != nil {
		return nil, err
	}
	if len(data) > sitesFileMax {
		return nil, badSetting("QLIKBOT_SITES", path, fmt.Sprintf("larger than %d bytes", sitesFileMax), want)
	}
	var f sitesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, badFile("QLIKBOT_SITES", path, err, want)
	}
	if len(f.Sites) == 0 {
		return nil, badSetting("QLIKBOT_SITES", path, "it lists no sites", want)
	}
	out := make([]siteSettings, 0, len(f.Sites))
	seen := map[string]int{}
	defaults := 0
	for i, spec := range f.Sites {
		line := i + 1 // the site's number in the list
		s, err := spec.settings(path, line, base)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[s.name]; dup {
			return nil, siteProblem(path, spec.Name, line, "name", fmt.Sprintf("also the name of site %d (names are compared case-insensitively)", first), "a name of its own for every site")
		}
		seen[s.name] = i + 1
		if s.def {
			defaults++
			if defaults > 1 {
				return nil, siteProblem(path, spec.Name, line, "default", "a second site marked default: true", "default: true on one site at most (without it, the first site is the default)")
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// settings checks one site and fills in what it leaves out from base.
func (spec siteSpec) settings(path string, line int, base Config) (siteSettings, error) {
	bad := func(field, value, want string) error {
		return siteProblem(path, spec.Name, line, field, fmt.Sprintf("%q", value), want)
	}
	if spec.Name == "" {
		return siteSettings{}, siteProblem(path, "", line, "name", "missing", "a name like prod (letters, digits, - and _)")
	}
	if err := authz.CheckSiteName(spec.Name); err != nil {
		return siteSettings{}, bad("name", spec.Name, "a name like prod: letters, digits, - and _, starting with a letter or digit, at most 32")
	}
	if spec.Host == "" {
		return siteSettings{}, siteProblem(path, spec.Name, line, "host", "missing", "the host name of the site's Qlik Sense central node (QRS), like qlik.example.com")
	}
	if !validHost(spec.Host) {
		return siteSettings{}, bad("host", spec.Host, "the host name of the site's Qlik Sense central node, without scheme or port (the port is qrsPort)")
	}
	s := siteSettings{name: strings.ToLower(spec.Name), def: spec.Default}
	qc := baseQlikConfig(base)
	qc.QRSHost = spec.Host
	for _, p := range []struct {
		field string
		port  int
		into  *int
	}{{"qrsPort", spec.QRSPort, &qc.QRSPort}, {"qpsPort", spec.QPSPort, &qc.QPSPort}, {"enginePort", spec.EnginePort, &qc.EnginePort}} {
		switch {
		case p.port == 0:
		case !qlik.ValidPort(p.port):
			return s, bad(p.field, fmt.Sprint(p.port), portWant)
		default:
			*p.into = p.port
		}
	}
	if spec.User != "" {
		dir, id, ok := parseQlikUser(spec.User)
		if !ok {
			return s, bad("user", spec.User, userWant)
		}
		qc.UserDirectory, qc.UserID = dir, id
	}
	if spec.InsecureSkipVerify != nil {
		qc.InsecureSkipVerify = *spec.InsecureSkipVerify
	}
	if spec.Resolve != nil {
		qc.Resolve = map[string]string{}
		for h, a := range spec.Resolve {
			host, addr, ok := resolveEntry(h, a)
			if !ok {
				return s, bad("resolve", h+": "+a, "host: address entries, like node2.example.internal: 10.0.0.12")
			}
			qc.Resolve[host] = addr
		}
	}
	if err := spec.Limits.apply(&qc, func(field, value, want string) error { return bad("limits."+field, value, want) }); err != nil {
		return s, err
	}
	s.cpuWarn, s.memFreeWarn = base.HealthCPU, base.HealthMemFree
	if h := spec.Health; h.CPUWarn != 0 {
		if !validCPUWarn(h.CPUWarn) {
			return s, bad("health.cpuWarn", fmt.Sprint(h.CPUWarn), cpuWarnWant)
		}
		s.cpuWarn = h.CPUWarn
	}
	if h := spec.Health; h.MemFreeWarn != 0 {
		if !validMemFreeWarn(h.MemFreeWarn) {
			return s, bad("health.memFreeWarn", fmt.Sprint(h.MemFreeWarn), memFreeWarnWant)
		}
		s.memFreeWarn = h.MemFreeWarn
	}
	s.qc = qc
	s.certs = certFiles{cert: or(spec.Cert, base.QlikCert), key: or(spec.Key, base.QlikKey), root: or(spec.Root, base.QlikRoot), insecure: qc.InsecureSkipVerify,
		bad: func(field, file, problem, want string) error {
			return siteProblem(path, spec.Name, line, field, fmt.Sprintf("%q: %s", file, problem), want)
		}}
	return s, nil
}

// apply sets the limits a site gives.
func (l siteLimits) apply(qc *qlik.Config, bad func(field, value, want string) error) error {
	if l.Timeout != "" {
		d, err := time.ParseDuration(l.Timeout)
		if err != nil || d <= 0 {
			return bad("timeout", l.Timeout, "a positive duration like 10s")
		}
		qc.Timeout = d
	}
	switch {
	case l.Concurrency < 0:
		return bad("concurrency", fmt.Sprint(l.Concurrency), "a positive whole number like 16")
	case l.Concurrency > 0:
		qc.Concurrency = l.Concurrency
	}
	switch {
	case l.RPS < 0:
		return bad("rps", fmt.Sprint(l.RPS), "a positive number of calls per second like 100")
	case l.RPS > 0:
		qc.RequestsPerSecond = l.RPS
	}
	if l.TopologyTTL != "" {
		d, err := time.ParseDuration(l.TopologyTTL)
		if err != nil || d < 0 {
			return bad("topologyTTL", l.TopologyTTL, topologyTTLWant)
		}
		qc.TopologyTTL = qlikTopologyTTL(d)
	}
	return nil
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// baseQlikConfig is the qlik.Config the QLIKBOT_QLIK_* settings give (the
// single site, and what a site of the sites file leaves out), without the
// certificates.
func baseQlikConfig(cfg Config) qlik.Config {
	qc := qlik.Config{
		QRSHost:            cfg.QlikHost,
		QRSPort:            cfg.QlikQRSPort,
		QPSPort:            cfg.QlikQPSPort,
		EnginePort:         cfg.QlikEnginePort,
		InsecureSkipVerify: cfg.QlikInsecure,
		Timeout:            cfg.QlikTimeout,
		Concurrency:        cfg.QlikConcurrency,
		RequestsPerSecond:  cfg.QlikRPS,
		TopologyTTL:        qlikTopologyTTL(cfg.QlikTopologyTTL),
		Resolve:            cfg.QlikResolve,
	}
	qc.UserDirectory, qc.UserID, _ = splitQlikUser(cfg.QlikUser) // validated in loadConfig
	return qc
}

// envSite is the single site of the QLIKBOT_QLIK_* settings, named "default".
func envSite(cfg Config) siteSettings {
	return siteSettings{name: "default", def: true, qc: baseQlikConfig(cfg), certs: envCertFiles(cfg), cpuWarn: cfg.HealthCPU, memFreeWarn: cfg.HealthMemFree}
}
