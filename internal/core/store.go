package core

import (
	"context"
	"maps"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// InitParams are what `gatehouse init` records in a new store.
type InitParams struct {
	Mode     gatehouse.Mode
	TenantID string
	Actor    string
	// Admin, when set, names the first MSP admin, created with the store.
	Admin string
}

// Init returns the function that writes a new store's first rows — its
// mode, tenant and creation time, the first MSP admin if named, and in
// cloud mode the support account — and its store.init event. A store
// constructor runs it in the transaction that creates the store.
// kind ("sqlite" or "postgres") and schemaVersion are the new store's,
// which its store.init event records (audit.RecordedSchema).
func Init(p InitParams, kind string, schemaVersion int) gatehouse.InitFunc {
	return func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		t := &change{Tx: tx}
		for _, kv := range [][2]string{
			{settingMode, string(p.Mode)},
			{settingTenantID, p.TenantID},
			{settingCreatedAt, storedTime(t.Now())},
		} {
			if err := t.SetSetting(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		details := map[string]any{
			"mode":           string(p.Mode),
			"tenant_id":      p.TenantID,
			"schema_version": schemaVersion,
			"kind":           kind,
		}
		if p.Admin != "" {
			// The first MSP admin closes the bootstrap window at once.
			if _, err := insertUser(t, NewUser{Name: p.Admin, Admin: true, Via: "init"}, p.Actor); err != nil {
				return nil, err
			}
			details["admin"] = p.Admin
		}
		if p.Mode == gatehouse.ModeCloud {
			// In cloud mode the support account exists and is enabled by
			// default, from the first moment of the store.
			st, err := supportState(t)
			if err != nil {
				return nil, err
			}
			if _, _, err := ensureSupportAccount(t, &st, "store.init", gatehouse.ActorSystem); err != nil {
				return nil, err
			}
			details["support_account"] = st.AccountName()
		}
		// A new store's first event records the whole state it starts
		// with: replays begin there.
		b, err := baseline(t)
		if err != nil {
			return nil, err
		}
		maps.Copy(details, b)
		return &gatehouse.NewEvent{Actor: p.Actor, Action: "store.init", Target: "store",
			Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	}
}

// StoreInfo describes the store.
func (c *Core) StoreInfo(ctx context.Context) (gatehouse.StoreInfo, error) { return c.store.Info(ctx) }

// ListEvents, Head and VerifyChain read the audit trail (see
// gatehouse.AuditLog).
func (c *Core) ListEvents(ctx context.Context, f gatehouse.EventFilter, fn func(ev *gatehouse.Event) error) error {
	return c.store.ListEvents(ctx, f, fn)
}

// Head returns the audit trail's last event.
func (c *Core) Head(ctx context.Context) (gatehouse.ChainHead, error) { return c.store.Head(ctx) }

// VerifyChain checks every link of the audit trail, without comparing the
// state (VerifyAudit does both).
func (c *Core) VerifyChain(ctx context.Context, o gatehouse.VerifyOptions) (gatehouse.ChainResult, error) {
	return c.store.VerifyChain(ctx, o)
}

// Backup writes a consistent copy of the store to path and records
// store.backup in this store with the copy's head, so that a restore can
// be checked later with 'audit verify --head'. Only a store that is a
// file can do this; a PostgreSQL database is backed up with pg_dump.
func (c *Core) Backup(ctx context.Context, actor, path string) (gatehouse.BackupInfo, error) {
	b, ok := c.store.(gatehouse.Backupper)
	if !ok {
		return gatehouse.BackupInfo{}, gatehouse.Errorf(gatehouse.EINVALID,
			"store backup writes a copy of an SQLite store; back up PostgreSQL with pg_dump, or copy a tenant with 'gatehouse store copy' (docs/operations.md)")
	}
	info, err := b.Backup(ctx, path)
	if err != nil {
		return info, err
	}
	_, err = c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		return &gatehouse.NewEvent{Actor: actor, Action: "store.backup", Target: "store", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"path": info.Path, "head_seq": info.Head.Seq, "head_hash": info.Head.Hash}}, nil
	})
	return info, err
}

// Trusted reports whether the store passes its own permission checks (an
// SQLite file that only its owner can write); file work for an earlier
// write, such as completing a delivery, is done only then. A database
// server guards itself.
func (c *Core) Trusted() bool {
	if t, ok := c.store.(interface{ Trusted() bool }); ok {
		return t.Trusted()
	}
	return true
}

// AppendSynthetic appends n sealed events made from template, in large
// transactions: a valid chain of any length, fast, for benchmarks and
// measurements (internal/tools/fillstore). No command calls it.
func (c *Core) AppendSynthetic(ctx context.Context, n int, template gatehouse.NewEvent) error {
	s, ok := c.store.(interface {
		AppendSynthetic(ctx context.Context, n int, template gatehouse.NewEvent) error
	})
	if !ok {
		return gatehouse.Errorf(gatehouse.EINVALID, "this store cannot append synthetic events")
	}
	return s.AppendSynthetic(ctx, n, template)
}

// RecordCopy appends the store.copy event that says this store was copied
// to (role "to") or from (role "from") another, whose location is other,
// with the copied chain's head, and this store's own kind and schema
// version: a store made by a copy records its version there, as a new
// store does in store.init (audit.RecordedSchema).
func (c *Core) RecordCopy(ctx context.Context, actor, role, other string, head gatehouse.ChainHead) error {
	info, err := c.store.Info(ctx)
	if err != nil {
		return err
	}
	_, err = c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		return &gatehouse.NewEvent{Actor: actor, Action: "store.copy", Target: "store", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{role: other, "head_seq": head.Seq, "head_hash": head.Hash,
				"kind": audit.StoreKind(info.Path), "schema_version": info.SchemaVersion}}, nil
	})
	return err
}

// Tenants describes the tenants of the store's database: every tenant of a
// PostgreSQL database, or the one an SQLite store is.
func (c *Core) Tenants(ctx context.Context) ([]gatehouse.StoreInfo, error) {
	if l, ok := c.store.(gatehouse.TenantLister); ok {
		return l.Tenants(ctx)
	}
	info, err := c.store.Info(ctx)
	return []gatehouse.StoreInfo{info}, err
}
