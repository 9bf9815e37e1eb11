package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// pendingCondition is the definition of a user awaiting role assignment:
// enabled, no role, no group access, no organisation visibility (ungranted,
// kept by triggers on the link tables, schema 5). The support account (Master
// by construction) and MSP admins (who hold the admin status itself, and whom
// nobody needs to review) are never pending. The terms are the partial index
// users_pending's, so the queue is read through that index.
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

// scanUser reads a userSelect row; a lock that ended before now is no lock.
func scanUser(r rowScanner, now time.Time) (gatehouse.User, error) {
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
	if t := parseNullTime(locked); t.After(now) {
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

// findUser resolves a USER argument: a numeric ID, a user name (any case),
// or an email address (normalised first).
func (tx *Tx) findUser(ref string) (gatehouse.User, error) {
	q := userSelect + " WHERE u.name = ?"
	arg := any(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q, arg = userSelect+" WHERE u.id = ?", id
	}
	u, err := scanUser(tx.tx.QueryRowContext(tx.ctx, q, arg), tx.now)
	if errors.Is(err, sql.ErrNoRows) && strings.Contains(ref, "@") {
		if email, nerr := gatehouse.NormaliseEmail(ref); nerr == nil {
			u, err = scanUser(tx.tx.QueryRowContext(tx.ctx, userSelect+" WHERE u.email = ?", email), tx.now)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return u, gatehouse.Errorf(gatehouse.ENOTFOUND, "no user %q (give a user name, an email or an ID; see 'gatehouse users list')", gatehouse.Clip(ref, 80))
	}
	return u, err
}

// User returns one user by name, email or ID.
func (db *DB) User(ctx context.Context, ref string) (u gatehouse.User, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		u, err = tx.findUser(ref)
		return err
	})
	return u, err
}

// ListUsers calls fn for each user that f selects, oldest first, streaming.
func (db *DB) ListUsers(ctx context.Context, f gatehouse.UserFilter, fn func(u *gatehouse.User) error) error {
	q, args := usersQuery(f)
	return db.View(ctx, func(tx *Tx) error {
		rows, err := tx.tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows, tx.now)
			if err != nil {
				return err
			}
			if err := fn(&u); err != nil {
				return err
			}
		}
		return rows.Err()
	})
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

// NewUser is a local account to add.
type NewUser struct {
	Name         string
	Email        string
	Admin        bool
	PasswordHash string // "" for none
	Via          string // manual or init
}

// insertUser adds a local user; conflicts on name or email are ECONFLICT
// with a message naming which.
func (tx *Tx) insertUser(nu NewUser, actor string) (int64, error) {
	if err := gatehouse.ValidateUserName(nu.Name); err != nil {
		return 0, err
	}
	var email any
	if nu.Email != "" {
		e, err := gatehouse.NormaliseEmail(nu.Email)
		if err != nil {
			return 0, err
		}
		email = e
		var n int
		if err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM users WHERE email = ?", e).Scan(&n); err != nil {
			return 0, err
		}
		if n > 0 {
			return 0, gatehouse.Errorf(gatehouse.ECONFLICT, "another account already has the email %s", e)
		}
	}
	var hash any
	if nu.PasswordHash != "" {
		hash = nu.PasswordHash
	}
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO users (name, kind, email, msp_admin, created_at, created_via, created_by, password_hash, name_skeleton)
		VALUES (?, 'local', ?, ?, ?, ?, ?, ?, ?)`, nu.Name, email, nu.Admin, audit.FormatTime(tx.now), nu.Via, tx.recordedActor(actor), hash, gatehouse.NameSkeleton(nu.Name))
	if err != nil {
		if gatehouse.ErrorCode(tx.db.classify(err, "")) == gatehouse.ECONFLICT {
			return 0, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists", nu.Name)
		}
		return 0, err
	}
	return res.LastInsertId()
}

// AddUser adds a local account (an MSP admin if nu.Admin).
func (db *DB) AddUser(ctx context.Context, actor string, nu NewUser) (gatehouse.User, error) {
	var u gatehouse.User
	_, err := db.ChangeAsAdmin(ctx, actor, "user.add", nu.Name, func(tx *Tx) (*gatehouse.NewEvent, error) {
		id, err := tx.insertUser(nu, actor)
		if err != nil {
			return nil, err
		}
		if u, err = tx.findUser(strconv.FormatInt(id, 10)); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "user.add", Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": id, "email": u.Email, "msp_admin": nu.Admin, "password_set": nu.PasswordHash != ""}}, nil
	})
	return u, err
}

// SetPassword sets a local user's password hash.
func (db *DB) SetPassword(ctx context.Context, actor, ref, hash string) error {
	_, err := db.ChangeAsAdmin(ctx, actor, "user.password", ref, func(tx *Tx) (*gatehouse.NewEvent, error) {
		u, err := tx.findUser(ref)
		if err != nil {
			return nil, err
		}
		if u.Kind != "local" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is a %s account: only local accounts have a password here", u.Name, u.Kind)
		}
		if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, u.ID); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "user.password", Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": u.ID}}, nil
	})
	return err
}

// SetEnabled enables or disables a user. The support account is managed by
// the support commands, and the last enabled MSP admin cannot be disabled:
// that would reopen the bootstrap window to any operator. Nor can the last
// break-glass admin while SSO is required (see keepBreakGlass).
func (db *DB) SetEnabled(ctx context.Context, actor, ref string, enabled bool) (bool, error) {
	action := map[bool]string{true: "user.enable", false: "user.disable"}[enabled]
	ev, err := db.ChangeAsAdmin(ctx, actor, action, ref, func(tx *Tx) (*gatehouse.NewEvent, error) {
		u, err := tx.findUser(ref)
		if err != nil {
			return nil, err
		}
		if u.Kind == "support" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is the support account: use 'gatehouse support request' or 'support revoke'", u.Name)
		}
		if u.Enabled == enabled {
			return nil, nil
		}
		if !enabled && u.MSPAdmin {
			var admins int
			if err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM users WHERE msp_admin = 1 AND enabled = 1").Scan(&admins); err != nil {
				return nil, err
			}
			if admins == 1 {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is the last enabled MSP admin; add another before disabling it", u.Name)
			}
		}
		if !enabled {
			if err := tx.keepBreakGlass(u.ID, u.Name); err != nil {
				return nil, err
			}
		}
		if enabled && len(u.Roles) > 0 {
			if err := tx.checkSeat(); err != nil {
				return nil, err
			}
		}
		if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET enabled = ? WHERE id = ?", enabled, u.ID); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": u.ID}}, nil
	})
	return ev != nil, err
}

// checkSeat refuses to give one more account a seat when all are in use.
func (tx *Tx) checkSeat() error {
	l, err := tx.license()
	if err != nil {
		return err
	}
	if l.PerAdmin && l.Used >= l.Seats {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "all %d admin seats are in use: unassign a role or raise the seats with 'gatehouse license set'", l.Seats)
	}
	return nil
}

// grantTables maps each kind of grant to its tables.
var grantTables = []struct {
	kind, table, link, col string
	pick                   func(gatehouse.Grants) []string
}{
	{"role", "roles", "user_roles", "role_id", func(g gatehouse.Grants) []string { return g.Roles }},
	{"scope", "scopes", "user_scopes", "scope_id", func(g gatehouse.Grants) []string { return g.Scopes }},
	{"group", "groups", "user_groups", "group_id", func(g gatehouse.Grants) []string { return g.Groups }},
	{"org", "orgs", "user_orgs", "org_id", func(g gatehouse.Grants) []string { return g.Orgs }},
}

// Assign grants roles, scopes, groups and organisations to a user, as one
// audited change. Giving a first role to an account takes an admin seat.
// Names that the user already holds are left as they are; a change that
// adds nothing writes nothing.
func (db *DB) Assign(ctx context.Context, actor, ref string, g gatehouse.Grants) (gatehouse.User, bool, error) {
	return db.changeGrants(ctx, actor, ref, g, true)
}

// Unassign removes roles, scopes, groups and organisations from a user.
func (db *DB) Unassign(ctx context.Context, actor, ref string, g gatehouse.Grants) (gatehouse.User, bool, error) {
	return db.changeGrants(ctx, actor, ref, g, false)
}

func (db *DB) changeGrants(ctx context.Context, actor, ref string, g gatehouse.Grants, add bool) (gatehouse.User, bool, error) {
	action := map[bool]string{true: "user.assign", false: "user.unassign"}[add]
	var out gatehouse.User
	ev, err := db.ChangeAsAdmin(ctx, actor, action, ref, func(tx *Tx) (*gatehouse.NewEvent, error) {
		u, err := tx.findUser(ref)
		if err != nil {
			return nil, err
		}
		if u.Kind == "support" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is the support account: its access is fixed (Master role and scope)", u.Name)
		}
		if add && len(g.Roles) > 0 && len(u.Roles) == 0 && u.Enabled {
			if err := tx.checkSeat(); err != nil {
				return nil, err
			}
		}
		changed := map[string]any{}
		for _, t := range grantTables {
			var done []string
			for _, name := range t.pick(g) {
				var id int64
				var canonical string
				err := tx.tx.QueryRowContext(tx.ctx, "SELECT id, name FROM "+t.table+" WHERE name = ?", name).Scan(&id, &canonical)
				if errors.Is(err, sql.ErrNoRows) {
					return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "no %s %q (see 'gatehouse %ss list')", t.kind, gatehouse.Clip(name, 64), t.kind)
				}
				if err != nil {
					return nil, err
				}
				q := "INSERT OR IGNORE INTO " + t.link + " (user_id, " + t.col + ") VALUES (?, ?)"
				if !add {
					q = "DELETE FROM " + t.link + " WHERE user_id = ? AND " + t.col + " = ?"
				}
				res, err := tx.tx.ExecContext(tx.ctx, q, u.ID, id)
				if err != nil {
					return nil, err
				}
				if n, _ := res.RowsAffected(); n == 1 {
					done = append(done, canonical)
				}
			}
			if len(done) > 0 {
				changed[t.table] = done
			}
		}
		if out, err = tx.findUser(strconv.FormatInt(u.ID, 10)); err != nil {
			return nil, err
		}
		if len(changed) == 0 {
			return nil, nil
		}
		changed["id"], changed["pending"] = u.ID, out.Pending
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: u.Name, Outcome: gatehouse.OutcomeSuccess, Details: changed}, nil
	})
	return out, ev != nil, err
}

// Record is a named role, scope, group or organisation.
type Record struct {
	Name    string `json:"name"`
	Builtin bool   `json:"builtin"`
	Members int    `json:"members"`
}

// recordTable returns the tables of a kind of record.
func recordTable(kind string) (table, link, col string) {
	for _, t := range grantTables {
		if t.kind == kind {
			return t.table, t.link, t.col
		}
	}
	panic("unknown record kind " + kind)
}

// Records lists the records of a kind (role, scope, group, org).
func (db *DB) Records(ctx context.Context, kind string) ([]Record, error) {
	table, link, col := recordTable(kind)
	builtin := "0"
	if kind == "role" || kind == "scope" {
		builtin = "r.builtin"
	}
	var out []Record
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.tx.QueryContext(ctx, "SELECT r.name, "+builtin+", (SELECT count(*) FROM "+link+" x WHERE x."+col+" = r.id) FROM "+table+" r ORDER BY r.name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r Record
			if err := rows.Scan(&r.Name, &r.Builtin, &r.Members); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// AddRecord adds a named record of a kind.
func (db *DB) AddRecord(ctx context.Context, actor, kind, name string) error {
	table, _, _ := recordTable(kind)
	if err := gatehouse.ValidateRecordName(kind, name); err != nil {
		return err
	}
	_, err := db.ChangeAsAdmin(ctx, actor, kind+".add", name, func(tx *Tx) (*gatehouse.NewEvent, error) {
		if _, err := tx.tx.ExecContext(tx.ctx, "INSERT INTO "+table+" (name) VALUES (?)", name); err != nil {
			if gatehouse.ErrorCode(tx.db.classify(err, "")) == gatehouse.ECONFLICT {
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a %s named %q already exists", kind, name)
			}
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: kind + ".add", Target: name, Outcome: gatehouse.OutcomeSuccess}, nil
	})
	return err
}
