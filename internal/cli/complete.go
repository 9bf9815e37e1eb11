package cli

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// addCompletions wires shell completion of names kept in the store: users
// for USER arguments, records for --role/--scope/--group/--org, tenants
// for --tenant and fingerprints for 'support recipients remove'; and of
// every closed set: -o, on|off arguments, --action, --mode, --scheme,
// --algorithms, --require-amr and --reset-after-use. Completion reads the
// store only when the shell asks, and offers nothing if it cannot.
func addCompletions(f *Factory, root *cobra.Command) {
	root.RegisterFlagCompletionFunc("output", fixedValues(outputValues()...))
	root.RegisterFlagCompletionFunc("tenant", f.complete(false, func(db *core.Core, cmd *cobra.Command) []string {
		ts, _ := db.Tenants(cmd.Context())
		var out []string
		for _, t := range ts {
			if t.TenantID != "" {
				out = append(out, t.TenantID)
			}
		}
		return out
	}))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		for name, values := range flagValues {
			if c.Flags().Lookup(name) != nil {
				c.RegisterFlagCompletionFunc(name, fixedValues(values...))
			}
		}
		switch {
		case strings.HasSuffix(c.Use, " on|off"):
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return []cobra.Completion{"on", "off"}, cobra.ShellCompDirectiveNoFileComp
			}
		case strings.Contains(c.Use, " USER"):
			c.ValidArgsFunction = f.complete(true, func(db *core.Core, cmd *cobra.Command) []string {
				var names []string
				db.ListUsers(cmd.Context(), gatehouse.UserFilter{}, func(u *gatehouse.User) error {
					names = append(names, u.Name)
					return nil
				})
				return names
			})
		case c.CommandPath() == "gatehouse support recipients remove":
			c.ValidArgsFunction = f.complete(true, func(db *core.Core, cmd *cobra.Command) []string {
				rs, _ := db.Recipients(cmd.Context())
				var out []string
				for _, r := range rs {
					out = append(out, r.Fingerprint+"\t"+r.Kind+" "+r.Comment)
				}
				return out
			})
		}
		for _, kind := range []string{"role", "scope", "group", "org"} {
			if c.Flags().Lookup(kind) == nil {
				continue
			}
			c.RegisterFlagCompletionFunc(kind, f.complete(false, func(db *core.Core, cmd *cobra.Command) []string {
				rs, _ := db.Records(cmd.Context(), kind)
				var out []string
				for _, r := range rs {
					out = append(out, r.Name)
				}
				return out
			}))
		}
	}
	walk(root)
}

// flagValues are the values of flags whose values form a closed set,
// wherever such a flag appears, each with what it means.
var flagValues = map[string][]cobra.Completion{
	"action":          actionValues(),
	"on":              actionValues(), // notify add: an action or glob
	"format":          {"gatehouse\tgatehouse's own event JSON", "ocsf\tOCSF 1.x: Authentication 3002, Account Change 3001"},
	"mode":            {"onprem\ton-premise: one server, its own store", "cloud\tthe vendor's multi-tenant cloud"},
	"scheme":          {"https", "http"},
	"algorithms":      oidc.SigningAlgorithms(),
	"reset-after-use": {"off\tthe credential lasts its whole TTL"},
	// RFC 8176's registered authentication method references.
	"require-amr": {"mfa\tmultiple-factor authentication", "pwd\tpassword", "otp\tone-time password",
		"hwk\thardware-secured key", "swk\tsoftware-secured key", "pin\tPIN", "fpt\tfingerprint",
		"face\tfacial recognition", "iris\tiris scan", "retina\tretina scan", "vbm\tvoice biometric",
		"geo\tgeolocation", "kba\tknowledge-based", "mca\tmultiple-channel", "rba\trisk-based",
		"sc\tsmart card", "sms\tSMS confirmation", "tel\ttelephone call", "user\tuser presence test",
		"wia\tWindows integrated authentication"},
}

// outputValues are the output formats -o takes.
func outputValues() []cobra.Completion {
	var out []cobra.Completion
	for _, f := range render.Formats {
		out = append(out, string(f))
	}
	return out
}

// actionValues are every action the trail records, and each family as a
// prefix (support.*), which --action matches too.
func actionValues() []cobra.Completion {
	var out []cobra.Completion
	families := map[string]bool{}
	for _, a := range gatehouse.Actions {
		out = append(out, cobra.CompletionWithDesc(a.Name, a.Does))
		family, _, _ := strings.Cut(a.Name, ".")
		if !families[family] {
			families[family] = true
			out = append(out, cobra.CompletionWithDesc(family+".*", "every "+family+" action"))
		}
	}
	return out
}

// fixedValues completes a flag from a fixed list, never with file names.
func fixedValues(values ...cobra.Completion) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// complete adapts a name lister to cobra: no file names, and nothing when
// configuration or the store is unavailable. For a positional argument
// (firstArgOnly) it completes only the first one.
func (f *Factory) complete(firstArgOnly bool, names func(*core.Core, *cobra.Command) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if firstArgOnly && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if f.cfg == nil {
			if err := f.loadConfig(cmd); err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		}
		db, err := f.ReadStore(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return names(db, cmd), cobra.ShellCompDirectiveNoFileComp
	}
}
