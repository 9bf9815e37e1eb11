package core

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// ServerAddress returns the server's external address; ok is false when it
// has not been configured.
func (c *Core) ServerAddress(ctx context.Context) (a gatehouse.ServerAddress, ok bool, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		a, ok, err = serverAddress(v)
		return err
	})
	return a, ok, err
}

// ServerUpdate is a change to the external address; nil fields keep their
// current value.
type ServerUpdate struct {
	Scheme *string
	Host   *string
	Port   *int
}

// ConfigureServer validates and records the server's external address.
// It returns the address now in force and whether it changed; an update
// that changes nothing writes nothing and appends no event.
func (c *Core) ConfigureServer(ctx context.Context, actor string, u ServerUpdate) (gatehouse.ServerAddress, bool, error) {
	var next gatehouse.ServerAddress
	ev, err := c.asAdmin(ctx, actor, "server.configure", "server", func(t *change) (*gatehouse.NewEvent, error) {
		cur, ok, err := serverAddress(t)
		if err != nil {
			return nil, err
		}
		if !ok {
			if u.Host == nil || u.Port == nil {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "the server is not configured yet: give both --external-address and --port")
			}
			cur.Scheme = "https"
		}
		scheme, host, port := cur.Scheme, cur.Host, cur.Port
		if u.Scheme != nil {
			scheme = *u.Scheme
		}
		if u.Host != nil {
			host = *u.Host
		}
		if u.Port != nil {
			port = *u.Port
		}
		if next, err = gatehouse.ParseServerAddress(scheme, host, port); err != nil {
			return nil, err
		}
		if ok && next == cur {
			return nil, nil
		}
		for _, kv := range [][2]string{
			{settingServerScheme, next.Scheme},
			{settingServerHost, next.Host},
			{settingServerPort, strconv.Itoa(next.Port)},
		} {
			if err := t.SetSetting(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		details := map[string]any{"login_url": next.LoginURL()}
		if ok {
			details["previous_login_url"] = cur.LoginURL()
		}
		return &gatehouse.NewEvent{
			Actor: actor, Action: "server.configure", Target: "server",
			Outcome: gatehouse.OutcomeSuccess, Details: details,
		}, nil
	})
	return next, ev != nil, err
}

// ServerConfig reads every server setting from one snapshot.
func (c *Core) ServerConfig(ctx context.Context) (gatehouse.ServerConfig, error) {
	var sc gatehouse.ServerConfig
	info, err := c.store.Info(ctx)
	if err != nil {
		return sc, err
	}
	err = c.read(ctx, func(v gatehouse.View) error {
		st, err := supportState(v)
		if err != nil {
			return err
		}
		sc.Mode, sc.TenantID, sc.SchemaVersion = st.Mode, st.TenantID, info.SchemaVersion
		if st.ServerOK {
			sc.Server = gatehouse.ServerConfigAddr{Configured: true, Address: st.Server.Host, Port: st.Server.Port,
				Scheme: st.Server.Scheme, LoginURL: st.Server.LoginURL()}
		}
		if sc.SSO, err = ssoSettings(v); err != nil {
			return err
		}
		cred := st.Credential
		sc.Support = gatehouse.SupportConfig{SupportSettings: st.Settings, Account: cred.AccountName,
			Enabled: cred.AccountExists && cred.Enabled, HasCredential: cred.HasCredential, Recipients: st.Fingerprints()}
		if cred.HasCredential {
			sc.Support.CredentialAge = gatehouse.Age(v.Now(), cred.IssuedAt)
		}
		if sc.License, err = license(v); err != nil {
			return err
		}
		if sc.Login, err = lockoutPolicy(v); err != nil {
			return err
		}
		n, err := v.UserCounts()
		if err != nil {
			return err
		}
		sc.Users.Total, sc.Users.Pending, sc.Users.MSPAdmins = n.Total, n.Pending, n.MSPAdmins
		if !n.OldestPending.IsZero() {
			sc.Users.OldestPendingAge = gatehouse.Age(v.Now(), n.OldestPending)
		}
		return nil
	})
	return sc, err
}

// LockoutPolicy reads the failed-logon throttling policy.
func (c *Core) LockoutPolicy(ctx context.Context) (p gatehouse.LockoutPolicy, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		p, err = lockoutPolicy(v)
		return err
	})
	return p, err
}

// ConfigureLockout validates and records the throttling policy, as one
// audited change (lockout.configure). It returns the policy in force and
// whether anything changed.
func (c *Core) ConfigureLockout(ctx context.Context, actor string, u gatehouse.LockoutUpdate) (gatehouse.LockoutPolicy, bool, error) {
	var out gatehouse.LockoutPolicy
	ev, err := c.asAdmin(ctx, actor, "lockout.configure", "login", func(t *change) (*gatehouse.NewEvent, error) {
		p, err := lockoutPolicy(t)
		if err != nil {
			return nil, err
		}
		changes := map[string]any{}
		set := func(key, text string) error {
			changes[key] = text
			return t.SetSetting(key, text)
		}
		if u.MaxFailures != nil && *u.MaxFailures != p.MaxFailures {
			if err := gatehouse.ValidateMaxFailures(*u.MaxFailures); err != nil {
				return nil, err
			}
			p.MaxFailures = *u.MaxFailures
			if err := set(settingLoginMaxFailures, strconv.Itoa(p.MaxFailures)); err != nil {
				return nil, err
			}
		}
		for _, d := range []struct {
			key      string
			in       *time.Duration
			cur      *gatehouse.Duration
			validate func(time.Duration) error
		}{
			{settingLoginFailureWindow, u.Window, &p.Window, gatehouse.ValidateFailureWindow},
			{settingLoginLockout, u.Lockout, &p.Lockout, gatehouse.ValidateLockout},
		} {
			if d.in == nil || gatehouse.Duration(*d.in) == *d.cur {
				continue
			}
			if err := d.validate(*d.in); err != nil {
				return nil, err
			}
			*d.cur = gatehouse.Duration(*d.in)
			if err := set(d.key, gatehouse.FormatDuration(*d.in)); err != nil {
				return nil, err
			}
		}
		out = p
		if len(changes) == 0 {
			return nil, nil
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "lockout.configure", Target: "login",
			Outcome: gatehouse.OutcomeSuccess, Details: changes}, nil
	})
	if err == nil && ev == nil {
		p, err := c.LockoutPolicy(ctx)
		return p, false, err
	}
	return out, ev != nil, err
}
