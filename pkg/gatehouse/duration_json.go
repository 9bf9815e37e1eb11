package gatehouse

import (
	"encoding/json"
	"time"
)

// Every struct with Duration fields writes, beside each one, the same
// duration in whole seconds, named after it with "_seconds":
// "ttl":"72h","ttl_seconds":259200. The text is for people and for
// setting the value again; the number is for scripts, which need no
// duration parser to compare it (jq: .ttl_seconds > 86400). A zero
// (off) duration is "" and 0. The shadow types below are those structs as
// written; TestDurationSeconds checks that they keep every field. A struct
// that embeds one of them needs a MarshalJSON of its own (SupportConfig's),
// or the embedded one's would be promoted and write it alone.

// Seconds is d in whole seconds.
func (d Duration) Seconds() int64 { return int64(time.Duration(d) / time.Second) }

type supportSettingsJSON struct {
	AccountName            string   `json:"account_name"`
	TTL                    Duration `json:"ttl"`
	TTLSeconds             int64    `json:"ttl_seconds"`
	ResetAfterUse          Duration `json:"reset_after_use"`
	ResetAfterUseSeconds   int64    `json:"reset_after_use_seconds"`
	Endpoint               string   `json:"endpoint"`
	EndpointTimeout        Duration `json:"endpoint_timeout"`
	EndpointTimeoutSeconds int64    `json:"endpoint_timeout_seconds"`
}

func (s SupportSettings) written() supportSettingsJSON {
	return supportSettingsJSON{
		AccountName: s.AccountName,
		TTL:         s.TTL, TTLSeconds: s.TTL.Seconds(),
		ResetAfterUse: s.ResetAfterUse, ResetAfterUseSeconds: s.ResetAfterUse.Seconds(),
		Endpoint:        s.Endpoint,
		EndpointTimeout: s.EndpointTimeout, EndpointTimeoutSeconds: s.EndpointTimeout.Seconds(),
	}
}

// MarshalJSON writes the settings with each duration's seconds beside it.
func (s SupportSettings) MarshalJSON() ([]byte, error) { return json.Marshal(s.written()) }

// MarshalJSON writes the settings (with each duration's seconds beside it)
// and then the state. It is needed because SupportConfig embeds
// SupportSettings, whose MarshalJSON would otherwise be promoted and write
// the settings alone.
func (c SupportConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		supportSettingsJSON
		Account       string   `json:"account"`
		Enabled       bool     `json:"enabled"`
		HasCredential bool     `json:"has_credential"`
		CredentialAge string   `json:"credential_age"`
		Recipients    []string `json:"recipients"`
	}{c.SupportSettings.written(), c.Account, c.Enabled, c.HasCredential, c.CredentialAge, c.Recipients})
}

// MarshalJSON writes the policy with each duration's seconds beside it.
func (p LockoutPolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		MaxFailures    int      `json:"max_failures"`
		Window         Duration `json:"failure_window"`
		WindowSeconds  int64    `json:"failure_window_seconds"`
		Lockout        Duration `json:"lockout"`
		LockoutSeconds int64    `json:"lockout_seconds"`
	}{p.MaxFailures, p.Window, p.Window.Seconds(), p.Lockout, p.Lockout.Seconds()})
}

// MarshalJSON writes the policy with each duration's seconds beside it.
func (v TokenVerification) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClientID         string     `json:"client_id"`
		KeySource        string     `json:"key_source"`
		Keys             []IdPKey   `json:"keys,omitempty"`
		Algorithms       []string   `json:"algorithms"`
		ClockSkew        Duration   `json:"clock_skew"`
		ClockSkewSeconds int64      `json:"clock_skew_seconds"`
		MaxAge           Duration   `json:"max_age"`
		MaxAgeSeconds    int64      `json:"max_age_seconds"`
		RequireACR       []string   `json:"require_acr"`
		RequireAMR       []string   `json:"require_amr"`
		TestedAt         *time.Time `json:"tested_at"`
	}{v.ClientID, v.KeySource, v.Keys, v.Algorithms, v.ClockSkew, v.ClockSkew.Seconds(), v.MaxAge, v.MaxAge.Seconds(),
		v.RequireACR, v.RequireAMR, v.TestedAt})
}
