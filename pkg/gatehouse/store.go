package gatehouse

import "time"

// Mode is how the server is deployed; it decides how the support account
// is named and managed.
type Mode string

// Deployment modes.
const (
	// ModeOnPrem: a single server run by its owner. The support account is
	// created on request.
	ModeOnPrem Mode = "onprem"
	// ModeCloud: one tenant of a multi-tenant service. The support account
	// carries the tenant ID and exists by default.
	ModeCloud Mode = "cloud"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeOnPrem || m == ModeCloud }

// StoreInfo describes an initialised store.
type StoreInfo struct {
	Path          string    `json:"path"`
	SchemaVersion int       `json:"schema_version"`
	Mode          Mode      `json:"mode"`
	TenantID      string    `json:"tenant_id"`
	CreatedAt     time.Time `json:"created_at"`
	// Created is true when this call created the store, false when it
	// found one already initialised.
	Created bool `json:"created"`
}

// License is the admin-seat licence: with per-administrator licensing,
// every enabled account holding a role uses a seat, except the support
// account, which never counts.
type License struct {
	// PerAdmin is false when no seat limit is set.
	PerAdmin bool `json:"per_admin"`
	Seats    int  `json:"admin_seats"`
	Used     int  `json:"used"`
	Free     int  `json:"free"`
}

// tenantPattern bounds a tenant partition ID: it becomes part of an
// account name and of PostgreSQL rows' keys.
var tenantPattern = lazyRegexp(`^[A-Za-z0-9_-]{1,64}$`)

// ValidateTenantID checks a tenant partition ID: 1 to 64 letters, digits,
// '-' or '_'.
func ValidateTenantID(s string) error {
	if !tenantPattern().MatchString(s) {
		return Errorf(EINVALID, "invalid tenant: use 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}
