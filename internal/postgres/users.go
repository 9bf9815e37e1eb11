package postgres

import (
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// pendingCondition is gatehouse.PendingCondition in SQL: enabled, no role,
// group or organisation (ungranted, kept by triggers on the link tables),
// not an MSP admin, not the support account. Its terms are the partial
// index users_pending's.
const pendingCondition = `u.ungranted AND u.enabled AND NOT u.msp_admin AND u.kind <> 'support'`

// userSelect reads a user with its grants, as SQLite's does: names of one
// kind in the order of their IDs, joined by U+001F; an ungranted user's
// roles, groups and organisations are not looked up; LockedUntil is the
// stored lock of the current credential (the support credential's request
// ID, else the local password's "").
const userSelect = `SELECT u.id, u.name, u.kind, coalesce(u.email, ''), u.enabled, u.msp_admin,
	u.created_at, u.created_via, u.created_by, u.last_signin_at,
	coalesce(u.sso_issuer, ''), coalesce(u.sso_subject, ''),
	EXISTS (SELECT 1 FROM sso_exemptions e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id),
	(` + pendingCondition + `),
	CASE WHEN u.ungranted THEN '' ELSE coalesce((SELECT string_agg(r.name, chr(31) ORDER BY x.role_id) FROM user_roles x
		JOIN roles r ON r.tenant_id = x.tenant_id AND r.id = x.role_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), '') END,
	coalesce((SELECT string_agg(r.name, chr(31) ORDER BY x.scope_id) FROM user_scopes x
		JOIN scopes r ON r.tenant_id = x.tenant_id AND r.id = x.scope_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), ''),
	CASE WHEN u.ungranted THEN '' ELSE coalesce((SELECT string_agg(r.name, chr(31) ORDER BY x.group_id) FROM user_groups x
		JOIN groups r ON r.tenant_id = x.tenant_id AND r.id = x.group_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), '') END,
	CASE WHEN u.ungranted THEN '' ELSE coalesce((SELECT string_agg(r.name, chr(31) ORDER BY x.org_id) FROM user_orgs x
		JOIN orgs r ON r.tenant_id = x.tenant_id AND r.id = x.org_id WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id), '') END,
	(SELECT f.locked_until FROM login_failures f WHERE f.tenant_id = u.tenant_id AND f.user_id = u.id
		AND f.credential = coalesce((SELECT c.request_id FROM support_credentials c WHERE c.tenant_id = u.tenant_id AND c.user_id = u.id), ''))
	FROM users u WHERE u.tenant_id = $1`

// scanUser reads a userSelect row.
func scanUser(r pgx.Row) (gatehouse.User, error) {
	var u gatehouse.User
	var created string
	var last, locked *string
	var roles, scopes, groups, orgs string
	err := r.Scan(&u.ID, &u.Name, &u.Kind, &u.Email, &u.Enabled, &u.MSPAdmin, &created, &u.CreatedVia, &u.CreatedBy,
		&last, &u.SSOIssuer, &u.SSOSubject, &u.SSOExempt, &u.Pending, &roles, &scopes, &groups, &orgs, &locked)
	if err != nil {
		return u, err
	}
	u.CreatedAt, _ = audit.ParseTime(created)
	if t := parseTimePtr(last); !t.IsZero() {
		u.LastSignInAt = &t
	}
	if t := parseTimePtr(locked); !t.IsZero() {
		u.LockedUntil = &t
	}
	u.Roles, u.Scopes, u.Groups, u.Orgs = splitNames(roles), splitNames(scopes), splitNames(groups), splitNames(orgs)
	return u, nil
}

func splitNames(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\x1f")
}

// parseTimePtr parses a nullable time column; NULL is the zero time.
func parseTimePtr(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, _ := audit.ParseTime(*s)
	return t
}

// nullable maps "" to NULL, as SQLite's rows have it.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// formatTimeOrNull is a time column's value: NULL for the zero time.
func formatTimeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return audit.FormatTime(t)
}

func (v *View) oneUser(where string, arg any) (gatehouse.User, bool, error) {
	u, err := scanUser(v.queryRow(userSelect+" AND "+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return gatehouse.User{}, false, nil
	}
	return u, err == nil, classify(err, "read a user")
}

// UserByID reads the account with this ID.
func (v *View) UserByID(id int64) (gatehouse.User, bool, error) {
	return v.oneUser("u.id = $2", id)
}

// UserByName reads the account called name, in any ASCII case.
func (v *View) UserByName(name string) (gatehouse.User, bool, error) {
	return v.oneUser("nocase(u.name) = nocase($2)", name)
}

// UserByEmail reads the account with this (normalised) email.
func (v *View) UserByEmail(email string) (gatehouse.User, bool, error) {
	return v.oneUser("u.email = $2", email)
}

// SSOAccount finds the account bound to an SSO identity.
func (v *View) SSOAccount(issuer, subject string) (gatehouse.AccountRef, bool, error) {
	var a gatehouse.AccountRef
	err := v.queryRow("SELECT id, name, enabled FROM users WHERE tenant_id = $1 AND sso_issuer = $2 AND sso_subject = $3",
		issuer, subject).Scan(&a.ID, &a.Name, &a.Enabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, classify(err, "read an SSO account")
}

// ListUsers calls fn for each user f selects, oldest first, streaming. fn
// must not use the View while the listing runs: its rows hold the
// connection.
func (v *View) ListUsers(f gatehouse.UserFilter, fn func(u *gatehouse.User) error) error {
	q, args := usersQuery(f)
	rows, err := v.query(q, args...)
	if err != nil {
		return classify(err, "list the users")
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return classify(err, "list the users")
		}
		if err := fn(&u); err != nil {
			return err
		}
	}
	return classify(rows.Err(), "list the users")
}

// usersQuery is the statement ListUsers runs for f; its arguments follow
// the tenant ($1).
func usersQuery(f gatehouse.UserFilter) (string, []any) {
	q := userSelect
	var args []any
	if f.PendingOnly {
		q += " AND (" + pendingCondition + ")"
	}
	if !f.CreatedSince.IsZero() {
		args = append(args, audit.FormatTime(f.CreatedSince))
		q += " AND u.created_at >= $" + itoa(len(args)+1)
	}
	if !f.CreatedUntil.IsZero() {
		args = append(args, audit.FormatTime(f.CreatedUntil))
		q += " AND u.created_at < $" + itoa(len(args)+1)
	}
	return q + " ORDER BY u.created_at, u.id", args
}

// UserCounts counts accounts for the server summary.
func (v *View) UserCounts() (gatehouse.UserCounts, error) {
	var c gatehouse.UserCounts
	var oldest *string
	err := v.queryRow(`SELECT (SELECT count(*) FROM users WHERE tenant_id = $1 AND kind <> 'support'),
		(SELECT count(*) FROM users u WHERE u.tenant_id = $1 AND `+pendingCondition+`),
		(SELECT min(created_at) FROM users u WHERE u.tenant_id = $1 AND `+pendingCondition+`),
		(SELECT count(*) FROM users WHERE tenant_id = $1 AND msp_admin AND enabled)`).Scan(
		&c.Total, &c.Pending, &oldest, &c.MSPAdmins)
	c.OldestPending = parseTimePtr(oldest)
	return c, classify(err, "count the users")
}

// EnabledAdmins counts the enabled MSP admins.
func (v *View) EnabledAdmins() (int, error) {
	return v.count("SELECT count(*) FROM users WHERE tenant_id = $1 AND msp_admin AND enabled")
}

// EnabledAdmin returns the stored name of the enabled MSP admin called
// name, in any ASCII case.
func (v *View) EnabledAdmin(name string) (string, bool, error) {
	var stored string
	err := v.queryRow("SELECT name FROM users WHERE tenant_id = $1 AND nocase(name) = nocase($2) AND msp_admin AND enabled",
		name).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return stored, err == nil, classify(err, "read an admin")
}

// EmailTaken reports whether an account has this email.
func (v *View) EmailTaken(email string) (bool, error) {
	n, err := v.count("SELECT count(*) FROM users WHERE tenant_id = $1 AND email = $2", email)
	return n > 0, err
}

// EmailOrNameTaken reports whether an account has s as its email or, in
// any ASCII case, as its name.
func (v *View) EmailOrNameTaken(s string) (bool, error) {
	n, err := v.count("SELECT count(*) FROM users WHERE tenant_id = $1 AND (email = $2 OR nocase(name) = nocase($2))", s)
	return n > 0, err
}

// SkeletonTaken reports whether an account name has this NameSkeleton.
func (v *View) SkeletonTaken(skeleton string) (bool, error) {
	n, err := v.count("SELECT count(*) FROM users WHERE tenant_id = $1 AND name_skeleton = $2", skeleton)
	return n > 0, err
}

// PasswordHash is a local account's password hash, "" if it has none.
func (v *View) PasswordHash(userID int64) (string, error) {
	var h *string
	err := v.queryRow("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2", userID).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) || h == nil {
		return "", nil
	}
	return *h, classify(err, "read a password hash")
}

// SeatHolders counts the accounts that hold an admin seat: enabled, with a
// role, and not the support account.
func (v *View) SeatHolders() (int, error) {
	return v.count(`SELECT count(*) FROM users u
		WHERE u.tenant_id = $1 AND u.kind <> 'support' AND u.enabled
		AND EXISTS (SELECT 1 FROM user_roles r WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id)`)
}

// ExemptUsers lists the users exempt from required SSO, by name (ASCII
// case folded, as SQLite's NOCASE orders them).
func (v *View) ExemptUsers() ([]gatehouse.ExemptUser, error) {
	rows, err := v.query(`SELECT u.id, u.name, u.kind, u.enabled, u.msp_admin, u.password_hash IS NOT NULL
		FROM sso_exemptions e JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id
		WHERE e.tenant_id = $1 ORDER BY nocase(u.name), u.id`)
	if err != nil {
		return nil, classify(err, "list the exempt users")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gatehouse.ExemptUser, error) {
		var e gatehouse.ExemptUser
		err := r.Scan(&e.ID, &e.Name, &e.Kind, &e.Enabled, &e.MSPAdmin, &e.HasPassword)
		return e, err
	})
	if out == nil {
		out = []gatehouse.ExemptUser{}
	}
	return out, classify(err, "list the exempt users")
}

// count runs a count(*) query.
func (v *View) count(q string, args ...any) (int, error) {
	var n int
	err := v.queryRow(q, args...).Scan(&n)
	return n, classify(err, "count rows")
}

// InsertUser adds an account with the tenant's next user ID and returns
// it. A name (in any ASCII case), email or SSO identity already taken is
// ECONFLICT.
func (tx *Tx) InsertUser(r gatehouse.UserRow) (int64, error) {
	now := audit.FormatTime(tx.now)
	var lastAt any
	if r.LastSignInBy != "" {
		lastAt = now
	}
	var id int64
	err := tx.queryRow(`INSERT INTO users (tenant_id, id, name, kind, email, enabled, msp_admin, created_at, created_via,
			created_by, password_hash, last_signin_at, last_signin_by, sso_issuer, sso_subject, name_skeleton)
		VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM users WHERE tenant_id = $1), $2, $3, $4, $5, $6, $7, $8,
			$9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT DO NOTHING RETURNING id`,
		r.Name, r.Kind, nullable(r.Email), r.Enabled, r.MSPAdmin, now, r.CreatedVia,
		r.CreatedBy, nullable(r.PasswordHash), lastAt, nullable(r.LastSignInBy), nullable(r.SSOIssuer), nullable(r.SSOSubject),
		nullable(r.NameSkeleton)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, gatehouse.Errorf(gatehouse.ECONFLICT, "cannot add the user: an account with this name, email or SSO identity already exists")
	}
	return id, classify(err, "add the user")
}

// SetPasswordHash sets (or, with "", removes) a user's password hash.
func (tx *Tx) SetPasswordHash(userID int64, hash string) error {
	_, err := tx.exec("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2", userID, nullable(hash))
	return classify(err, "set the password")
}

// SetEnabled enables or disables a user.
func (tx *Tx) SetEnabled(userID int64, enabled bool) error {
	_, err := tx.exec("UPDATE users SET enabled = $3 WHERE tenant_id = $1 AND id = $2", userID, enabled)
	return classify(err, "enable or disable the user")
}

// RenameUser renames a user; a name taken (in any ASCII case) is
// ECONFLICT, and the transaction goes on.
func (tx *Tx) RenameUser(userID int64, name, skeleton string) error {
	_, err := tx.guarded("rename the user", "UPDATE users SET name = $3, name_skeleton = $4 WHERE tenant_id = $1 AND id = $2",
		userID, name, nullable(skeleton))
	return err
}

// RecordSignIn sets the account's last sign-in to now, by how.
func (tx *Tx) RecordSignIn(userID int64, by string) error {
	_, err := tx.exec("UPDATE users SET last_signin_at = $3, last_signin_by = $4 WHERE tenant_id = $1 AND id = $2",
		userID, audit.FormatTime(tx.now), by)
	return classify(err, "record the sign-in")
}

// SetExempt adds (by names who) or removes an exemption from required SSO.
func (tx *Tx) SetExempt(userID int64, exempt bool, by string) (bool, error) {
	q, args := "DELETE FROM sso_exemptions WHERE tenant_id = $1 AND user_id = $2", []any{userID}
	if exempt {
		q = `INSERT INTO sso_exemptions (tenant_id, user_id, added_at, added_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`
		args = append(args, audit.FormatTime(tx.now), by)
	}
	tag, err := tx.exec(q, args...)
	return tag.RowsAffected() == 1, classify(err, "change the exemption")
}
