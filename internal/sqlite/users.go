package sqlite

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// pendingCondition is gatehouse.PendingCondition over users u: the
// ungranted flag (kept by triggers, schema 5) is what the index serves.
const pendingCondition = `u.ungranted = 1 AND u.enabled = 1 AND u.msp_admin = 0 AND u.kind != 'support'`

// userSelect reads a user with its grants. An ungranted user has no role,
// group or organisation by definition, so those lookups are skipped for the
// users the pending queue lists.
const userSelect = `SELECT u.id, u.name, u.kind, coalesce(u.email, ''), u.enabled, u.msp_admin,
	u.created_at, u.created_via, u.created_by, u.last_signin_at,
	coalesce(u.sso_issuer, ''), coalesce(u.sso_subject, ''),
	EXISTS (SELECT 1 FROM sso_exemptions e WHERE e.user_id = u.id),
	(` + pendingCondition + `),
	CASE WHEN u.ungranted THEN '' ELSE coalesce((SELECT group_concat(r.name, char(31)) FROM user_roles x JOIN roles r ON r.id = x.role_id WHERE x.user_id = u.id), '') END,
	coalesce((SELECT group_concat(r.name, char(31)) FROM user_scopes x JOIN scopes r ON r.id = x.scope_id WHERE x.user_id = u.id), ''),
	CASE WHEN u.ungranted THEN '' ELSE coalesce((SELECT group_concat(r.name, char(31)) FROM user_groups x JOIN groups r ON r.id = x.group_id WHERE x.user_id = u.id), '') END,
	CASE WHEN u.ungranted THEN '' ELSE coalesce((SELECT group_concat(r.name, char(31)) FROM user_orgs x JOIN orgs r ON r.id = x.org_id WHERE x.user_id = u.id), '') END,
	(SELECT f.locked_until FROM login_failures f WHERE f.user_id = u.id
		AND f.credential = coalesce((SELECT c.request_id FROM support_credentials c WHERE c.user_id = u.id), ''))
	FROM users u`

type rowScanner interface{ Scan(...any) error }

// scanUser reads a userSelect row.
func scanUser(r rowScanner) (gatehouse.User, error) {
	var u gatehouse.User
	var created string
	var last, locked sql.NullString
	var roles, scopes, groups, orgs string
	err := r.Scan(&u.ID, &u.Name, &u.Kind, &u.Email, &u.Enabled, &u.MSPAdmin, &created, &u.CreatedVia, &u.CreatedBy,
		&last, &u.SSOIssuer, &u.SSOSubject, &u.SSOExempt, &u.Pending, &roles, &scopes, &groups, &orgs, &locked)
	if err != nil {
		return u, err
	}
	u.CreatedAt, _ = audit.ParseTime(created)
	if t := parseNullTime(last); !t.IsZero() {
		u.LastSignInAt = &t
	}
	if t := parseNullTime(locked); !t.IsZero() {
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

func parseNullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := audit.ParseTime(s.String)
	return t
}

// oneUser runs a userSelect query for at most one user.
func (tx *Tx) oneUser(where string, arg any) (gatehouse.User, bool, error) {
	u, err := scanUser(tx.tx.QueryRowContext(tx.ctx, userSelect+" WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil
	}
	return u, err == nil, err
}

// UserByID reads the account with this ID.
func (tx *Tx) UserByID(id int64) (gatehouse.User, bool, error) { return tx.oneUser("u.id = ?", id) }

// UserByName reads the account with this name (any case: NOCASE).
func (tx *Tx) UserByName(name string) (gatehouse.User, bool, error) {
	return tx.oneUser("u.name = ?", name)
}

// UserByEmail reads the account with this (normalised) email.
func (tx *Tx) UserByEmail(email string) (gatehouse.User, bool, error) {
	return tx.oneUser("u.email = ?", email)
}

// Statements of the sign-in gate, prepared once (see hotStatements).
const (
	qUserByIdentity = "SELECT id, name, enabled FROM users WHERE sso_issuer = ? AND sso_subject = ?"
	qEmailTaken     = "SELECT count(*) FROM users WHERE email = ? OR name = ?"
	qNameConfusable = "SELECT count(*) FROM users WHERE name_skeleton = ?"
	qTouchSignIn    = "UPDATE users SET last_signin_at = ?, last_signin_by = ? WHERE id = ?"
	qInsertUser     = `INSERT INTO users (name, kind, email, enabled, msp_admin, created_at, created_via, created_by,
			password_hash, last_signin_at, last_signin_by, sso_issuer, sso_subject, name_skeleton)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// SSOAccount finds the account bound to an SSO identity.
func (tx *Tx) SSOAccount(issuer, subject string) (gatehouse.AccountRef, bool, error) {
	var a gatehouse.AccountRef
	err := tx.queryRow(qUserByIdentity, issuer, subject).Scan(&a.ID, &a.Name, &a.Enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// ListUsers calls fn for each user that f selects, oldest first.
func (tx *Tx) ListUsers(f gatehouse.UserFilter, fn func(u *gatehouse.User) error) error {
	q, args := usersQuery(f)
	rows, err := tx.tx.QueryContext(tx.ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return err
		}
	}
	return rows.Err()
}

// usersQuery is the statement ListUsers runs for f.
func usersQuery(f gatehouse.UserFilter) (string, []any) {
	var where []string
	var args []any
	if f.PendingOnly {
		where = append(where, "("+pendingCondition+")")
	}
	if !f.CreatedSince.IsZero() {
		where, args = append(where, "u.created_at >= ?"), append(args, audit.FormatTime(f.CreatedSince))
	}
	if !f.CreatedUntil.IsZero() {
		where, args = append(where, "u.created_at < ?"), append(args, audit.FormatTime(f.CreatedUntil))
	}
	q := userSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY u.created_at, u.id"
	return q, args
}

// UserCounts counts accounts for the server summary.
func (tx *Tx) UserCounts() (gatehouse.UserCounts, error) {
	var n gatehouse.UserCounts
	var oldest sql.NullString
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT (SELECT count(*) FROM users WHERE kind != 'support'),
		(SELECT count(*) FROM users u WHERE `+pendingCondition+`),
		(SELECT min(created_at) FROM users u WHERE `+pendingCondition+`),
		(SELECT count(*) FROM users WHERE msp_admin = 1 AND enabled = 1)`).Scan(&n.Total, &n.Pending, &oldest, &n.MSPAdmins)
	n.OldestPending = parseNullTime(oldest)
	return n, err
}

// The admin checks every admin command makes: both read the partial index
// users_enabled_admins (schema 11) only, not the users table.
const (
	qEnabledAdmins = "SELECT count(*) FROM users WHERE msp_admin = 1 AND enabled = 1"
	qEnabledAdmin  = "SELECT name FROM users WHERE name = ? AND msp_admin = 1 AND enabled = 1"
)

// EnabledAdmins counts the enabled MSP admins.
func (tx *Tx) EnabledAdmins() (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, qEnabledAdmins).Scan(&n)
	return n, err
}

// EnabledAdmin returns the stored name of the enabled MSP admin called name.
func (tx *Tx) EnabledAdmin(name string) (string, bool, error) {
	var stored string
	err := tx.tx.QueryRowContext(tx.ctx, qEnabledAdmin, name).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return stored, err == nil, err
}

func (tx *Tx) exists(q string, args ...any) (bool, error) {
	var n int
	err := tx.queryRow(q, args...).Scan(&n)
	return n > 0, err
}

// EmailTaken reports whether an account has this email.
func (tx *Tx) EmailTaken(email string) (bool, error) {
	return tx.exists("SELECT count(*) FROM users WHERE email = ?", email)
}

// EmailOrNameTaken reports whether an account has s as its email or name.
func (tx *Tx) EmailOrNameTaken(s string) (bool, error) { return tx.exists(qEmailTaken, s, s) }

// SkeletonTaken reports whether an account name has this skeleton.
func (tx *Tx) SkeletonTaken(skeleton string) (bool, error) {
	return tx.exists(qNameConfusable, skeleton)
}

// PasswordHash is a local account's password hash, "" if it has none.
func (tx *Tx) PasswordHash(userID int64) (string, error) {
	var h sql.NullString
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT password_hash FROM users WHERE id = ?", userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return h.String, err
}

// SeatHolders counts the enabled accounts with a role, but the support account.
func (tx *Tx) SeatHolders() (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM users u
		WHERE u.kind != 'support' AND u.enabled = 1
		AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id)`).Scan(&n)
	return n, err
}

// ExemptUsers lists the users exempt from required SSO, by name.
func (tx *Tx) ExemptUsers() ([]gatehouse.ExemptUser, error) {
	// CROSS JOIN keeps the few exemptions as the outer loop; left to itself
	// the planner walks every user in name order to avoid a small sort.
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT u.id, u.name, u.kind, u.enabled, u.msp_admin, u.password_hash IS NOT NULL
		FROM sso_exemptions e CROSS JOIN users u ON u.id = e.user_id ORDER BY u.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.ExemptUser
	for rows.Next() {
		var u gatehouse.ExemptUser
		if err := rows.Scan(&u.ID, &u.Name, &u.Kind, &u.Enabled, &u.MSPAdmin, &u.HasPassword); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertUser adds an account.
func (tx *Tx) InsertUser(r gatehouse.UserRow) (int64, error) {
	now := audit.FormatTime(tx.now)
	var last any
	if r.LastSignInBy != "" {
		last = now
	}
	res, err := tx.exec(qInsertUser, r.Name, r.Kind, nullIfEmpty(r.Email), r.Enabled, r.MSPAdmin, now, r.CreatedVia, r.CreatedBy,
		nullIfEmpty(r.PasswordHash), last, nullIfEmpty(r.LastSignInBy), nullIfEmpty(r.SSOIssuer), nullIfEmpty(r.SSOSubject), r.NameSkeleton)
	if err != nil {
		return 0, tx.db.classify(err, "add the user")
	}
	return res.LastInsertId()
}

// SetPasswordHash sets a user's password hash.
func (tx *Tx) SetPasswordHash(userID int64, hash string) error {
	_, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET password_hash = ? WHERE id = ?", nullIfEmpty(hash), userID)
	return err
}

// SetEnabled enables or disables a user.
func (tx *Tx) SetEnabled(userID int64, enabled bool) error {
	_, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET enabled = ? WHERE id = ?", enabled, userID)
	return err
}

// RenameUser renames a user.
func (tx *Tx) RenameUser(userID int64, name, skeleton string) error {
	_, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET name = ?, name_skeleton = ? WHERE id = ?", name, skeleton, userID)
	return tx.db.classify(err, "rename the user")
}

// RecordSignIn sets the user's last sign-in to now, by how.
func (tx *Tx) RecordSignIn(userID int64, by string) error {
	_, err := tx.exec(qTouchSignIn, audit.FormatTime(tx.now), by, userID)
	return err
}

// SetExempt adds or removes an exemption from required SSO.
func (tx *Tx) SetExempt(userID int64, exempt bool, by string) (bool, error) {
	q, args := "DELETE FROM sso_exemptions WHERE user_id = ?", []any{userID}
	if exempt {
		q, args = "INSERT INTO sso_exemptions (user_id, added_at, added_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", []any{userID, audit.FormatTime(tx.now), by}
	}
	res, err := tx.tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
