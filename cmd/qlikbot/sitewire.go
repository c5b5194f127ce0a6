package main

import (
	"fmt"
	"strings"

	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// qlikSite is one Qlik Sense site qlikbot serves.
type qlikSite struct {
	settings siteSettings // the certificates read, the client made with them
	client   *qlik.Client
	sim      *qliksim.Server // the demo's simulator
}

// buildQlik makes one Qlik client per site: the sites of QLIKBOT_SITES,
// the one site of the QLIKBOT_QLIK_* settings, or the demo's simulators.
func (a *app) buildQlik() error {
	if a.cfg.Demo() {
		return a.startDemoSites()
	}
	settings := []siteSettings{envSite(a.cfg)}
	if a.cfg.Sites != "" {
		var err error
		if settings, err = loadSites(a.cfg.Sites, a.cfg); err != nil {
			return err
		}
	}
	for _, s := range settings {
		qc := s.qc
		var err error
		if qc.CertPEM, qc.KeyPEM, qc.RootPEM, err = s.certs.load(); err != nil {
			return err
		}
		if err := a.addSite(s, qc, nil); err != nil {
			return err
		}
	}
	return nil
}

// addSite makes the site's client.
func (a *app) addSite(s siteSettings, qc qlik.Config, sim *qliksim.Server) error {
	qc.Logger = a.log.With("site", s.name)
	qc.Observe = a.metrics.observeQlik(s.name)
	c, err := qlik.New(qc)
	if err != nil {
		if sim != nil {
			sim.Close()
		}
		return configErr("qlik: site %s: %v", s.name, err)
	}
	a.metrics.qlikLimits.add(s.name, c.Limits)
	a.sites = append(a.sites, &qlikSite{settings: s, client: c, sim: sim})
	return nil
}

// demoTestLab is the demo's second site: small, generated, so that
// --site and the merged lists can be tried.
func demoTestLab() qliksim.Lab {
	return qliksim.Generate(qliksim.GenOptions{Nodes: 2, VirtualProxies: 3, Sessions: 8, Users: 4, Seed: 2})
}

// startDemoSites starts the demo's two simulated sites in-process: prod
// (the seed lab) and test (demoTestLab), each with its own certificates.
func (a *app) startDemoSites() error {
	test := demoTestLab()
	labs := []struct {
		name, what string
		opts       []qliksim.Option
	}{
		{"prod", "the seed lab and a kiosk virtual proxy with a user at the session limit", []qliksim.Option{qliksim.WithLab(demoProdLab())}},
		{"test", "a generated lab", []qliksim.Option{qliksim.WithLab(test)}},
	}
	var said []string
	for i, l := range labs {
		sim, err := qliksim.Start(append(l.opts, qliksim.WithLogger(a.log.With("site", l.name)), qliksim.WithRequestLogLimit(10000))...)
		if err != nil {
			return fmt.Errorf("start the built-in Qlik simulator of site %s: %w", l.name, err)
		}
		qc := baseQlikConfig(a.cfg)
		qc.QRSHost, qc.QRSPort, qc.QPSPort = sim.QRSHost(), sim.QRSPort(), sim.QPSPort()
		qc.CertPEM, qc.KeyPEM, qc.RootPEM = sim.CertPEM(), sim.KeyPEM(), sim.RootPEM()
		qc.Resolve = sim.Resolve()
		qc.EnginePort = sim.EnginePort()
		st := siteSettings{name: l.name, def: i == 0, cpuWarn: a.cfg.HealthCPU, memFreeWarn: a.cfg.HealthMemFree}
		if err := a.addSite(st, qc, sim); err != nil {
			return err
		}
		said = append(said, fmt.Sprintf("site %s (%s: %d nodes, %d sessions, QRS at %s:%d)", l.name, l.what, len(sim.Hosts()), sim.AllSessions(), sim.QRSHost(), sim.QRSPort()))
	}
	fmt.Fprintf(a.stderr, "qlikbot: QLIKBOT_QLIK_HOST is not set: using the built-in Qlik Sense simulators (QLIKBOT_QLIK_HOST or QLIKBOT_SITES name real sites), %s\n", strings.Join(said, " and "))
	return nil
}

// engineSites are the sites as the engine takes them, each reporting its
// session lists to the metrics.
func (a *app) engineSites() []commands.Site {
	out := make([]commands.Site, len(a.sites))
	for i, s := range a.sites {
		out[i] = commands.Site{Name: s.settings.name, Default: s.settings.def, Qlik: observedQlik{s.client, a.metrics, s.settings.name},
			CPUWarn: s.settings.cpuWarn, MemFreeWarn: s.settings.memFreeWarn}
	}
	return out
}

func (a *app) siteNames() []string {
	out := make([]string, len(a.sites))
	for i, s := range a.sites {
		out[i] = s.settings.name
	}
	return out
}
