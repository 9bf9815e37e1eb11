package cli

import (
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdStore builds `gatehouse store`.
func NewCmdStore(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "store",
		Short: "The store: backups and copies",
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store to FILE (never overwrites)",
		Long: withExitStatus(`Write a consistent copy of the store, while gatehouse and the server keep
working, to FILE (mode 0600). FILE must not exist. The copy is a complete
store: 'audit verify' accepts it and 'init' recognises it. The live store
records a store.backup event with the copy's audit head, so a restore can be
checked. See docs/operations.md for restoring.`),
		Example: `  gatehouse store backup /var/backups/gatehouse-$(date +%F).db`,
		Args:    exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := gatehouse.ValidatePath("the backup path", args[0]); err != nil {
				return err
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			info, err := db.Backup(cmd.Context(), f.Actor(), args[0])
			if err != nil {
				return err
			}
			f.IO.Info("backup written to %s (audit head %d)", info.Path, info.Head.Seq)
			return f.Result(p, true, info)
		},
	})
	var to string
	copyCmd := &cobra.Command{
		Use:   "copy --to LOCATION",
		Short: "Copy the whole store to a new store: SQLite to PostgreSQL and back",
		Long: withExitStatus(`Copy the whole store — every account, setting and grant, and the audit
trail verbatim — to a new store at LOCATION: an SQLite file's path, or a
postgres:// URL. This is how an on-prem store moves to PostgreSQL (and back).

The source's audit trail must verify first. The target must be empty: a file
that does not exist, or a database that does not hold this tenant (the
tenant ID is the source's). The copy is written in one transaction; its
chain is then verified and its head checked to be an event of the source,
with the same hash. Both stores record a store.copy event naming the other.
The target's password is never printed nor recorded: keep it out of the URL
(PGPASSFILE, a libpq service file, or a client certificate).`),
		Example: `  gatehouse --store /var/lib/gatehouse/gatehouse.db store copy --to postgres://gatehouse@db.internal/gatehouse
  gatehouse --store postgres://gatehouse@db.internal/gatehouse --tenant acme store copy --to acme.db`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError("store copy needs --to LOCATION")
			}
			if err := gatehouse.ValidatePath("the target location", to); err != nil {
				return err
			}
			p, c, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			res, err := wire.Copy(cmd.Context(), c, to, f.storeOptions(), f.Actor())
			if err != nil {
				return err
			}
			f.IO.Info("copied %d events and the store's rows to %s; the copy's audit trail verifies (head %d)", res.Events, res.To, res.Head.Seq)
			return f.Result(p, true, res)
		},
	}
	copyCmd.Flags().StringVar(&to, "to", "", "the new store: a file path or a postgres:// URL")
	cmd.AddCommand(copyCmd)
	return cmd
}

// NewCmdTenants builds `gatehouse tenants`.
func NewCmdTenants(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "tenants",
		Short: "The tenants a PostgreSQL store holds",
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the tenants of the store's database",
		Long: withExitStatus(`List the tenants of the store's database: every tenant of a PostgreSQL
database (one database serves many tenants of the vendor's cloud; --tenant
picks one), or the one an SQLite store is. Nothing is written.`),
		Example: `  gatehouse --store postgres://gatehouse@db.internal/gatehouse tenants list`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Config().Tenant != "" {
				return usageError("tenants list lists every tenant of the database: drop --tenant (GATEHOUSE_TENANT)")
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			o := f.storeOptions()
			ts, err := wire.ListTenants(cmd.Context(), f.Config().Store, o)
			if err != nil {
				return err
			}
			l := p.List([]string{"TENANT", "MODE", "CREATED", "SCHEMA"}, tenantRow{})
			defer l.Flush()
			for _, t := range ts {
				row := tenantRow{TenantID: t.TenantID, Mode: t.Mode, CreatedAt: t.CreatedAt, SchemaVersion: t.SchemaVersion}
				name := t.TenantID
				if name == "" {
					name = "(on-prem)"
				}
				if err := l.Add(row, name, string(t.Mode), t.CreatedAt.Format(time.RFC3339), strconv.Itoa(t.SchemaVersion)); err != nil {
					return err
				}
			}
			return l.Close()
		},
	})
	return cmd
}

// tenantRow is one line of 'tenants list'.
type tenantRow struct {
	TenantID      string         `json:"tenant_id"`
	Mode          gatehouse.Mode `json:"mode"`
	CreatedAt     time.Time      `json:"created_at"`
	SchemaVersion int            `json:"schema_version"`
}
