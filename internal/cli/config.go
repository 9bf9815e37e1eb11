package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/wire"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdConfig builds `gatehouse config`.
func NewCmdConfig(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "config",
		Short: "The server's settings (show, check) and this client's configuration (client)",
		Long: withExitStatus(`Two kinds of configuration, kept apart:

  config show, config check   the server's settings, kept in the store and
                              audited: SSO, support access, seats, …
  config client               this client's own configuration — which store,
                              tenant, output format, actor — from flags,
                              GATEHOUSE_* variables and configuration files,
                              and where each value came from`),
	})
	cmd.AddCommand(newCmdConfigShow(f), newCmdConfigCheck(f), newCmdConfigClient(f))
	return cmd
}

// ClientSetting is one row of 'config client'.
type ClientSetting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Source is flag, env, file, default or unset; Origin names the flag,
	// the environment variable or the file.
	Source string `json:"source"`
	Origin string `json:"origin"`
}

var clientColumns = []string{"KEY", "VALUE", "SOURCE"}

func newCmdConfigClient(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "client",
		Aliases: []string{"view"},
		Short:   "Show this client's configuration and where each value came from",
		Long: withExitStatus(`Show the configuration this command line resolves to — the store, tenant,
output format, actor, colour and quiet settings — and where each value came
from: a flag, a GATEHOUSE_* environment variable, a configuration file (named),
or the default. The row "config" lists the configuration files read (comma-
separated; empty when none was) and what chose them.

Precedence, highest first: flags, GATEHOUSE_* variables, the file named by
--config or GATEHOUSE_CONFIG (else the XDG config file laid over
/etc/gatehouse/config.yaml, key by key), defaults. This reads no store: the
server's settings, kept in the store, are 'gatehouse config show'. A password
in a PostgreSQL URL is not shown.`),
		Example: `  gatehouse config client
  GATEHOUSE_OUTPUT=yaml gatehouse config client -o json --jq '.[] | select(.key == "output")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			cfg := f.Config()
			rows := clientSettings(cfg, os.Getenv("NO_COLOR") != "", osUser())
			l := p.List(clientColumns, ClientSetting{})
			defer l.Flush()
			for _, r := range rows {
				value, source := r.Value, config.Source{Kind: r.Source, Name: r.Origin}.String()
				switch {
				case r.Key == "config" && value == "":
					value = "(none read)"
				case r.Key == "actor" && source == "default":
					source = "default (the OS user)"
				}
				if err := l.Add(r, r.Key, value, source); err != nil {
					return err
				}
			}
			return l.Close()
		},
	}
}

// clientSettings are the rows of 'config client' for cfg. noColorEnv says
// NO_COLOR is set; osUser is the actor when none is configured.
func clientSettings(cfg *config.Config, noColorEnv bool, osUser string) []ClientSetting {
	values := map[string]string{
		"store":    wire.Display(cfg.Store),
		"tenant":   cfg.Tenant,
		"output":   cfg.Output,
		"actor":    cfg.Actor,
		"no_color": strconv.FormatBool(cfg.NoColor),
		"quiet":    strconv.FormatBool(cfg.Quiet),
	}
	var rows []ClientSetting
	for _, key := range config.Keys {
		src := cfg.Sources[key]
		r := ClientSetting{Key: key, Value: values[key], Source: src.Kind, Origin: src.Name}
		switch {
		case key == "actor" && src.Kind == "unset":
			r.Value, r.Source = osUser, "default"
		case key == "no_color" && !cfg.NoColor && noColorEnv:
			r.Value, r.Source, r.Origin = "true", "env", "NO_COLOR"
		}
		rows = append(rows, r)
	}
	return append(rows, ClientSetting{Key: "config", Value: strings.Join(cfg.Files, ", "), Source: cfg.FilesFrom.Kind, Origin: cfg.FilesFrom.Name})
}

func newCmdConfigShow(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show every server setting in the store, as one document with stable keys (not this client's: see 'config client')",
		Long: withExitStatus(`Show every server setting kept in the store — mode, tenant, external address,
SSO, support access, seats, and a summary of users — as one document. The keys
are stable: the same names 'config check' policies use. As a table, nested
settings are flattened to dotted keys (sso.allow). This client's own
configuration (store path, output format, actor) is 'gatehouse config client'.`),
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
