// Package policy reads a configuration policy — the settings a CI job
// expects the store to have — and checks a store's configuration against
// it. Policies are YAML, with dotted keys (sso.require: true) or nested
// mappings (sso: {require: true}), read strictly: an unknown key, a wrong
// type or a bad duration is an error naming the line.
package policy

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"gopkg.in/yaml.v3"
)

// kind is the type of a policy value.
type kind int

const (
	kBool kind = iota
	kInt
	kString
	kDuration
	kList
)

// keys are the policy keys gatehouse knows, and their types.
var keys = map[string]kind{
	"mode":                       kString,
	"server.external_address":    kString,
	"server.port":                kInt,
	"sso.allow":                  kBool,
	"sso.require":                kBool,
	"sso.auto_create":            kBool,
	"sso.issuer":                 kString,
	"sso.exempt":                 kList,
	"support.enabled":            kBool,
	"support.max_credential_age": kDuration,
	"support.max_ttl":            kDuration,
	"support.recipients":         kList,
	"support.endpoint":           kString,
	"users.max_pending":          kInt,
	"users.max_pending_age":      kDuration,
	"license.max_seats_used":     kInt,
	"audit.verify":               kBool,
}

// Rule is one expectation of a policy.
type Rule struct {
	Key  string
	Line int
	kind kind
	b    bool
	n    int
	s    string
	d    time.Duration
	list []string
}

// Policy is a parsed policy: its rules in file order.
type Policy struct {
	Rules []Rule
}

// Has reports whether the policy states key.
func (p *Policy) Has(key string) bool {
	return slices.ContainsFunc(p.Rules, func(r Rule) bool { return r.Key == key })
}

// maxPolicy bounds a policy file.
const maxPolicy = 1 << 20

// Parse reads a policy. name is used in error messages.
func Parse(r io.Reader, name string) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicy+1))
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "policy %s: %v", name, err)
	}
	if len(data) > maxPolicy {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "policy %s is larger than %d bytes", name, maxPolicy)
	}
	bad := func(line int, format string, args ...any) error {
		return gatehouse.Errorf(gatehouse.EINVALID, "policy %s line %d: %s", name, line, fmt.Sprintf(format, args...))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "policy %s is empty: state at least one expected setting", name)
		}
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "policy %s: %s", name, config.YAMLError(err.Error()))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, bad(doc.Line, "a policy is a mapping of settings to expected values (e.g. sso.require: true)")
	}
	p := &Policy{}
	seen := map[string]int{}
	var walk func(prefix string, m *yaml.Node) error
	walk = func(prefix string, m *yaml.Node) error {
		for i := 0; i+1 < len(m.Content); i += 2 {
			kn, vn := m.Content[i], m.Content[i+1]
			key := prefix + kn.Value
			if prev, dup := seen[key]; dup {
				return bad(kn.Line, "%s is stated twice (first on line %d)", key, prev)
			}
			k, known := keys[key]
			if !known && vn.Kind == yaml.MappingNode && isPrefix(key+".") {
				if err := walk(key+".", vn); err != nil {
					return err
				}
				continue
			}
			if !known {
				// Not named: it may be anything pasted into the wrong file.
				return bad(kn.Line, "unknown key")
			}
			seen[key] = kn.Line
			rule, err := parseValue(key, k, vn)
			if err != nil {
				return bad(vn.Line, "%s: %s", key, err)
			}
			rule.Line = kn.Line
			p.Rules = append(p.Rules, rule)
		}
		return nil
	}
	if err := walk("", doc.Content[0]); err != nil {
		return nil, err
	}
	if len(p.Rules) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "policy %s states no settings", name)
	}
	return p, nil
}

func isPrefix(prefix string) bool {
	for k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func parseValue(key string, k kind, n *yaml.Node) (Rule, error) {
	r := Rule{Key: key, kind: k}
	scalar := n.Kind == yaml.ScalarNode
	switch k {
	case kBool:
		if !scalar || n.Tag != "!!bool" {
			return r, fmt.Errorf("want true or false")
		}
		r.b = n.Value == "true"
	case kInt:
		v, err := strconv.Atoi(n.Value)
		if !scalar || n.Tag != "!!int" || err != nil || v < 0 {
			return r, fmt.Errorf("want a whole number, 0 or more")
		}
		r.n = v
	case kString:
		if !scalar || n.Tag != "!!str" {
			return r, fmt.Errorf("want a string")
		}
		r.s = n.Value
	case kDuration:
		if !scalar || n.Tag != "!!str" {
			return r, fmt.Errorf("want a duration such as 30d")
		}
		d, err := gatehouse.ParseDuration(n.Value)
		if err != nil {
			return r, fmt.Errorf("want a duration such as 30d")
		}
		r.d = d
	case kList:
		if n.Kind != yaml.SequenceNode {
			return r, fmt.Errorf("want a list")
		}
		r.list = []string{}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Tag != "!!str" {
				return r, fmt.Errorf("want a list of strings")
			}
			r.list = append(r.list, c.Value)
		}
	}
	return r, nil
}

// Finding is the result of one rule.
type Finding struct {
	Key      string `json:"key"`
	Line     int    `json:"line"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	OK       bool   `json:"ok"`
}

// Facts are what a policy is checked against.
type Facts struct {
	Config gatehouse.ServerConfig
	// AuditOK and AuditDetail are the result of verifying the chain; they
	// are read only when the policy states audit.verify.
	AuditOK     bool
	AuditDetail string
}

// Check evaluates every rule. It is pure: the caller gathers the facts.
func Check(p *Policy, f Facts) []Finding {
	c := f.Config
	out := make([]Finding, 0, len(p.Rules))
	for _, r := range p.Rules {
		fd := Finding{Key: r.Key, Line: r.Line}
		eqBool := func(actual bool) {
			fd.Expected, fd.Actual, fd.OK = strconv.FormatBool(r.b), strconv.FormatBool(actual), r.b == actual
		}
		eqStr := func(actual string) { fd.Expected, fd.Actual, fd.OK = r.s, actual, r.s == actual }
		atMost := func(actual int) {
			fd.Expected, fd.Actual, fd.OK = "at most "+strconv.Itoa(r.n), strconv.Itoa(actual), actual <= r.n
		}
		atMostDur := func(actual string) {
			fd.Expected = "at most " + gatehouse.FormatDuration(r.d)
			fd.Actual, fd.OK = actual, true
			if actual == "" {
				fd.Actual = "none"
				return
			}
			d, _ := gatehouse.ParseDuration(actual)
			fd.OK = d <= r.d
		}
		sameSet := func(actual []string) {
			a, e := slices.Clone(actual), slices.Clone(r.list)
			slices.Sort(a)
			slices.Sort(e)
			fd.Expected, fd.Actual, fd.OK = "["+strings.Join(e, ", ")+"]", "["+strings.Join(a, ", ")+"]", slices.Equal(a, e)
		}
		switch r.Key {
		case "mode":
			eqStr(string(c.Mode))
		case "server.external_address":
			eqStr(c.Server.Address)
		case "server.port":
			fd.Expected, fd.Actual, fd.OK = strconv.Itoa(r.n), strconv.Itoa(c.Server.Port), r.n == c.Server.Port
		case "sso.allow":
			eqBool(c.SSO.Allow)
		case "sso.require":
			eqBool(c.SSO.Require)
		case "sso.auto_create":
			eqBool(c.SSO.AutoCreate)
		case "sso.issuer":
			eqStr(c.SSO.Issuer)
		case "sso.exempt":
			sameSet(c.SSO.Exempt)
		case "support.enabled":
			eqBool(c.Support.Enabled)
		case "support.max_credential_age":
			atMostDur(c.Support.CredentialAge)
		case "support.max_ttl":
			atMostDur(gatehouse.FormatDuration(time.Duration(c.Support.TTL)))
		case "support.recipients":
			sameSet(c.Support.Recipients)
		case "support.endpoint":
			eqStr(c.Support.Endpoint)
		case "users.max_pending":
			atMost(c.Users.Pending)
		case "users.max_pending_age":
			atMostDur(c.Users.OldestPendingAge)
		case "license.max_seats_used":
			atMost(c.License.Used)
		case "audit.verify":
			fd.Expected, fd.Actual = strconv.FormatBool(r.b), f.AuditDetail
			fd.OK = !r.b || f.AuditOK
		}
		out = append(out, fd)
	}
	return out
}
