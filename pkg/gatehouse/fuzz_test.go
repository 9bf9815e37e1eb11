package gatehouse_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// FuzzNormaliseEmail: normalising is idempotent, so two spellings that
// normalise alike stay alike; a refusal is always EINVALID.
func FuzzNormaliseEmail(f *testing.F) {
	for _, s := range []string{"Ann@Example.COM", " ann@example.com ", "JÖRG@bücher.example", "Maße@example.com",
		"e\u0301@example.com", "a@b", "a@@b.c", "@example.com", "ann@xn--bcher-kva.example", "\xff@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := gatehouse.NormaliseEmail(s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("code %q", gatehouse.ErrorCode(err))
			}
			return
		}
		again, err := gatehouse.NormaliseEmail(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, n, again, err)
		}
	})
}

// FuzzParseDuration: an accepted duration is positive and formats to text
// that parses back to the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "1d12h", "90m", "2w", "0d", "-1h", "1.5h", "99999999999999999999d", "7", "3000000w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := gatehouse.ParseDuration(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("%q parsed to %v", s, d)
		}
		back, err := gatehouse.ParseDuration(gatehouse.FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("%q -> %v -> %q -> %v (%v)", s, d, gatehouse.FormatDuration(d), back, err)
		}
	})
}
