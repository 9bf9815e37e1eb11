package cli

import (
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// InitOptions are the inputs of `gatehouse init`.
type InitOptions struct {
	F        *Factory
	Mode     gatehouse.Mode // "" when --mode was not given
	TenantID string
	Admin    string
}

// NewCmdInit builds `gatehouse init`.
func NewCmdInit(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{F: f}
	var mode string
	cmd := &cobra.Command{
		Use:   "init [--mode onprem|cloud] [--tenant ID]",
		Short: "Create the store, or check that it exists",
		Long: withExitStatus(`Create the store: the file (mode 0600; its directory 0700 when created),
the schema, the deployment mode and tenant, and the first audit event. On
PostgreSQL (--store postgres://...) init creates the schema if needed and
the tenant: --mode cloud --tenant ID for a tenant of the vendor's cloud,
or no tenant for the database's one on-prem store.

Running init on an initialised store is harmless: it changes nothing and
says so. It refuses to change the mode or tenant of an existing store.

--admin NAME creates the first MSP admin with the store. Until a store has an
MSP admin, any operator may change settings and grant access ("bootstrap",
recorded in each event); naming the admin at init closes that window at once.`),
		Example: `  gatehouse init
  gatehouse --store /var/lib/gatehouse/gatehouse.db init
  gatehouse init --mode cloud --tenant 96444123124151159181195912
  gatehouse --store postgres://gatehouse@db.internal/gatehouse init --mode cloud --tenant acme`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("mode") {
				opts.Mode = gatehouse.Mode(mode)
				if !opts.Mode.Valid() {
					return usageError("invalid --mode %q: use onprem or cloud", gatehouse.Clip(mode, 40))
				}
			}
			opts.TenantID = f.Config().Tenant
			switch {
			case opts.Mode == gatehouse.ModeCloud && opts.TenantID == "":
				return usageError("--mode cloud needs --tenant ID (the tenant partition ID)")
			case opts.TenantID != "" && opts.Mode != gatehouse.ModeCloud:
				return usageError("--tenant applies only with --mode cloud")
			}
			if opts.Admin != "" {
				if err := gatehouse.ValidateUserName(opts.Admin); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return initRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "onprem", "deployment mode: onprem or cloud")
	cmd.Flags().StringVar(&opts.Admin, "admin", "", "create the first MSP admin, closing the bootstrap window at once")
	return cmd
}

func initRun(cmd *cobra.Command, opts *InitOptions) error {
	f := opts.F
	p, err := f.Printer()
	if err != nil {
		return err
	}
	params := core.InitParams{Mode: opts.Mode, TenantID: opts.TenantID, Actor: f.Actor(), Admin: opts.Admin}
	info, err := f.CreateStore(cmd.Context(), params)
	if err != nil {
		return err
	}
	if info.Created {
		f.IO.Info("created store %s (mode %s)", info.Path, info.Mode)
	} else if opts.Admin != "" {
		f.IO.Info("store %s is already initialised; --admin was not applied (use 'gatehouse users add %s --admin')", info.Path, opts.Admin)
	} else {
		f.IO.Info("store %s is already initialised; nothing changed", info.Path)
	}
	return f.Result(p, info.Created, info)
}
