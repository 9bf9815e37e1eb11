package cli

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// addCompletions wires shell completion of names kept in the store: users
// for USER arguments, records for --role/--scope/--group/--org, and
// fingerprints for 'support recipients remove'. Completion reads the store
// only when the shell asks, and offers nothing if it cannot.
func addCompletions(f *Factory, root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		switch {
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
