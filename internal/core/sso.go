package core

import (
	"context"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// SSOSettings reads the SSO settings.
func (c *Core) SSOSettings(ctx context.Context) (s gatehouse.SSOSettings, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		s, err = ssoSettings(v)
		return err
	})
	return s, err
}

// SetSSOFlag changes one of the allow, require and auto_create settings.
// Rules: auto-create and require need SSO allowed; SSO cannot be turned off
// while it is required (nobody but the exempt could log in), nor required
// while no break-glass admin could still log in. Turning SSO off keeps
// auto_create as it is, inert until SSO is allowed again. Changing a
// setting alters no account.
func (c *Core) SetSSOFlag(ctx context.Context, actor, key string, on bool) (bool, error) {
	action := map[string]string{settingSSOAllow: "sso.allow", settingSSORequire: "sso.require", settingSSOAutoCreate: "sso.auto_create"}[key]
	if action == "" {
		return false, gatehouse.Errorf(gatehouse.EINTERNAL, "unknown SSO setting %q", key)
	}
	ev, err := c.asAdmin(ctx, actor, action, "sso", func(t *change) (*gatehouse.NewEvent, error) {
		s, err := ssoFlags(t)
		if err != nil {
			return nil, err
		}
		cur := map[string]bool{settingSSOAllow: s.Allow, settingSSORequire: s.Require, settingSSOAutoCreate: s.AutoCreate}[key]
		if cur == on {
			return nil, nil
		}
		switch {
		case key == settingSSOAutoCreate && on && !s.Allow:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "automatic user creation needs SSO allowed: run 'gatehouse sso allow on' first")
		case key == settingSSORequire && on && !s.Allow:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "SSO cannot be required while it is not allowed: run 'gatehouse sso allow on' first")
		case key == settingSSOAllow && !on && s.Require:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "SSO is required: turn that off first ('gatehouse sso require off'), or nobody but the exempt users could log in")
		case key == settingSSORequire && on:
			bg, err := breakGlassAdmins(t)
			if err != nil {
				return nil, err
			}
			if len(bg) == 0 {
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "SSO cannot be required while no enabled MSP admin can log in locally: give one a password ('gatehouse users passwd ADMIN') and exempt it ('gatehouse sso exempt add ADMIN') first")
			}
		}
		if err := t.SetSetting(key, strconv.FormatBool(on)); err != nil {
			return nil, err
		}
		details := map[string]any{"from": cur, "to": on}
		if key == settingSSOAllow && !on && s.AutoCreate {
			details["auto_create_inert"] = true
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: "sso", Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

// breakGlassAdmins lists the IDs of the break-glass admins: enabled local
// MSP admins with a password, exempt from required SSO — those who can
// still log in when the identity provider fails.
func breakGlassAdmins(v gatehouse.View) ([]int64, error) {
	ex, err := v.ExemptUsers()
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, u := range ex {
		if u.MSPAdmin && u.Enabled && u.Kind == "local" && u.HasPassword {
			ids = append(ids, u.ID)
		}
	}
	return ids, nil
}

// keepBreakGlass refuses a change that would take user id (name) out of the
// break-glass admins while SSO is required and it is the last of them:
// nobody could then log in if the identity provider failed, not even to
// turn required SSO off. Like a seat beyond the licence, this is a conflict
// with the store's state, refused before anything changes, and not audited.
func keepBreakGlass(v gatehouse.View, id int64, name string) error {
	s, err := ssoFlags(v)
	if err != nil || !s.Require {
		return err
	}
	bg, err := breakGlassAdmins(v)
	if err != nil {
		return err
	}
	if len(bg) == 1 && bg[0] == id {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "%s is the last enabled MSP admin who can log in locally while SSO is required: exempt another admin with a password first, or turn 'sso require' off", name)
	}
	return nil
}

// SetSSOIssuer sets the identity provider's issuer identifier.
func (c *Core) SetSSOIssuer(ctx context.Context, actor, issuer string) (bool, error) {
	ev, err := c.asAdmin(ctx, actor, "sso.idp", "sso", func(t *change) (*gatehouse.NewEvent, error) {
		cur, _, err := t.Setting(settingSSOIssuer)
		if err != nil || cur == issuer {
			return nil, err
		}
		if err := t.SetSetting(settingSSOIssuer, issuer); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "sso.idp", Target: "sso", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"issuer": issuer, "previous_issuer": cur}}, nil
	})
	return ev != nil, err
}

// SetSSOExempt adds or removes a user's exemption from required SSO.
func (c *Core) SetSSOExempt(ctx context.Context, actor, ref string, exempt bool) (bool, error) {
	action := map[bool]string{true: "sso.exempt.add", false: "sso.exempt.remove"}[exempt]
	ev, err := c.asAdmin(ctx, actor, action, ref, func(t *change) (*gatehouse.NewEvent, error) {
		u, err := findUser(t, ref)
		if err != nil {
			return nil, err
		}
		if u.SSOExempt == exempt {
			return nil, nil
		}
		if exempt && u.Kind != "local" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is a %s account: only local accounts log in with a password", u.Name, u.Kind)
		}
		if !exempt {
			if err := keepBreakGlass(t, u.ID, u.Name); err != nil {
				return nil, err
			}
		}
		if _, err := t.SetExempt(u.ID, exempt, t.recordedActor(actor)); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": u.ID, "msp_admin": u.MSPAdmin}}, nil
	})
	return ev != nil, err
}

// Explain gathers the recorded attempts for an email or subject, the
// current settings and the matching account.
func (c *Core) Explain(ctx context.Context, query string) (gatehouse.ExplainFacts, error) {
	var f gatehouse.ExplainFacts
	f.Query = query
	email, _ := gatehouse.NormaliseEmail(query)
	err := c.read(ctx, func(v gatehouse.View) error {
		var err error
		if f.Settings, err = ssoSettings(v); err != nil {
			return err
		}
		if f.Attempts, err = v.Attempts(query, email, 10); err != nil {
			return err
		}
		ref := query
		if len(f.Attempts) > 0 && f.Attempts[0].Decision != "refused" {
			a, found, err := v.SSOAccount(f.Attempts[0].Issuer, f.Attempts[0].Subject)
			if err != nil {
				return err
			}
			if found {
				ref = strconv.FormatInt(a.ID, 10)
			}
		}
		if u, err := findUser(v, ref); err == nil {
			f.User = &u
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return err
		}
		return nil
	})
	return f, err
}
