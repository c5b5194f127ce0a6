package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/qlik"
)

var parseOK = []struct {
	name string
	in   string
	want Command
}{
	{"empty is help", "", Command{Verb: VerbHelp}},
	{"help", "help", Command{Verb: VerbHelp}},
	{"help topic", "help Kick", Command{Verb: VerbHelp, Topic: VerbKick}},
	{"flag --help", "sessions finance --help", Command{Verb: VerbHelp, Topic: VerbSessions}},
	{"sessions all", "sessions", Command{Verb: VerbSessions}},
	{"sessions upper verb", "SESSIONS finance", Command{Verb: VerbSessions, Prefixes: []string{"finance"}}},
	{"sessions default spellings", `sessions default "" - finance`, Command{Verb: VerbSessions, Prefixes: []string{"", "finance"}}},
	{"sessions smart quotes", "sessions \u201c\u201d", Command{Verb: VerbSessions, Prefixes: []string{""}}},
	{"sessions literal default", "sessions =default", Command{Verb: VerbSessions, Prefixes: []string{"default"}}},
	{"sessions duplicate prefixes folded", "sessions hdr HDR", Command{Verb: VerbSessions, Prefixes: []string{"hdr"}}},
	{"sessions all flags", `sessions finance win --proxy pro2-win1.lab.ptarmiganlabs.net --proxy=pro2-win2.lab.ptarmiganlabs.net --user LAB\testuser_1 --sort=UserId --page 2`,
		Command{Verb: VerbSessions, Prefixes: []string{"finance", "win"}, Hosts: []string{central, dev1}, User: &qlik.UserRef{Directory: "LAB", ID: "testuser_1"}, Sort: "userid", Page: 2}},
	{"sessions ip host", "sessions --proxy 127.0.0.2", Command{Verb: VerbSessions, Hosts: []string{"127.0.0.2"}}},
	{"users min page", "users finance --min 3 --page=4", Command{Verb: VerbUsers, Prefixes: []string{"finance"}, Min: 3, Page: 4}},
	{"proxies", "proxies", Command{Verb: VerbProxies}},
	{"delete", "delete finance 55142B14-8d2d-43b3-a522-4b2fb46b2798 d1b5d953-4312-4cf2-a106-1992a84dd82b",
		Command{Verb: VerbDelete, Prefixes: []string{"finance"}, SessionIDs: []string{user1ID, user2ID}}},
	{"delete default", "delete default " + goranID, Command{Verb: VerbDelete, Prefixes: []string{""}, SessionIDs: []string{goranID}}},
	{"kick prefix", "kick finance --proxy " + central, Command{Verb: VerbKick, Prefixes: []string{"finance"}, Hosts: []string{central}}},
	{"kick user", `kick --user LAB\testuser_1`, Command{Verb: VerbKick, User: &qlik.UserRef{Directory: "LAB", ID: "testuser_1"}}},
	{"kick user prefixes", `kick --user=LAB\ann finance win`, Command{Verb: VerbKick, User: &qlik.UserRef{Directory: "LAB", ID: "ann"}, Prefixes: []string{"finance", "win"}}},
	{"audit default", "audit", Command{Verb: VerbAudit, N: defaultAudit}},
	{"audit n", "audit 50", Command{Verb: VerbAudit, N: 50}},
	{"whoami", "  whoami  ", Command{Verb: VerbWhoami}},
	{"approve by id", "approve 3AF6E3D85BC85C2627A4F8FD1570DB60", Command{Verb: VerbApprove, Approval: "3af6e3d85bc85c2627a4f8fd1570db60"}},
	{"reject by id", "reject 3af6e3d85bc85c2627a4f8fd1570db60", Command{Verb: VerbReject, Approval: "3af6e3d85bc85c2627a4f8fd1570db60"}},
	{"sessions site lower-cased", "sessions finance --site Test", Command{Verb: VerbSessions, Prefixes: []string{"finance"}, Site: "test"}},
	{"site on every verb but help", "kick --site=prod finance", Command{Verb: VerbKick, Prefixes: []string{"finance"}, Site: "prod"}},
	{"approve on a site", "approve 3af6e3d85bc85c2627a4f8fd1570db60 --site test", Command{Verb: VerbApprove, Approval: "3af6e3d85bc85c2627a4f8fd1570db60", Site: "test"}},
	{"audit of a site", "audit --site eu-west_2", Command{Verb: VerbAudit, N: defaultAudit, Site: "eu-west_2"}},
	{"whoami on a site", "whoami --site prod", Command{Verb: VerbWhoami, Site: "prod"}},
	{"health", "health", Command{Verb: VerbHealth}},
	{"health of nodes", "Health Central central pro2-win2.lab.ptarmiganlabs.net --site test", Command{Verb: VerbHealth, Nodes: []string{"Central", dev1}, Site: "test"}},
}

var parseBad = []struct {
	name    string
	in      string
	verb    string // the UsageError's Verb
	mistake string // must appear in the message
}{
	{"unknown command", "sesions finance", "", `unknown command "sesions"`},
	{"unknown flag", "sessions --foo bar", VerbSessions, `unknown flag "--foo"`},
	{"single dash flag", "sessions -p x", VerbSessions, `unknown flag "-p"`},
	{"flag not for verb", "users --sort userid", VerbUsers, `unknown flag "--sort"`},
	{"site on help", "help --site prod", VerbHelp, `unknown flag "--site"`},
	{"health of a bad node", "health bad_node", VerbHealth, `"bad_node" is not a node`},
	{"health by proxy", "health --proxy dev1", VerbHealth, `unknown flag "--proxy"`},
	{"site with a slash", "sessions --site pr/od", VerbSessions, `--site: site "pr/od"`},
	{"site too long", "proxies --site " + strings.Repeat("s", 33), VerbProxies, "at most 32"},
	{"site twice", "sessions --site a --site b", VerbSessions, "--site given twice"},
	{"site misspelt flag", "sessions --sitr prod", VerbSessions, "did you mean --site?"},
	{"flag without value", "sessions --proxy", VerbSessions, "--proxy needs a value"},
	{"flag followed by flag", "sessions --user --page 2", VerbSessions, "--user needs a value"},
	{"flag twice", "sessions --page 1 --page 2", VerbSessions, "--page given twice"},
	{"bad host", "sessions --proxy bad_host", VerbSessions, `--proxy "bad_host" is not a host name`},
	{"host with slash", "sessions --proxy a/b", VerbSessions, "is not a host name"},
	{"host label dash", "sessions --proxy -a.b", VerbSessions, "is not a host name"},
	{"host too long", "sessions --proxy " + strings.Repeat("a.", 130) + "a", VerbSessions, "is not a host name"},
	{"bad sort", "sessions --sort size", VerbSessions, `--sort "size": sort by one of prefix`},
	{"page zero", "sessions --page 0", VerbSessions, "give a page number"},
	{"page text", "sessions --page two", VerbSessions, "give a page number"},
	{"min negative", "users --min -1", VerbUsers, `--min "-1": give a session count`},
	{"min zero", "users --min=0", VerbUsers, "give a session count"},
	{"prefix slash", "sessions fin/ance", VerbSessions, "is not a virtual proxy prefix"},
	{"prefix dotdot", "sessions ..", VerbSessions, "is not a virtual proxy prefix"},
	{"prefix dot", "sessions =.", VerbSessions, "is not a virtual proxy prefix"},
	{"prefix too long", "sessions " + strings.Repeat("a", 65), VerbSessions, "is not a virtual proxy prefix"},
	{"prefix percent", "sessions fin%2fance", VerbSessions, "is not a virtual proxy prefix"},
	{"prefix query", "sessions fin?x=1", VerbSessions, "is not a virtual proxy prefix"},
	{"user no backslash", "sessions --user LAB/testuser_1", VerbSessions, `write the user as DIRECTORY\ID`},
	{"user empty dir", `sessions --user \testuser_1`, VerbSessions, "the directory is empty"},
	{"user empty id", `sessions --user LAB\`, VerbSessions, "the user id is empty"},
	{"user double backslash", `sessions --user LAB\\x`, VerbSessions, "not allowed"},
	{"user slash in id", `sessions --user LAB\a/b`, VerbSessions, "not allowed"},
	{"user dotdot", `sessions --user LAB\..`, VerbSessions, `the user id ".." is not allowed`},
	{"user control", "sessions --user LAB\\a\x01b", VerbSessions, "not allowed"},
	{"user too long", `sessions --user LAB\` + strings.Repeat("x", 129), VerbSessions, "longer than 128"},
	{"delete nothing", "delete", VerbDelete, "needs a virtual proxy prefix"},
	{"delete no ids", "delete finance", VerbDelete, "at least one session (its handle or id)"},
	{"delete bad id", "delete finance 1234", VerbDelete, `"1234" is not a session: give its handle`},
	{"delete path id", "delete finance ../../qrs/about", VerbDelete, "is not a session"},
	{"delete flag", "delete finance --proxy x " + user1ID, VerbDelete, `unknown flag "--proxy"`},
	{"kick nothing", "kick", VerbKick, "exactly one virtual proxy prefix"},
	{"kick two prefixes", "kick finance win", VerbKick, "exactly one virtual proxy prefix"},
	{"audit text", "audit lots", VerbAudit, "give a number of events"},
	{"audit too many", "audit 201", VerbAudit, "give a number of events"},
	{"audit two", "audit 1 2", VerbAudit, "at most one number"},
	{"whoami arg", "whoami me", VerbWhoami, "takes no arguments"},
	{"approve no id", "approve", VerbApprove, "needs the approval id"},
	{"approve bad id", "approve ../../x", VerbApprove, "needs the approval id"},
	{"approve two ids", "approve 3af6e3d85bc85c2627a4f8fd1570db60 3af6e3d85bc85c2627a4f8fd1570db61", VerbApprove, "needs the approval id"},
	{"reject flag", "reject --user LAB\\a 3af6e3d85bc85c2627a4f8fd1570db60", VerbReject, `unknown flag "--user"`},
	{"proxies arg", "proxies finance", VerbProxies, "takes no arguments"},
	{"help unknown", "help nothing", "", `no help for unknown command "nothing"`},
	{"help two", "help kick delete", VerbHelp, "at most one command"},
	{"too long", "sessions " + strings.Repeat("a ", 2500), "", "command too long"},
	{"too many words", strings.Repeat("a ", 201), "", "too many words"},
	{"invalid utf8", "sessions \xff", "", "not valid UTF-8"},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range parseOK {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
			// The canonical form reads back to the same command: buttons
			// rely on it.
			again, err := Parse(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("Parse(String()=%q) = %#v, %v; want %#v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range parseBad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.in)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) = %v, want *UsageError", tc.in, err)
			}
			if ue.Verb != tc.verb {
				t.Errorf("Verb = %q, want %q", ue.Verb, tc.verb)
			}
			if !strings.Contains(ue.Error(), tc.mistake) {
				t.Errorf("error %q does not name the mistake %q", ue.Error(), tc.mistake)
			}
			// The message shows the right form.
			want := "commands: "
			if s, ok := specs[tc.verb]; ok {
				want = "usage: " + s.form()
			}
			if !strings.Contains(ue.Error(), want) {
				t.Errorf("error %q does not show %q", ue.Error(), want)
			}
		})
	}
}

func TestValidateRejectsHandBuiltCommands(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cmd  Command
	}{
		{"unknown verb", Command{Verb: "rm"}},
		{"prefix with slash", Command{Verb: VerbSessions, Prefixes: []string{"a/b"}}},
		{"user traversal", Command{Verb: VerbSessions, User: &qlik.UserRef{Directory: "..", ID: "x"}}},
		{"sort on users", Command{Verb: VerbUsers, Sort: "userid"}},
		{"ids on kick", Command{Verb: VerbKick, Prefixes: []string{"a"}, SessionIDs: []string{user1ID}}},
		{"kick without prefix", Command{Verb: VerbKick}},
		{"delete two prefixes", Command{Verb: VerbDelete, Prefixes: []string{"a", "b"}, SessionIDs: []string{user1ID}}},
		{"audit zero", Command{Verb: VerbAudit}},
		{"topic on sessions", Command{Verb: VerbSessions, Topic: VerbKick}},
		{"host bad", Command{Verb: VerbSessions, Hosts: []string{"a..b"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ue *UsageError
			if err := tc.cmd.Validate(); !errors.As(err, &ue) {
				t.Fatalf("Validate(%#v) = %v, want *UsageError", tc.cmd, err)
			}
		})
	}
}

// FuzzParse: Parse never panics; what it returns validates, reads back
// from its canonical form, and holds nothing that could leave its URL
// path segment.
func FuzzParse(f *testing.F) {
	for _, tc := range parseOK {
		f.Add(tc.in)
	}
	for _, tc := range parseBad {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(in)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) error %T, want *UsageError", in, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) = %#v which does not validate: %v", in, c, err)
		}
		again, err := Parse(c.String())
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("Parse(%q).String() = %q reads back as %#v, %v", in, c.String(), again, err)
		}
		segs := append([]string{}, c.Prefixes...)
		segs = append(segs, c.SessionIDs...)
		if c.User != nil {
			segs = append(segs, c.User.Directory, c.User.ID)
		}
		for _, s := range segs {
			if strings.ContainsAny(s, `/\?#%`) || s == "." || s == ".." || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("Parse(%q): URL segment %q could escape its path segment", in, s)
			}
		}
		for _, h := range c.Hosts {
			if strings.ContainsAny(h, `/\?#%@: `) {
				t.Fatalf("Parse(%q): host %q is not a bare host name", in, h)
			}
		}
	})
}
