package sqlite

import (
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// stateSelect reads an account's security state (gatehouse.UserStateRow)
// from the rows themselves: the link tables, not the ungranted flag that
// triggers derive from them.
const stateSelect = `SELECT u.id, u.name, u.kind, coalesce(u.email, ''), u.enabled, u.msp_admin,
	coalesce(u.sso_issuer, ''), coalesce(u.sso_subject, ''),
	EXISTS (SELECT 1 FROM sso_exemptions e WHERE e.user_id = u.id),
	coalesce(u.password_hash, ''),
	coalesce((SELECT group_concat(r.name, char(31)) FROM user_roles x JOIN roles r ON r.id = x.role_id WHERE x.user_id = u.id), ''),
	coalesce((SELECT group_concat(r.name, char(31)) FROM user_scopes x JOIN scopes r ON r.id = x.scope_id WHERE x.user_id = u.id), ''),
	coalesce((SELECT group_concat(r.name, char(31)) FROM user_groups x JOIN groups r ON r.id = x.group_id WHERE x.user_id = u.id), ''),
	coalesce((SELECT group_concat(r.name, char(31)) FROM user_orgs x JOIN orgs r ON r.id = x.org_id WHERE x.user_id = u.id), '')
	FROM users u`

func scanUserState(r rowScanner) (gatehouse.UserStateRow, error) {
	var s gatehouse.UserStateRow
	var roles, scopes, groups, orgs string
	err := r.Scan(&s.ID, &s.Name, &s.Kind, &s.Email, &s.Enabled, &s.MSPAdmin, &s.SSOIssuer, &s.SSOSubject,
		&s.SSOExempt, &s.PasswordHash, &roles, &scopes, &groups, &orgs)
	s.Roles, s.Scopes, s.Groups, s.Orgs = splitNames(roles), splitNames(scopes), splitNames(groups), splitNames(orgs)
	return s, err
}

// UserState reads an account's security state.
func (tx *Tx) UserState(id int64) (gatehouse.UserStateRow, bool, error) {
	s, err := scanUserState(tx.tx.QueryRowContext(tx.ctx, stateSelect+" WHERE u.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	return s, err == nil, err
}

// UserStates calls fn for every account's security state, by ID.
func (tx *Tx) UserStates(fn func(r *gatehouse.UserStateRow) error) error {
	rows, err := tx.tx.QueryContext(tx.ctx, stateSelect+" ORDER BY u.id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanUserState(rows)
		if err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AllSettings returns every setting.
func (tx *Tx) AllSettings() (map[string]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT key, value FROM settings")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}
