package gatehouse_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestEscapeUnsafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain ascii <>&", "plain ascii <>&"},
		{"Société 東京", "Société 東京"},
		{"x\x1b[31m", `x\u001b[31m`},
		{"x\u009b31m", `x\u009b31m`},
		{"evil\u202etxt", `evil\u202etxt`},
		{"a\u2066b\u2069", `a\u2066b\u2069`},
		{"a\u200bb\u200dc\ufeff", `a\u200bb\u200dc\ufeff`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"kept \ufffd", "kept \ufffd"},
	} {
		if got := gatehouse.EscapeUnsafe(c.in); got != c.want {
			t.Errorf("EscapeUnsafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNameSkeleton(t *testing.T) {
	same := [][2]string{
		{"ann@example.com", "\u0430nn@example.com"}, // Cyrillic а
		{"ann@example.com", "ANN@example.com"},
		{"jrn@example.com", "jm@example.com"},
		{"paypal", "𝔭𝒶ỿ𝕡𝕒ℓ"},
	}
	for _, p := range same {
		if gatehouse.NameSkeleton(p[0]) != gatehouse.NameSkeleton(p[1]) {
			t.Errorf("%q and %q: different skeletons, want the same", p[0], p[1])
		}
	}
	for _, p := range [][2]string{{"ann@example.com", "anna@example.com"}, {"bob", "rob"}} {
		if gatehouse.NameSkeleton(p[0]) == gatehouse.NameSkeleton(p[1]) {
			t.Errorf("%q and %q: same skeleton, want different", p[0], p[1])
		}
	}
}
