package gatehouse

import (
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Support access defaults.
const (
	DefaultSupportAccountName = "vendorsupport"
	DefaultSupportTTL         = 72 * time.Hour
	DefaultEndpointTimeout    = 10 * time.Second
)

// Bounds on the support durations (docs/support-access.md). A grant longer
// than a month is standing access, not a support session; an endpoint that
// takes minutes to answer holds the support lock and a generated password
// in memory for as long. A value above its bound that an older version
// stored is read as the bound.
const (
	MaxSupportTTL         = 30 * 24 * time.Hour
	MaxResetAfterUse      = MaxSupportTTL
	MaxEndpointTimeout    = 5 * time.Minute
	MinSupportTTL         = time.Minute
	MinResetAfterUse      = time.Minute
	MinEndpointTimeout    = time.Second
	SupportLogonClockSkew = 5 * time.Minute
)

// SupportAccountName is the support account's name: the base name, followed
// in cloud mode by the tenant partition ID (vendorsupport96444123…).
func SupportAccountName(base string, mode Mode, tenantID string) string {
	if mode == ModeCloud {
		return base + tenantID
	}
	return base
}

// Duration is a time.Duration that reads and writes as text operators use
// ("72h", "30d"); zero is written as "" (off).
type Duration time.Duration

// MarshalJSON writes d as FormatDuration text, "" when zero.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte(`""`), nil
	}
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// SupportSettings are the support-access settings kept in the store.
type SupportSettings struct {
	// AccountName is the base name of the support account.
	AccountName string `json:"account_name"`
	// TTL is how long a new credential is valid.
	TTL Duration `json:"ttl"`
	// ResetAfterUse, when set, ends a credential that long after its first
	// technician logon (after Windows LAPS' post-authentication reset).
	ResetAfterUse Duration `json:"reset_after_use"`
	// Endpoint, when set, is where envelopes are POSTed.
	Endpoint string `json:"endpoint"`
	// EndpointTimeout bounds each POST attempt.
	EndpointTimeout Duration `json:"endpoint_timeout"`
}

// Recipient is one of the vendor's age recipients.
type Recipient struct {
	// Kind is "x25519", "ssh-ed25519" or "ssh-rsa".
	Kind string `json:"kind"`
	// Recipient is the public key in its canonical text form.
	Recipient string `json:"recipient"`
	// Fingerprint is SHA256:<base64> of the key (for SSH keys, the same
	// fingerprint ssh-keygen -l prints).
	Fingerprint string    `json:"fingerprint"`
	Comment     string    `json:"comment"`
	AddedAt     time.Time `json:"added_at"`
	AddedBy     string    `json:"added_by"`
}

// SupportCredential is the state of the support account's credential that a
// logon is decided on.
type SupportCredential struct {
	AccountName   string
	AccountExists bool
	Enabled       bool
	// HasCredential is false when none was ever issued or it was revoked.
	HasCredential bool
	PasswordHash  string
	RequestID     string
	IssuedAt      time.Time
	ExpiresAt     time.Time
	ResetAfterUse time.Duration
	FirstLogonAt  time.Time // zero until the first technician logon
}

// EffectiveExpiry is when the credential stops working: its expiry, or
// ResetAfterUse after the first logon, whichever is earlier.
func (c *SupportCredential) EffectiveExpiry() time.Time {
	exp := c.ExpiresAt
	if c.ResetAfterUse > 0 && !c.FirstLogonAt.IsZero() {
		if r := c.FirstLogonAt.Add(c.ResetAfterUse); r.Before(exp) {
			exp = r
		}
	}
	return exp
}

// LogonReason is the reason code of a logon decision.
type LogonReason string

// Logon reason codes. They are recorded in the audit trail and printed.
const (
	LogonOK              LogonReason = "ok"
	LogonNoAccount       LogonReason = "account_missing"
	LogonAccountDisabled LogonReason = "account_disabled"
	LogonNoCredential    LogonReason = "no_credential"
	LogonExpired         LogonReason = "credential_expired"
	LogonWrongPassword   LogonReason = "wrong_password"
	// LogonNotYetValid: the logon's time is more than SupportLogonClockSkew
	// before the credential was issued, so the clock was stepped back (or
	// the store's times were edited); a window that cannot be placed in
	// time is not trusted.
	LogonNotYetValid LogonReason = "credential_not_yet_valid"
	// LogonLocked: too many wrong passwords for this credential; the
	// password was not judged. A new credential is not locked.
	LogonLocked LogonReason = "credential_locked"
)

// DecideSupportLogon decides a support logon from the credential's state,
// whether the password matched, and the time. Order matters: a disabled
// account, a credential not yet valid or an expired one is refused whatever
// the password, so a caller learns nothing about the password from them.
func DecideSupportLogon(c *SupportCredential, passwordOK bool, now time.Time) LogonReason {
	switch {
	case !c.AccountExists:
		return LogonNoAccount
	case !c.Enabled:
		return LogonAccountDisabled
	case !c.HasCredential:
		return LogonNoCredential
	case now.Before(c.IssuedAt.Add(-SupportLogonClockSkew)):
		return LogonNotYetValid
	case !now.Before(c.EffectiveExpiry()):
		return LogonExpired
	case !passwordOK:
		return LogonWrongPassword
	}
	return LogonOK
}

// SupportLogonResult is the outcome of a support logon.
type SupportLogonResult struct {
	Account    string      `json:"account"`
	Technician string      `json:"technician"`
	Allowed    bool        `json:"allowed"`
	Reason     LogonReason `json:"reason"`
	Time       time.Time   `json:"time"`
	// ExpiresAt is when the credential stops working (after a successful
	// first logon with reset-after-use, the earlier reset time).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// SupportStatus is what `support status` reports.
type SupportStatus struct {
	Mode          Mode       `json:"mode"`
	Account       string     `json:"account"`
	Exists        bool       `json:"exists"`
	Enabled       bool       `json:"enabled"`
	HasCredential bool       `json:"has_credential"`
	RequestID     string     `json:"request_id,omitempty"`
	IssuedAt      *time.Time `json:"issued_at,omitempty"`
	// CredentialAge is how long ago the credential was issued ("" if none).
	CredentialAge string          `json:"credential_age"`
	ExpiresAt     *time.Time      `json:"expires_at,omitempty"`
	Expired       bool            `json:"expired"`
	FirstLogonAt  *time.Time      `json:"first_logon_at,omitempty"`
	LastLogonAt   *time.Time      `json:"last_logon_at,omitempty"`
	LastLogonBy   string          `json:"last_logon_by,omitempty"`
	LoginURL      string          `json:"login_url,omitempty"`
	Recipients    []string        `json:"recipients"`
	Settings      SupportSettings `json:"settings"`
}

// SupportUpdate changes support settings; nil fields keep their value.
type SupportUpdate struct {
	AccountName     *string
	TTL             *time.Duration
	ResetAfterUse   *time.Duration // 0 turns it off
	Endpoint        *string        // "" turns delivery to an endpoint off
	EndpointTimeout *time.Duration
}

var accountNamePattern = lazyRegexp(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)

// ValidateAccountName checks a support account base name: a letter, then
// up to 63 letters, digits, '.', '_' or '-'.
func ValidateAccountName(s string) error {
	if !accountNamePattern().MatchString(s) {
		return Errorf(EINVALID, "invalid account name %q: start with a letter; use up to 64 letters, digits, '.', '_' or '-'", Clip(s, 40))
	}
	return nil
}

// ParseSupportEndpoint checks the URL envelopes are POSTed to: https, or
// http to a loopback address only (a local relay); no credentials in the
// URL, since settings and the audit trail are not secret.
func ParseSupportEndpoint(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", Errorf(EINVALID, "invalid endpoint %q: give an absolute https:// URL", Clip(s, 60))
	}
	if u.User != nil {
		return "", Errorf(EINVALID, "invalid endpoint: it must not contain credentials (they would be stored and audited in the clear)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", Errorf(EINVALID, "invalid endpoint %q: use https (plain http only to a loopback address)", Clip(s, 60))
		}
	default:
		return "", Errorf(EINVALID, "invalid endpoint %q: give an absolute https:// URL", Clip(s, 60))
	}
	return u.String(), nil
}

// ValidateTechnician checks a technician ID: 1 to 128 printable
// characters, no spaces at either end.
func ValidateTechnician(s string) error {
	if s == "" || len(s) > 128 || strings.TrimSpace(s) != s || !utf8.ValidString(s) {
		return Errorf(EINVALID, "invalid technician ID: use 1 to 128 printable characters")
	}
	if HoldsPrivateKey(s) {
		return errPrivateKey("the technician ID")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return Errorf(EINVALID, "invalid technician ID: use 1 to 128 printable characters")
		}
	}
	return nil
}
