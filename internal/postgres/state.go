package postgres

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// stateSelect reads an account's security state (gatehouse.UserStateRow)
// from the rows themselves: the link tables, not the ungranted flag that
// triggers derive from them.
const stateSelect = `SELECT u.id, u.name, u.kind, coalesce(u.email, ''), u.enabled, u.msp_admin,
	coalesce(u.sso_issuer, ''), coalesce(u.sso_subject, ''),
	EXISTS (SELECT 1 FROM sso_exemptions e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id),
	coalesce(u.password_hash, ''),
	coalesce((SELECT string_agg(r.name, chr(31)) FROM user_roles x
		JOIN roles r ON r.tenant_id = x.tenant_id AND r.id = x.role_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), ''),
	coalesce((SELECT string_agg(r.name, chr(31)) FROM user_scopes x
		JOIN scopes r ON r.tenant_id = x.tenant_id AND r.id = x.scope_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), ''),
	coalesce((SELECT string_agg(r.name, chr(31)) FROM user_groups x
		JOIN groups r ON r.tenant_id = x.tenant_id AND r.id = x.group_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), ''),
	coalesce((SELECT string_agg(r.name, chr(31)) FROM user_orgs x
		JOIN orgs r ON r.tenant_id = x.tenant_id AND r.id = x.org_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), '')
	FROM users u WHERE u.tenant_id = $1`

func scanUserState(r pgx.Row) (gatehouse.UserStateRow, error) {
	var s gatehouse.UserStateRow
	var roles, scopes, groups, orgs string
	err := r.Scan(&s.ID, &s.Name, &s.Kind, &s.Email, &s.Enabled, &s.MSPAdmin, &s.SSOIssuer, &s.SSOSubject,
		&s.SSOExempt, &s.PasswordHash, &roles, &scopes, &groups, &orgs)
	s.Roles, s.Scopes, s.Groups, s.Orgs = splitNames(roles), splitNames(scopes), splitNames(groups), splitNames(orgs)
	return s, err
}

// UserState reads an account's security state.
func (v *View) UserState(id int64) (gatehouse.UserStateRow, bool, error) {
	s, err := scanUserState(v.queryRow(stateSelect+" AND u.id = $2", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return gatehouse.UserStateRow{}, false, nil
	}
	return s, err == nil, classify(err, "read a user")
}

// UserStates calls fn for every account's security state, by ID.
func (v *View) UserStates(fn func(r *gatehouse.UserStateRow) error) error {
	rows, err := v.query(stateSelect + " ORDER BY u.id")
	if err != nil {
		return classify(err, "read the users")
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanUserState(rows)
		if err != nil {
			return classify(err, "read the users")
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return classify(rows.Err(), "read the users")
}

// AllSettings returns every setting.
func (v *View) AllSettings() (map[string]string, error) {
	rows, err := v.query("SELECT key, value FROM settings WHERE tenant_id = $1")
	if err != nil {
		return nil, classify(err, "read the settings")
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err != nil {
			return nil, classify(err, "read the settings")
		}
		m[k] = val
	}
	return m, classify(rows.Err(), "read the settings")
}
