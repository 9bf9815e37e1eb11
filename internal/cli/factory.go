package cli

import (
	"context"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/gatehouse-dev/gatehouse/internal/jq"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// Factory hands commands their dependencies. Everything is resolved lazily:
// help, version and completion never read configuration files or open the
// store, and a read command opens the store only when it runs. Commands
// reach the store only through the core (internal/core), which the factory
// gets from internal/wire — the same wiring a server that embeds
// gatehouse uses (pkg/gatehouse/store).
type Factory struct {
	IO  *iostreams.IOStreams
	Now func() time.Time

	cfg  *config.Config
	core *core.Core
	// started is set once a command's own run begins; an error before that
	// is a usage error (bad flag, wrong arguments).
	started bool
	// jq, with --jq, filters what the command prints; run closes it.
	jq *jq.Writer
	// reported is set once a command printed the record of its change
	// (changed says whether it changed anything): the change is made,
	// whatever goes wrong after.
	reported, changed bool
	// wrote is set once the command opened the store to change it.
	wrote bool
}

// setJQ makes stdout go through the --jq filter. The filter reads JSON:
// without -o the output is JSON (JSON Lines stays JSON Lines, filtered
// record by record as it streams); -o of another format is a usage error.
func (f *Factory) setJQ(cmd *cobra.Command, cfg *config.Config, expr string) error {
	if cmd.Annotations[annotationOutput] == outputRaw {
		return usageError("%s does not print JSON: --jq cannot filter it (see '%s --help')", cmd.CommandPath(), cmd.CommandPath())
	}
	filter, err := jq.Compile(expr)
	if err != nil {
		return err
	}
	explicit := cmd.Root().PersistentFlags().Changed("output")
	switch {
	case cfg.Output == string(render.JSON) || cfg.Output == string(render.JSONL):
	case explicit:
		return usageError("--jq filters JSON: use it with -o json, -o jsonl or no -o (see '%s --help')", cmd.CommandPath())
	default:
		cfg.Output = string(render.JSON)
	}
	f.jq = filter.Writer(cmd.Context(), f.IO.Out, cfg.Output == string(render.JSONL))
	f.IO.Out = f.jq
	return nil
}

// annotationOutput marks a command whose stdout is not a rendered record
// (outputRaw: a key, a proof, an envelope): --jq is refused before it runs.
const (
	annotationOutput = "gatehouse/output"
	outputRaw        = "raw"
)

// finish ends the --jq filter once the command succeeded, or failed a
// check (exit 1), whose finding it printed whole: another failure may have
// printed half a document, and its own error is the one to show. A filter
// that fails on the record of a change that was made (a run-time jq error,
// .a.b on a string) does not undo it, so it does not make the command
// fail: the error is a warning on stderr and the exit status stays 0,
// which says the change was made (docs/exit-codes.md).
func (f *Factory) finish(err error) error {
	if f.jq == nil || (err != nil && gatehouse.ErrorCode(err) != gatehouse.ECHECKFAILED) {
		return err
	}
	cerr := f.jq.Close()
	switch {
	case err != nil:
		return err
	case cerr != nil && f.reported:
		f.IO.Message("warning: %s; %s", gatehouse.ErrorMessage(cerr), map[bool]string{true: "the change was made", false: "nothing changed"}[f.changed])
		return nil
	}
	return cerr
}

// loadConfig resolves configuration from the parsed flags; the root
// command calls it before any command runs.
func (f *Factory) loadConfig(cmd *cobra.Command) error {
	// The client settings are the root's persistent flags; a command's own
	// flag of the same name (audit list --actor, a filter) is not one of them.
	if err := iostreams.ForceTTYError(); err != nil {
		return err
	}
	pf := cmd.Root().PersistentFlags()
	cfg, err := config.Load(pf)
	if err != nil {
		return err
	}
	if cmd.Annotations[annotationOutput] == outputRaw && pf.Changed("output") {
		return usageError("%s prints no record: -o does not apply (see '%s --help')", cmd.CommandPath(), cmd.CommandPath())
	}
	if expr, _ := pf.GetString("jq"); pf.Changed("jq") {
		if err := f.setJQ(cmd, cfg, expr); err != nil {
			return err
		}
	}
	if cfg.Actor != "" {
		if err := gatehouse.ValidateActor(cfg.Actor); err != nil {
			return err
		}
	}
	f.cfg = cfg
	if cfg.NoColor {
		f.IO.SetNoColor()
	}
	if cfg.Quiet {
		f.IO.SetQuiet()
	}
	return nil
}

// Config is the resolved client configuration.
func (f *Factory) Config() *config.Config { return f.cfg }

// Store opens the store once, on first use, for a command that changes it.
func (f *Factory) Store(ctx context.Context) (*core.Core, error) {
	f.wrote = true
	return f.open(ctx, wire.Options{})
}

// ReadStore opens the store once, read-only, for a command that only reads
// it: the store is not written, not even migrated (docs/security.md).
func (f *Factory) ReadStore(ctx context.Context) (*core.Core, error) {
	return f.open(ctx, wire.Options{ReadOnly: true})
}

// AuditStore is ReadStore for the audit commands, which also read a store
// of an older schema as it is: the audit trail's table is the same in
// every schema, so an old backup can be verified where it lies.
func (f *Factory) AuditStore(ctx context.Context) (*core.Core, error) {
	return f.open(ctx, wire.Options{ReadOnly: true, OlderSchema: true})
}

func (f *Factory) open(ctx context.Context, access wire.Options) (*core.Core, error) {
	if f.core != nil {
		return f.core, nil
	}
	opts := f.storeOptions()
	opts.ReadOnly, opts.OlderSchema = access.ReadOnly, access.OlderSchema
	c, err := wire.Open(ctx, f.cfg.Store, opts)
	if err != nil {
		return nil, err
	}
	f.core = c
	return c, nil
}

// CreateStore opens the store, creating and initialising it if needed.
func (f *Factory) CreateStore(ctx context.Context, p core.InitParams) (gatehouse.StoreInfo, error) {
	f.wrote = true
	c, info, err := wire.Create(ctx, f.cfg.Store, f.storeOptions(), p)
	if err != nil {
		return info, err
	}
	f.core = c
	return info, nil
}

func (f *Factory) storeOptions() wire.Options {
	return wire.Options{Tenant: f.cfg.Tenant, Now: f.Now, OSUser: osUser(), Warn: func(msg string) { f.IO.Message("%s", msg) }}
}

func (f *Factory) closeStore() {
	if f.core != nil {
		f.core.Close()
	}
}

// Printer returns the renderer for the configured output format.
func (f *Factory) Printer() (*render.Printer, error) {
	format, err := render.ParseFormat(f.cfg.Output)
	if err != nil {
		return nil, err
	}
	p := render.New(f.IO.Out, format, f.IO.IsStdoutTTY())
	p.SetWidth(f.IO.TerminalWidth())
	return p, nil
}

// pagedPrinter is the renderer of a listing that may be long: a table on
// a terminal goes through the pager (iostreams.StartPager), which run
// stops once the command is done; any other output is p as it is.
func (f *Factory) pagedPrinter(p *render.Printer) (*render.Printer, error) {
	if p.Format() != render.Table || !f.IO.IsStdoutTTY() {
		return p, nil
	}
	f.IO.StartPager()
	return f.Printer()
}

// Actor is who the audit trail names for this command: --actor,
// GATEHOUSE_ACTOR or the configuration file, else the OS user. It is
// attribution, not authentication: whoever can write the store file can
// name any actor (docs/security.md).
func (f *Factory) Actor() string {
	if f.cfg.Actor != "" {
		return f.cfg.Actor
	}
	return osUser()
}

// osUser names the operating-system user running gatehouse; every event
// records it beside the actor.
func osUser() string { return osUserName(os.Getuid(), user.LookupId) }

// osUserName is the name of the real user ID uid in the system's user
// database, or "uid:N" when it has none. It never reads $USER or $LOGNAME:
// whoever runs gatehouse sets those, and os_user is the one attribution in
// an event that the caller cannot choose.
func osUserName(uid int, lookup func(uid string) (*user.User, error)) string {
	if u, err := lookup(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid:" + strconv.Itoa(uid)
}

// PrinterAndStore returns the renderer and the store opened to change it,
// in that order: a bad output format fails before the store is touched.
func (f *Factory) PrinterAndStore(ctx context.Context) (*render.Printer, *core.Core, error) {
	return f.printerAnd(ctx, f.Store)
}

// PrinterAndReadStore is PrinterAndStore for a command that only reads.
func (f *Factory) PrinterAndReadStore(ctx context.Context) (*render.Printer, *core.Core, error) {
	return f.printerAnd(ctx, f.ReadStore)
}

func (f *Factory) printerAnd(ctx context.Context, open func(context.Context) (*core.Core, error)) (*render.Printer, *core.Core, error) {
	p, err := f.Printer()
	if err != nil {
		return nil, nil, err
	}
	c, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, c, nil
}

// Result prints the record of a change: render.Change, "changed" (false
// when there was nothing to do) and the fields of v, the thing changed as
// it now is (docs/configuration.md, "Output"). With -q the table prints
// nothing at all, so cron mails nothing; a format for programs (json, yaml,
// jsonl, csv, and --jq) prints the record even with -q: a script asked for
// it. Commands get p from Printer before they change anything, so a bad -o
// fails first.
func (f *Factory) Result(p *render.Printer, changed bool, v any) error {
	f.reportedTable(changed)
	if f.IO.IsQuiet() && p.Format() == render.Table {
		return nil
	}
	return p.Object(render.Change{Changed: changed, Object: v})
}

// reportedTable notes the result of a change that a command prints its own
// way as a table (a line, the recipients added) or not at all on stdout
// (the envelope went there); in the formats for programs it calls Result.
func (f *Factory) reportedTable(changed bool) { f.reported, f.changed = true, changed }
