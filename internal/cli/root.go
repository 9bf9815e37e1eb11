package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Administer a server's accounts: vendor support access, SSO, pending users, audit",
		Long: `gatehouse administers a server's accounts against its store — a local SQLite
file, or a PostgreSQL database shared by several servers and tenants:
vendor support access, SSO sign-in and automatic user creation, the queue of
users awaiting role assignment, and a tamper-evident audit trail of every
change and every sign-in.

Configuration (highest precedence first): flags, GATEHOUSE_* environment
variables (GATEHOUSE_STORE, GATEHOUSE_OUTPUT, GATEHOUSE_ACTOR, ...), the file
named by --config or GATEHOUSE_CONFIG, else the XDG config file laid over
/etc/gatehouse/config.yaml, then defaults.` + exitStatusText,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Commands that only print help, version or completion scripts never
		// load configuration or open the store.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if skipsConfig(cmd) {
				return nil
			}
			if err := refuseEmptyFlags(cmd); err != nil {
				return err
			}
			if err := f.loadConfig(cmd); err != nil {
				return err
			}
			f.started = true
			return nil
		},
	}
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.String("store", "", "the store: an SQLite file's path or a postgres:// URL (default $XDG_STATE_HOME/gatehouse/gatehouse.db)")
	pf.String("tenant", "", "the tenant of a multi-tenant PostgreSQL store (GATEHOUSE_TENANT)")
	pf.String("config", "", "configuration file (default: XDG config file over /etc/gatehouse/config.yaml)")
	pf.StringP("output", "o", "table", "output format: table, wide (a table that cuts nothing), json, yaml, jsonl or csv (csv: a header of the JSON field names)")
	pf.String("actor", "", "the admin this change is attributed to (default: the OS user)")
	pf.Bool("no-color", false, "never colour the output (NO_COLOR is honoured too)")
	pf.BoolP("quiet", "q", false, "print nothing but data and errors")
	pf.String("jq", "", "filter JSON output with a jq expression (implies -o json; strings print as text)")

	root.AddCommand(
		NewCmdInit(f, nil),
		NewCmdServer(f),
		NewCmdSupport(f),
		NewCmdLicense(f),
		NewCmdSSO(f),
		NewCmdUsers(f),
		NewCmdRecords(f, "role"),
		NewCmdRecords(f, "scope"),
		NewCmdRecords(f, "group"),
		NewCmdRecords(f, "org"),
		NewCmdLogin(f),
		NewCmdConfig(f),
		NewCmdStore(f),
		NewCmdTenants(f),
		NewCmdAudit(f),
		NewCmdNotify(f),
		NewCmdEvents(f),
		NewCmdVersion(f),
	)
	root.Version = buildVersion().Version
	root.SetVersionTemplate("gatehouse {{.Version}}\n")
	root.SetHelpCommand(newCmdHelp(root))
	root.CompletionOptions.HiddenDefaultCmd = false
	addCompletions(f, root)
	documentCompletionCmd(root)
	return root
}

// completionExamples install each shell's script where the shell finds it
// for one user; 'make install' puts them in the system-wide places.
var completionExamples = map[string]string{
	"bash":       `  gatehouse completion bash > ~/.local/share/bash-completion/completions/gatehouse`,
	"zsh":        `  gatehouse completion zsh > "${fpath[1]}/_gatehouse"`,
	"fish":       `  gatehouse completion fish > ~/.config/fish/completions/gatehouse.fish`,
	"powershell": `  gatehouse completion powershell | Out-String | Invoke-Expression`,
}

// documentCompletionCmd adds cobra's completion command now rather than at
// Execute, so that it is documented like every other command: an example
// and the exit status in its help and man page.
func documentCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Long = withExitStatus(c.Long)
		for _, sh := range c.Commands() {
			sh.Long = withExitStatus(sh.Long)
			sh.Example = completionExamples[sh.Name()]
		}
	}
}

// flagError turns pflag's parse errors into messages that name the flag
// and never quote the command line: pflag quotes the value, or the whole
// unknown flag, and either may be a secret pasted in the wrong place.
func flagError(cmd *cobra.Command, err error) error {
	hint := fmt.Sprintf("(see '%s --help')", cmd.CommandPath())
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
	)
	switch {
	case errors.As(err, &notExist):
		return usageError("unknown flag %s", hint)
	case errors.As(err, &required) && required.GetFlag() != nil:
		return usageError("--%s needs a value %s", required.GetFlag().Name, hint)
	case errors.As(err, &invalid) && invalid.GetFlag() != nil:
		fl := invalid.GetFlag()
		return usageError("invalid value for --%s: want %s %s", fl.Name, flagWant(fl.Value.Type()), hint)
	}
	return usageError("invalid flags %s", hint)
}

// flagWant describes the values a flag of a pflag type takes.
func flagWant(typ string) string {
	switch {
	case strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint"):
		return "a whole number"
	case typ == "bool":
		return "true or false"
	case typ == "duration":
		return "a duration"
	case strings.HasPrefix(typ, "float"):
		return "a number"
	}
	return "a " + typ
}

// emptyAllowed names the string flags whose empty value means something.
var emptyAllowed = map[string]bool{
	"endpoint": true, // --endpoint "" turns delivery to an endpoint off
}

// refuseEmptyFlags refuses a string flag given explicitly empty: that is a
// script whose variable is unset, and silently treating it as "not given"
// (no filter, no head, the default store) would do something unasked.
func refuseEmptyFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if err == nil && fl.Value.Type() == "string" && fl.Value.String() == "" && !emptyAllowed[fl.Name] {
			err = usageError("--%s is empty (see '%s --help')", fl.Name, cmd.CommandPath())
		}
	})
	return err
}

// skipsConfig reports whether cmd only prints something built in.
func skipsConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "completion", "version", "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return true
		}
	}
	return false
}

// exitStatusText ends every command's help, as restic's does.
const exitStatusText = `

Exit status:
  0  success (also an add of something that already exists: nothing changed)
  1  a check failed (tamper or drift found, a logon refused, pending users with --fail-if-any)
  2  invalid input or usage, or an actor without the right; nothing was changed
  3  operational error: store missing, not a gatehouse store, newer, locked, corrupt; I/O
  4  not found: a user, role, scope, group, org, recipient or event named does not exist`

// suggest names cmd's subcommands nearest to name, as cobra does for the
// root (edit distance 2, or a prefix).
func suggest(cmd *cobra.Command, name string) []string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	return cmd.SuggestionsFor(name)
}

// newCmdHelp is 'gatehouse help [command]': cobra's, except that a topic
// that is no command is a usage error (exit 2), with the nearest commands,
// rather than a usage text and success.
func newCmdHelp(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  withExitStatus("Help provides help for any command in the application.\nSimply type gatehouse help [path to command] for full details."),
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				parent := root
				if cmd != nil {
					parent = cmd
				}
				var sugg []string
				if len(rest) > 0 {
					sugg = suggest(parent, rest[0])
				} else if len(args) > 0 {
					sugg = suggest(root, args[0])
				}
				return usageError("no help topic for that%s (see 'gatehouse --help')", didYouMean(sugg))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// withExitStatus appends the exit-status section to a command's long help.
func withExitStatus(long string) string { return strings.TrimRight(long, "\n") + exitStatusText }

// parentCommand makes cmd a grouping command: without a subcommand it shows
// help; with an unknown one it is a usage error.
func parentCommand(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError("unknown command for '%s'%s (see '%s --help')", cmd.CommandPath(), didYouMean(suggest(cmd, args[0])), cmd.CommandPath())
		}
		return cmd.Help()
	}
	return cmd
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("%s takes no arguments, got %d (see '%s --help')", cmd.CommandPath(), len(args), cmd.CommandPath())
	}
	return nil
}

// exactArgs requires exactly n positional arguments, named in the message.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s takes %s, got %d argument(s) (see '%s --help')", cmd.CommandPath(), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}
