package policy_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// FuzzParse: any file is a policy or an EINVALID naming what is wrong,
// never a panic; an accepted policy can be checked.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"sso.allow: true\n", "sso:\n  allow: true\n  exempt: [a, b]\n", "support.max_credential_age: 30d\n",
		"users.max_pending: lots\n", "- a\n", "sso: [\n", "a: &x 1\nb: *x\n", "sso.allow: !!binary aGk=\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := policy.Parse(strings.NewReader(s), "p.yaml")
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("code %q: %v", gatehouse.ErrorCode(err), err)
			}
			return
		}
		if fs := policy.Check(p, policy.Facts{}); len(fs) != len(p.Rules) {
			t.Fatalf("%d findings for %d rules", len(fs), len(p.Rules))
		}
	})
}
