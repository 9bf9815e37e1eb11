package core

import (
	"context"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// findUser resolves a USER argument: a numeric ID, a user name (any case),
// or an email address (normalised first).
func findUser(v gatehouse.View, ref string) (gatehouse.User, error) {
	var u gatehouse.User
	var found bool
	var err error
	if strings.TrimSpace(ref) == "" {
		return u, gatehouse.Errorf(gatehouse.EINVALID, "no user given: give a user name, an email or an ID")
	}
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		u, found, err = v.UserByID(id)
	} else {
		u, found, err = v.UserByName(ref)
	}
	if err == nil && !found && strings.Contains(ref, "@") {
		if email, nerr := gatehouse.NormaliseEmail(ref); nerr == nil {
			u, found, err = v.UserByEmail(email)
		}
	}
	if err != nil {
		return u, err
	}
	if !found {
		return u, gatehouse.Errorf(gatehouse.ENOTFOUND, "no user %q (give a user name, an email or an ID; see 'gatehouse users list')", gatehouse.Clip(ref, 80))
	}
	endedLock(v, &u)
	return u, nil
}

// endedLock clears a lock that ended before now: it is no lock.
func endedLock(v gatehouse.View, u *gatehouse.User) {
	if u.LockedUntil != nil && !u.LockedUntil.After(v.Now()) {
		u.LockedUntil = nil
	}
}

// User returns one user by name, email or ID.
func (c *Core) User(ctx context.Context, ref string) (u gatehouse.User, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		u, err = findUser(v, ref)
		return err
	})
	return u, err
}

// ListUsers calls fn for each user that f selects, oldest first, streaming.
func (c *Core) ListUsers(ctx context.Context, f gatehouse.UserFilter, fn func(u *gatehouse.User) error) error {
	return c.read(ctx, func(v gatehouse.View) error {
		return v.ListUsers(f, func(u *gatehouse.User) error {
			endedLock(v, u)
			return fn(u)
		})
	})
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
func insertUser(t *change, nu NewUser, actor string) (int64, error) {
	if err := gatehouse.ValidateUserName(nu.Name); err != nil {
		return 0, err
	}
	row := gatehouse.UserRow{Name: nu.Name, Kind: "local", Enabled: true, MSPAdmin: nu.Admin, CreatedVia: nu.Via,
		CreatedBy: t.recordedActor(actor), PasswordHash: nu.PasswordHash, NameSkeleton: gatehouse.NameSkeleton(nu.Name)}
	if nu.Email != "" {
		e, err := gatehouse.NormaliseEmail(nu.Email)
		if err != nil {
			return 0, err
		}
		taken, err := t.EmailTaken(e)
		if err != nil {
			return 0, err
		}
		if taken {
			return 0, gatehouse.Errorf(gatehouse.ECONFLICT, "another account already has the email %s", e)
		}
		row.Email = e
	}
	id, err := t.InsertUser(row)
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return 0, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists", nu.Name)
	}
	return id, err
}

// AddUser adds a local account (an MSP admin if nu.Admin).
//
// Adding an account that already exists under that name (in any case)
// changes nothing and is no error (changed is false, u the account) when
// it is what was asked for: an enabled local account with that email, if one is
// given, and that admin flag. One that differs, or a password given for
// it, is ECONFLICT: the password or settings would otherwise be dropped
// without a word.
func (c *Core) AddUser(ctx context.Context, actor string, nu NewUser) (u gatehouse.User, changed bool, err error) {
	ev, err := c.asAdmin(ctx, actor, "user.add", nu.Name, func(t *change) (*gatehouse.NewEvent, error) {
		ex, found, err := t.UserByName(nu.Name)
		if err != nil {
			return nil, err
		}
		if found && asciiEqualFold(ex.Name, nu.Name) {
			email := nu.Email
			if email != "" {
				email, _ = gatehouse.NormaliseEmail(email)
			}
			switch {
			case nu.PasswordHash != "":
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists; nothing changed (set its password with 'gatehouse users passwd %s')", ex.Name, ex.Name)
			case ex.Kind != "local" || (email != "" && email != ex.Email) || nu.Admin != ex.MSPAdmin:
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists with other settings; nothing changed (see 'gatehouse users show %s')", ex.Name, ex.Name)
			case !ex.Enabled:
				// An add asks for an enabled account; enabling one is its own
				// decision (it may take a seat), made with 'users enable'.
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists and is disabled; nothing changed (enable it with 'gatehouse users enable %s')", ex.Name, ex.Name)
			}
			u = ex
			return nil, nil
		}
		id, err := insertUser(t, nu, actor)
		if err != nil {
			return nil, err
		}
		if u, err = findUser(t, strconv.FormatInt(id, 10)); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "user.add", Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": id, "email": u.Email, "msp_admin": nu.Admin, "password_set": nu.PasswordHash != ""}}, nil
	})
	return u, ev != nil, err
}

// SetPassword sets a local user's password hash.
func (c *Core) SetPassword(ctx context.Context, actor, ref, hash string) error {
	_, err := c.asAdmin(ctx, actor, "user.password", ref, func(t *change) (*gatehouse.NewEvent, error) {
		u, err := findUser(t, ref)
		if err != nil {
			return nil, err
		}
		if u.Kind != "local" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is a %s account: only local accounts have a password here", u.Name, u.Kind)
		}
		if err := t.SetPasswordHash(u.ID, hash); err != nil {
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
func (c *Core) SetEnabled(ctx context.Context, actor, ref string, enabled bool) (bool, error) {
	action := map[bool]string{true: "user.enable", false: "user.disable"}[enabled]
	ev, err := c.asAdmin(ctx, actor, action, ref, func(t *change) (*gatehouse.NewEvent, error) {
		u, err := findUser(t, ref)
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
			admins, err := t.EnabledAdmins()
			if err != nil {
				return nil, err
			}
			if admins == 1 {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is the last enabled MSP admin; add another before disabling it", u.Name)
			}
		}
		if !enabled {
			if err := keepBreakGlass(t, u.ID, u.Name); err != nil {
				return nil, err
			}
		}
		if enabled && len(u.Roles) > 0 {
			if err := checkSeat(t); err != nil {
				return nil, err
			}
		}
		if err := t.SetEnabled(u.ID, enabled); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": u.ID}}, nil
	})
	return ev != nil, err
}

// grantKinds are the kinds of grant, in the order an event lists them,
// with the key of the event's details.
var grantKinds = []struct {
	kind, table string
	pick        func(gatehouse.Grants) []string
}{
	{"role", "roles", func(g gatehouse.Grants) []string { return g.Roles }},
	{"scope", "scopes", func(g gatehouse.Grants) []string { return g.Scopes }},
	{"group", "groups", func(g gatehouse.Grants) []string { return g.Groups }},
	{"org", "orgs", func(g gatehouse.Grants) []string { return g.Orgs }},
}

// Assign grants roles, scopes, groups and organisations to a user, as one
// audited change. Giving a first role to an account takes an admin seat.
// Names that the user already holds are left as they are; a change that
// adds nothing writes nothing.
func (c *Core) Assign(ctx context.Context, actor, ref string, g gatehouse.Grants) (gatehouse.User, bool, error) {
	return c.changeGrants(ctx, actor, ref, g, true)
}

// Unassign removes roles, scopes, groups and organisations from a user.
func (c *Core) Unassign(ctx context.Context, actor, ref string, g gatehouse.Grants) (gatehouse.User, bool, error) {
	return c.changeGrants(ctx, actor, ref, g, false)
}

func (c *Core) changeGrants(ctx context.Context, actor, ref string, g gatehouse.Grants, add bool) (gatehouse.User, bool, error) {
	action := map[bool]string{true: "user.assign", false: "user.unassign"}[add]
	var out gatehouse.User
	ev, err := c.asAdmin(ctx, actor, action, ref, func(t *change) (*gatehouse.NewEvent, error) {
		u, err := findUser(t, ref)
		if err != nil {
			return nil, err
		}
		if u.Kind == "support" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is the support account: its access is fixed (Master role and scope)", u.Name)
		}
		if add && len(g.Roles) > 0 && len(u.Roles) == 0 && u.Enabled {
			if err := checkSeat(t); err != nil {
				return nil, err
			}
		}
		changed := map[string]any{}
		for _, k := range grantKinds {
			var done []string
			for _, name := range k.pick(g) {
				id, canonical, found, err := t.Record(k.kind, name)
				if err != nil {
					return nil, err
				}
				if !found {
					return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "no %s %q (see 'gatehouse %ss list')", k.kind, gatehouse.Clip(name, 64), k.kind)
				}
				link := t.Grant
				if !add {
					link = t.Revoke
				}
				did, err := link(k.kind, u.ID, id)
				if err != nil {
					return nil, err
				}
				if did {
					done = append(done, canonical)
				}
			}
			if len(done) > 0 {
				changed[k.table] = done
			}
		}
		if out, err = findUser(t, strconv.FormatInt(u.ID, 10)); err != nil {
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

// Records lists the records of a kind (role, scope, group, org).
func (c *Core) Records(ctx context.Context, kind string) (rs []gatehouse.Record, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		rs, err = v.Records(kind)
		return err
	})
	return rs, err
}

// AddRecord adds a named record of a kind. A record of that name in any
// case changes nothing and is no error: existing names it (changed false).
func (c *Core) AddRecord(ctx context.Context, actor, kind, name string) (existing string, changed bool, err error) {
	if err := gatehouse.ValidateRecordName(kind, name); err != nil {
		return "", false, err
	}
	ev, err := c.asAdmin(ctx, actor, kind+".add", name, func(t *change) (*gatehouse.NewEvent, error) {
		rs, err := t.Records(kind)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if asciiEqualFold(r.Name, name) {
				existing = r.Name
				return nil, nil
			}
		}
		if err := t.AddRecord(kind, name); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a %s named %q already exists", kind, name)
			}
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: kind + ".add", Target: name, Outcome: gatehouse.OutcomeSuccess}, nil
	})
	return existing, ev != nil, err
}

// Unlock ends a user's lock and clears its failed-logon count, as one
// audited change (user.unlock). It reports false when there was nothing to
// clear.
func (c *Core) Unlock(ctx context.Context, actor, ref string) (bool, error) {
	ev, err := c.asAdmin(ctx, actor, "user.unlock", ref, func(t *change) (*gatehouse.NewEvent, error) {
		u, err := findUser(t, ref)
		if err != nil {
			return nil, err
		}
		n, err := t.DeleteFailures(u.ID, nil)
		if err != nil || n == 0 {
			return nil, err
		}
		details := map[string]any{"id": u.ID, "was_locked": u.LockedUntil != nil}
		if u.LockedUntil != nil {
			details["locked_until"] = detailTime(*u.LockedUntil)
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "user.unlock", Target: u.Name, Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

// asciiEqualFold compares names as the stores do: ASCII letters without
// regard to case, every other character as it is (so "ärzte" is not
// "Ärzte", as the stores' lookups say).
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
