package wire

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestParse: the location alone picks the store; an unknown URL scheme is
// refused rather than taken as a file name (which would put a URL's
// password into a path).
func TestParse(t *testing.T) {
	for in, want := range map[string]struct {
		kind  Kind
		where string
	}{
		"/var/lib/gatehouse/gatehouse.db":      {SQLite, "/var/lib/gatehouse/gatehouse.db"},
		"state/g.db":                           {SQLite, "state/g.db"},
		"sqlite:/var/lib/g.db":                 {SQLite, "/var/lib/g.db"},
		"sqlite:rel/g.db":                      {SQLite, "rel/g.db"},
		"sqlite:///abs/g.db":                   {SQLite, "/abs/g.db"},
		"postgres://u@db/g":                    {Postgres, "postgres://u@db/g"},
		"postgresql://u@db/g?sslmode=require":  {Postgres, "postgresql://u@db/g?sslmode=require"},
		"Postgres://u@db/g":                    {Postgres, "Postgres://u@db/g"},
		"POSTGRESQL://u@/g?host=/run/postgres": {Postgres, "POSTGRESQL://u@/g?host=/run/postgres"},
	} {
		kind, where, err := Parse(in)
		if err != nil || kind != want.kind || where != want.where {
			t.Errorf("Parse(%q) = %s, %q, %v; want %s, %q", in, kind, where, err, want.kind, want.where)
		}
	}
	for _, in := range []string{"", "mysql://u:pw@db/g", "postgress://u:pw@db/g", "sqlite:"} {
		_, _, err := Parse(in)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || strings.Contains(gatehouse.ErrorMessage(err), "pw") {
			t.Errorf("Parse(%q) err = %v, want invalid, without the URL's password", in, err)
		}
	}
}
