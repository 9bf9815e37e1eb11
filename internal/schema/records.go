package schema

import "github.com/gatehouse-dev/gatehouse/pkg/gatehouse"

// recordTables are the tables of each kind of record (role, scope, group,
// org), the same in every store: the records, the links to users, and the
// link's record column. Statements take table names from here only, never
// from a caller.
var recordTables = map[string]struct{ table, link, col string }{
	"role":  {"roles", "user_roles", "role_id"},
	"scope": {"scopes", "user_scopes", "scope_id"},
	"group": {"groups", "user_groups", "group_id"},
	"org":   {"orgs", "user_orgs", "org_id"},
}

// RecordTable returns the tables of a kind of record.
func RecordTable(kind string) (table, link, col string, err error) {
	t, ok := recordTables[kind]
	if !ok {
		return "", "", "", gatehouse.Errorf(gatehouse.EINTERNAL, "no kind of record %q", kind)
	}
	return t.table, t.link, t.col, nil
}
