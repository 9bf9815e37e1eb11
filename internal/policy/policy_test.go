package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// good is a configuration that meets every rule in the table below.
func good() policy.Facts {
	c := gatehouse.ServerConfig{Mode: gatehouse.ModeOnPrem}
	c.Server = gatehouse.ServerConfigAddr{Configured: true, Address: "vsa.example.com", Port: 443}
	c.SSO = gatehouse.SSOSettings{Allow: true, Require: true, AutoCreate: false, Issuer: "https://idp.example", Exempt: []string{"alice", "bob"}}
	c.Support.Enabled = true
	c.Support.CredentialAge = "10d"
	c.Support.TTL = gatehouse.Duration(72 * time.Hour)
	c.Support.Recipients = []string{"SHA256:b", "SHA256:a"}
	c.Support.Endpoint = "https://vendor.example/e"
	c.Users = gatehouse.UsersSummary{Pending: 2, OldestPendingAge: "3d"}
	c.License.Used = 4
	return policy.Facts{Config: c, AuditOK: true, AuditDetail: "9/9 events valid"}
}

// TestEachKeyDetectsDrift: every policy key holds on the good
// configuration and reports drift when that one setting changes.
func TestEachKeyDetectsDrift(t *testing.T) {
	cases := []struct {
		line  string
		drift func(*policy.Facts)
	}{
		{"mode: onprem", func(f *policy.Facts) { f.Config.Mode = gatehouse.ModeCloud }},
		{"server.external_address: vsa.example.com", func(f *policy.Facts) { f.Config.Server.Address = "other.example" }},
		{"server.port: 443", func(f *policy.Facts) { f.Config.Server.Port = 8443 }},
		{"sso.allow: true", func(f *policy.Facts) { f.Config.SSO.Allow = false }},
		{"sso.require: true", func(f *policy.Facts) { f.Config.SSO.Require = false }},
		{"sso.auto_create: false", func(f *policy.Facts) { f.Config.SSO.AutoCreate = true }},
		{"sso.issuer: https://idp.example", func(f *policy.Facts) { f.Config.SSO.Issuer = "https://evil.example" }},
		{"sso.exempt: [bob, alice]", func(f *policy.Facts) { f.Config.SSO.Exempt = []string{"alice", "bob", "carol"} }},
		{"support.enabled: true", func(f *policy.Facts) { f.Config.Support.Enabled = false }},
		{"support.max_credential_age: 30d", func(f *policy.Facts) { f.Config.Support.CredentialAge = "31d" }},
		{"support.max_ttl: 72h", func(f *policy.Facts) { f.Config.Support.TTL = gatehouse.Duration(96 * time.Hour) }},
		{"support.recipients: [SHA256:a, SHA256:b]", func(f *policy.Facts) { f.Config.Support.Recipients = []string{"SHA256:a"} }},
		{"support.endpoint: https://vendor.example/e", func(f *policy.Facts) { f.Config.Support.Endpoint = "" }},
		{"users.max_pending: 2", func(f *policy.Facts) { f.Config.Users.Pending = 3 }},
		{"users.max_pending_age: 7d", func(f *policy.Facts) { f.Config.Users.OldestPendingAge = "8d" }},
		{"license.max_seats_used: 4", func(f *policy.Facts) { f.Config.License.Used = 5 }},
		{"audit.verify: true", func(f *policy.Facts) { f.AuditOK = false }},
	}
	for _, c := range cases {
		key, _, _ := strings.Cut(c.line, ":")
		t.Run(key, func(t *testing.T) {
			p, err := policy.Parse(strings.NewReader(c.line+"\n"), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if fs := policy.Check(p, good()); !fs[0].OK {
				t.Fatalf("%s drifted on the good configuration: %+v", key, fs[0])
			}
			f := good()
			c.drift(&f)
			if fs := policy.Check(p, f); fs[0].OK {
				t.Fatalf("%s did not detect drift: %+v", key, fs[0])
			}
		})
	}
}

// TestNestedEqualsDotted: sso: {allow: true} means sso.allow: true.
func TestNestedEqualsDotted(t *testing.T) {
	p, err := policy.Parse(strings.NewReader("sso:\n  allow: true\n  require: true\nusers.max_pending: 0\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range p.Rules {
		keys = append(keys, r.Key)
	}
	if got := strings.Join(keys, " "); got != "sso.allow sso.require users.max_pending" {
		t.Fatalf("keys = %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":           "is empty",
		"- a\n- b\n": "line 1: a policy is a mapping",
		"sso:\n  allow: true\n  requires: true\n": "line 3: unknown key",
		"sso.allow: yes please\n":                 "line 1: sso.allow: want true or false",
		"users.max_pending: lots\n":               "line 1: users.max_pending: want a whole number",
		"users.max_pending: -1\n":                 "want a whole number, 0 or more",
		"support.max_credential_age: 30 days\n":   "line 1: support.max_credential_age: want a duration such as 30d",
		"support.max_credential_age: 30\n":        "want a duration",
		"sso.exempt: alice\n":                     "want a list",
		"sso.allow: true\nsso:\n  allow: false\n": "sso.allow is stated twice (first on line 1)",
		"sso: [\n":                 "policy p.yaml: ",
		"bogus:\n  nested: true\n": "line 1: unknown key",
	} {
		_, err := policy.Parse(strings.NewReader(in), "p.yaml")
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v; want invalid containing %q", in, err, want)
		}
	}
}
