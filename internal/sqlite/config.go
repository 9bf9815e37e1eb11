package sqlite

import (
	"context"
	"database/sql"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// ServerConfig reads every server setting from one snapshot.
func (db *DB) ServerConfig(ctx context.Context) (gatehouse.ServerConfig, error) {
	var c gatehouse.ServerConfig
	err := db.View(ctx, func(tx *Tx) error {
		st, err := tx.supportState()
		if err != nil {
			return err
		}
		c.Mode, c.TenantID, c.SchemaVersion = st.Mode, st.TenantID, SchemaVersion()
		if st.ServerOK {
			c.Server = gatehouse.ServerConfigAddr{Configured: true, Address: st.Server.Host, Port: st.Server.Port,
				Scheme: st.Server.Scheme, LoginURL: st.Server.LoginURL()}
		}
		if c.SSO, err = tx.ssoSettings(); err != nil {
			return err
		}
		cred := st.Credential
		c.Support = gatehouse.SupportConfig{SupportSettings: st.Settings, Account: cred.AccountName,
			Enabled: cred.AccountExists && cred.Enabled, HasCredential: cred.HasCredential, Recipients: st.Fingerprints()}
		if cred.HasCredential {
			c.Support.CredentialAge = gatehouse.Age(tx.now, cred.IssuedAt)
		}
		if c.License, err = tx.license(); err != nil {
			return err
		}
		if c.Login, err = tx.lockoutPolicy(); err != nil {
			return err
		}
		var oldest sql.NullString
		err = tx.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users WHERE kind != 'support'),
			(SELECT count(*) FROM users u WHERE `+pendingCondition+`),
			(SELECT min(created_at) FROM users u WHERE `+pendingCondition+`),
			(SELECT count(*) FROM users WHERE msp_admin = 1 AND enabled = 1)`).Scan(
			&c.Users.Total, &c.Users.Pending, &oldest, &c.Users.MSPAdmins)
		if err != nil {
			return err
		}
		if t := parseNullTime(oldest); !t.IsZero() {
			c.Users.OldestPendingAge = gatehouse.Age(tx.now, t)
		}
		return nil
	})
	return c, err
}
