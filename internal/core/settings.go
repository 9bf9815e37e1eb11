package core

import (
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Setting keys of the settings table. Each is changed only by an audited
// command.
const (
	settingMode      = "mode"
	settingTenantID  = "tenant_id"
	settingCreatedAt = "created_at"

	settingSSOAllow      = "sso.allow"
	settingSSORequire    = "sso.require"
	settingSSOAutoCreate = "sso.auto_create"
	settingSSOIssuer     = "sso.issuer"

	settingSupportAccount         = "support.account_name"
	settingSupportTTL             = "support.ttl"
	settingSupportResetAfterUse   = "support.reset_after_use"
	settingSupportEndpoint        = "support.endpoint"
	settingSupportEndpointTimeout = "support.endpoint_timeout"

	settingLoginMaxFailures   = "login.max_failures"
	settingLoginFailureWindow = "login.failure_window"
	settingLoginLockout       = "login.lockout"

	settingServerScheme = "server.scheme"
	settingServerHost   = "server.external_address"
	settingServerPort   = "server.port"

	settingAdminSeats = "license.admin_seats"
)

// The SSO flags SetSSOFlag changes.
const (
	SettingSSOAllow      = settingSSOAllow
	SettingSSORequire    = settingSSORequire
	SettingSSOAutoCreate = settingSSOAutoCreate
)

// durationSetting reads a duration setting; "" or "0" is zero, unset def.
func durationSetting(v gatehouse.View, key string, def time.Duration) (time.Duration, error) {
	s, ok, err := v.Setting(key)
	if err != nil || !ok {
		return def, err
	}
	if s == "" || s == "0" {
		return 0, nil
	}
	return gatehouse.ParseDuration(s)
}

func modeAndTenant(v gatehouse.View) (gatehouse.Mode, string, error) {
	m, err := v.Settings(settingMode, settingTenantID)
	return gatehouse.Mode(m[settingMode]), m[settingTenantID], err
}

// serverAddress reads the configured address; ok is false when none is.
func serverAddress(v gatehouse.View) (a gatehouse.ServerAddress, ok bool, err error) {
	m, err := v.Settings(settingServerHost, settingServerScheme, settingServerPort)
	if err != nil {
		return a, false, err
	}
	host, ok := m[settingServerHost]
	if !ok {
		return a, false, nil
	}
	n, _ := strconv.Atoi(m[settingServerPort])
	return gatehouse.ServerAddress{Scheme: m[settingServerScheme], Host: host, Port: n}, true, nil
}

// ssoFlags reads allow, require, auto_create and the issuer in one read:
// the sign-in gate runs on every sign-in and needs nothing else.
func ssoFlags(v gatehouse.View) (gatehouse.SSOSettings, error) {
	m, err := v.Settings(settingSSOAllow, settingSSORequire, settingSSOAutoCreate, settingSSOIssuer)
	return gatehouse.SSOSettings{
		Allow: m[settingSSOAllow] == "true", Require: m[settingSSORequire] == "true",
		AutoCreate: m[settingSSOAutoCreate] == "true", Issuer: m[settingSSOIssuer],
	}, err
}

// ssoSettings reads every SSO setting, the exempt users included.
func ssoSettings(v gatehouse.View) (gatehouse.SSOSettings, error) {
	s, err := ssoFlags(v)
	if err != nil {
		return s, err
	}
	if s.Verification, err = verification(v, s.Issuer); err != nil {
		return s, err
	}
	ex, err := v.ExemptUsers()
	s.Exempt = []string{}
	for _, u := range ex {
		s.Exempt = append(s.Exempt, u.Name)
	}
	return s, err
}

func supportSettings(v gatehouse.View) (gatehouse.SupportSettings, error) {
	var s gatehouse.SupportSettings
	name, ok, err := v.Setting(settingSupportAccount)
	if err != nil {
		return s, err
	}
	if !ok {
		name = gatehouse.DefaultSupportAccountName
	}
	s.AccountName = name
	ttl, err := durationSetting(v, settingSupportTTL, gatehouse.DefaultSupportTTL)
	if err != nil {
		return s, err
	}
	reset, err := durationSetting(v, settingSupportResetAfterUse, 0)
	if err != nil {
		return s, err
	}
	timeout, err := durationSetting(v, settingSupportEndpointTimeout, gatehouse.DefaultEndpointTimeout)
	if err != nil {
		return s, err
	}
	// A value above its bound (stored by an older version) is read as the
	// bound: the shorter window is the safe reading.
	s.TTL = gatehouse.Duration(min(ttl, gatehouse.MaxSupportTTL))
	s.ResetAfterUse = gatehouse.Duration(min(reset, gatehouse.MaxResetAfterUse))
	s.EndpointTimeout = gatehouse.Duration(min(timeout, gatehouse.MaxEndpointTimeout))
	s.Endpoint, _, err = v.Setting(settingSupportEndpoint)
	return s, err
}

// lockoutPolicy reads the throttling policy, defaults where unset.
func lockoutPolicy(v gatehouse.View) (gatehouse.LockoutPolicy, error) {
	p := gatehouse.DefaultLockoutPolicy()
	s, ok, err := v.Setting(settingLoginMaxFailures)
	if err != nil {
		return p, err
	}
	if ok {
		if p.MaxFailures, err = strconv.Atoi(s); err != nil {
			return p, err
		}
	}
	window, err := durationSetting(v, settingLoginFailureWindow, gatehouse.DefaultFailureWindow)
	if err != nil {
		return p, err
	}
	lockout, err := durationSetting(v, settingLoginLockout, gatehouse.DefaultLockout)
	p.Window, p.Lockout = gatehouse.Duration(window), gatehouse.Duration(lockout)
	return p, err
}

// license reads the seat licence and its use.
func license(v gatehouse.View) (gatehouse.License, error) {
	var l gatehouse.License
	s, ok, err := v.Setting(settingAdminSeats)
	if err != nil {
		return l, err
	}
	if ok && s != "" {
		l.PerAdmin = true
		l.Seats, _ = strconv.Atoi(s)
	}
	if l.Used, err = v.SeatHolders(); err != nil {
		return l, err
	}
	if l.PerAdmin {
		l.Free = max(l.Seats-l.Used, 0)
	}
	return l, nil
}
