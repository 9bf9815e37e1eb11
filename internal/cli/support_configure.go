package cli

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

func newCmdSupportConfigure(f *Factory) *cobra.Command {
	var name, ttl, reset, endpoint, timeout string
	cmd := &cobra.Command{
		Use:   "configure [--account-name N] [--ttl D] [--reset-after-use D|off] [--endpoint URL] [--endpoint-timeout D]",
		Short: "Set the support settings kept in the store (audited)",
		Long: withExitStatus(`Set the support settings. They live in the store and every change is audited.

  --account-name     base name of the support account (default vendorsupport);
                     in cloud mode the tenant ID is appended. Renames an
                     existing support account.
  --ttl              lifetime of a new credential (default 72h; 1m to 30d)
  --reset-after-use  end a credential this long after its first technician
                     logon (off by default; 1m to 30d; "off" turns it off)
  --endpoint         https URL envelopes are POSTed to ("" turns it off;
                     plain http only to a loopback address)
  --endpoint-timeout bound on each POST attempt (default 10s; 1s to 5m)`),
		Example: `  gatehouse support configure --account-name kaseyasupport --ttl 72h --reset-after-use 24h
  gatehouse support configure --endpoint https://support.vendor.example/envelopes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var u gatehouse.SupportUpdate
			fl := cmd.Flags()
			if fl.NFlag() == 0 || !(fl.Changed("account-name") || fl.Changed("ttl") || fl.Changed("reset-after-use") || fl.Changed("endpoint") || fl.Changed("endpoint-timeout")) {
				return usageError("nothing to configure: give --account-name, --ttl, --reset-after-use, --endpoint or --endpoint-timeout")
			}
			if fl.Changed("account-name") {
				if err := gatehouse.ValidateAccountName(name); err != nil {
					return err
				}
				u.AccountName = &name
			}
			durationFlag := func(flag, v string, dst **time.Duration, allowOff bool) error {
				if !fl.Changed(flag) {
					return nil
				}
				var d time.Duration
				if !(allowOff && (v == "off" || v == "0")) {
					var err error
					if d, err = optionalDuration("--"+flag, v); err != nil {
						return err
					}
					if d == 0 {
						return usageError("--%s needs a duration", flag)
					}
				}
				*dst = &d
				return nil
			}
			if err := durationFlag("ttl", ttl, &u.TTL, false); err != nil {
				return err
			}
			if err := durationFlag("reset-after-use", reset, &u.ResetAfterUse, true); err != nil {
				return err
			}
			if err := durationFlag("endpoint-timeout", timeout, &u.EndpointTimeout, false); err != nil {
				return err
			}
			if fl.Changed("endpoint") {
				ep, err := gatehouse.ParseSupportEndpoint(endpoint)
				if err != nil {
					return err
				}
				u.Endpoint = &ep
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			s, changed, err := db.ConfigureSupport(cmd.Context(), f.Actor(), u)
			if err != nil {
				return err
			}
			if changed {
				f.IO.Info("support settings changed")
			} else {
				f.IO.Info("support settings unchanged")
			}
			return f.Result(p, changed, s)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "account-name", "", "base name of the support account")
	fl.StringVar(&ttl, "ttl", "", "lifetime of a new credential (72h, 3d)")
	fl.StringVar(&reset, "reset-after-use", "", "end a credential this long after its first logon, or off")
	fl.StringVar(&endpoint, "endpoint", "", "https URL to POST envelopes to (\"\" for none)")
	fl.StringVar(&timeout, "endpoint-timeout", "", "bound on each POST attempt")
	return cmd
}
