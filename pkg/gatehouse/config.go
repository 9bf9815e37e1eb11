package gatehouse

// ServerConfig is every server setting in the store, as `config show`
// prints it and `config check` compares it: one document, stable keys.
type ServerConfig struct {
	Mode          Mode             `json:"mode"`
	TenantID      string           `json:"tenant_id"`
	SchemaVersion int              `json:"schema_version"`
	Server        ServerConfigAddr `json:"server"`
	SSO           SSOSettings      `json:"sso"`
	Support       SupportConfig    `json:"support"`
	License       License          `json:"license"`
	Login         LockoutPolicy    `json:"login"`
	Users         UsersSummary     `json:"users"`
}

// ServerConfigAddr is the external address part of ServerConfig.
type ServerConfigAddr struct {
	Configured bool   `json:"configured"`
	Address    string `json:"external_address"`
	Port       int    `json:"port"`
	Scheme     string `json:"scheme"`
	LoginURL   string `json:"login_url"`
}

// SupportConfig is the support-access part of ServerConfig.
type SupportConfig struct {
	SupportSettings
	Account       string   `json:"account"`
	Enabled       bool     `json:"enabled"`
	HasCredential bool     `json:"has_credential"`
	CredentialAge string   `json:"credential_age"`
	Recipients    []string `json:"recipients"`
}

// UsersSummary counts accounts for governance checks.
type UsersSummary struct {
	Total   int `json:"total"`
	Pending int `json:"pending"`
	// OldestPendingAge is how long the longest-waiting pending user has
	// waited ("" when none).
	OldestPendingAge string `json:"oldest_pending_age"`
	MSPAdmins        int    `json:"msp_admins"`
}
