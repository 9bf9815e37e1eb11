package cli

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdConfig builds `gatehouse config`.
func NewCmdConfig(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "config",
		Short: "Show the server's settings, and check them against a policy (for CI)",
	})
	cmd.AddCommand(newCmdConfigShow(f), newCmdConfigCheck(f))
	return cmd
}

func newCmdConfigShow(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show every server setting in the store, as one document with stable keys",
		Long: withExitStatus(`Show every server setting kept in the store — mode, tenant, external address,
SSO, support access, seats, and a summary of users — as one document. The keys
are stable: the same names 'config check' policies use. As a table, nested
settings are flattened to dotted keys (sso.allow).`),
		Example: `  gatehouse config show
  gatehouse config show -o json | jq .sso`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			c, err := db.ServerConfig(cmd.Context())
			if err != nil {
				return err
			}
			return p.FlatObject(c)
		},
	}
}

var findingColumns = []string{"KEY", "EXPECTED", "ACTUAL", "RESULT"}

func newCmdConfigCheck(f *Factory) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check --policy FILE",
		Short: "Check the settings against a policy; exit 1 on drift (for CI)",
		Long: withExitStatus(`Compare the store's settings with a policy file and print each finding:
expected, actual, ok or drift. Exits 0 when every rule holds, 1 on any drift,
and 2 when the policy itself is malformed (unknown key, wrong type, bad
duration: the message names the line).

Policy keys (dotted, or nested under sso:, support:, …):
  mode, server.external_address, server.port,
  sso.allow, sso.require, sso.auto_create, sso.issuer, sso.exempt (exact list),
  support.enabled, support.max_credential_age, support.max_ttl,
  support.recipients (exact list of fingerprints), support.endpoint,
  users.max_pending, users.max_pending_age, license.max_seats_used,
  audit.verify (verify the audit chain too).`),
		Example: `  gatehouse config check --policy /etc/gatehouse/policy.yaml
  gatehouse config check --policy policy.yaml -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError("give --policy FILE")
			}
			in, closeFn, err := openInput(f, "--policy", file)
			if err != nil {
				return err
			}
			pol, err := policy.Parse(in, file)
			closeFn()
			if err != nil {
				return err
			}
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			facts := policy.Facts{}
			if facts.Config, err = db.ServerConfig(cmd.Context()); err != nil {
				return err
			}
			if pol.Has("audit.verify") {
				res, err := db.VerifyAudit(cmd.Context(), nil, nil)
				if err != nil {
					return err
				}
				facts.AuditOK = res.OK()
				facts.AuditDetail = fmt.Sprintf("%d/%d events valid", res.Valid, res.Total)
				switch {
				case !res.ChainResult.OK():
					facts.AuditDetail = fmt.Sprintf("broken at event %d", res.Fault.Seq)
				case !res.OK():
					facts.AuditDetail = fmt.Sprintf("%d rows differ from the trail", len(res.State.Differences))
				}
			}
			findings := policy.Check(pol, facts)
			l := p.List(findingColumns, policy.Finding{})
			defer l.Flush() // what came before an error is still printed
			drift := 0
			for _, fd := range findings {
				result := f.IO.Color("32", "ok")
				if !fd.OK {
					drift++
					result = f.IO.Color("31", "drift")
				}
				if err := l.Add(fd, fd.Key, fd.Expected, fd.Actual, result); err != nil {
					return err
				}
			}
			if err := l.Close(); err != nil {
				return err
			}
			if drift > 0 {
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "%d of %d policy rules drifted", drift, len(findings))
			}
			f.IO.Info("all %d policy rules hold", len(findings))
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "policy", "", "the policy file (YAML); - for stdin")
	return cmd
}
