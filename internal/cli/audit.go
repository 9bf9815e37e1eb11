package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

// NewCmdAudit builds `gatehouse audit`.
func NewCmdAudit(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "audit",
		Short: "Read and verify the tamper-evident audit trail",
		Long: withExitStatus(`Every change and every sign-in appends one event to the audit trail, in the
same transaction as the change. Each event's hash covers its content and the
previous event's hash, so an edited, deleted, inserted or reordered event
breaks the chain, and 'audit verify' names the first one that does.

Each event also records the security state the change leaves; 'audit
verify' replays it and reports any row of the store that is not what the
events say.

The events are the leaves of a Merkle tree (a transparency log). 'audit
checkpoint' signs its head with the log's key ('audit keygen') and can have
a witness on another host cosign it; 'audit checkpoints' lists the signed
heads. 'audit prove' writes a proof that one event is in the log, which
'audit verify-proof' checks offline with the public key alone.`),
	})
	cmd.AddCommand(newCmdAuditList(f, nil), newCmdAuditVerify(f, nil), newCmdAuditHead(f, nil),
		newCmdAuditKeygen(f), newCmdAuditCheckpoint(f), newCmdAuditCheckpoints(f),
		newCmdAuditProve(f), newCmdAuditVerifyProof(f))
	return cmd
}

// AuditListOptions are the inputs of `gatehouse audit list`.
type AuditListOptions struct {
	F      *Factory
	Since  string
	Until  string
	Filter gatehouse.EventFilter
	Follow bool
	// PollInterval is how often --follow looks for new events.
	PollInterval time.Duration
}

func newCmdAuditList(f *Factory, runF func(*AuditListOptions) error) *cobra.Command {
	opts := &AuditListOptions{F: f, PollInterval: time.Second}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events, oldest first",
		Long: withExitStatus(`List audit events in sequence order, oldest first. Filters combine.

--since and --until take a duration before now (24h, 7d), an RFC 3339 time
or a date (2026-11-01, UTC). --action matches exactly, or every action under
a prefix with a trailing ".*" (support.*). --limit keeps the last N matching
events. Lists of any size stream in constant memory in every format;
--follow then waits for new events until interrupted, printing each as it
arrives. A table on a terminal goes through a pager ($GATEHOUSE_PAGER, else
$PAGER, else less -FRX), except with --follow.`),
		Example: `  gatehouse audit list --since 24h
  gatehouse audit list --action 'support.*' -o jsonl
  gatehouse audit list --actor alice --limit 20
  gatehouse audit list -o csv > audit.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := f.Now()
			var err error
			if opts.Since != "" {
				if opts.Filter.Since, err = gatehouse.ParseTimeBound(opts.Since, now); err != nil {
					return err
				}
			}
			if opts.Until != "" {
				if opts.Filter.Until, err = gatehouse.ParseTimeBound(opts.Until, now); err != nil {
					return err
				}
			}
			if opts.Filter.Limit < 0 {
				return usageError("invalid --limit %d: use a positive number, or 0 for all", opts.Filter.Limit)
			}
			if runF != nil {
				return runF(opts)
			}
			return auditListRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Since, "since", "", "only events at or after this time (24h, 7d, RFC 3339, date)")
	fl.StringVar(&opts.Until, "until", "", "only events before this time (24h, 7d, RFC 3339, date)")
	fl.StringVar(&opts.Filter.Actor, "actor", "", "only events by this actor")
	fl.StringVar(&opts.Filter.Action, "action", "", "only this action, or a prefix with .* (support.*)")
	fl.StringVar(&opts.Filter.Target, "target", "", "only events on this target")
	fl.IntVar(&opts.Filter.Limit, "limit", 0, "only the last N matching events (0: all)")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new events until interrupted")
	return cmd
}

var eventTableColumns = []string{"SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAILS"}

func auditListRun(ctx context.Context, opts *AuditListOptions) error {
	f := opts.F
	p, db, err := f.printerAnd(ctx, f.AuditStore)
	if err != nil {
		return err
	}
	if !opts.Follow {
		// A long listing at a terminal is paged, streaming: the reader
		// sees the first rows at once, whatever the trail's length.
		if p, err = f.pagedPrinter(p); err != nil {
			return err
		}
	}
	list := p.List(eventTableColumns, gatehouse.Event{})
	defer list.Flush() // what came before an error is still printed
	if opts.Follow {
		// The rows already there may be none, or short: width enough for
		// the events to come (SEQ, TIME, ACTOR, ACTION, TARGET, OUTCOME),
		// details taking the rest of a terminal's width.
		list.SetMinWidths(6, 20, 12, 20, 16, 7, 120)
	}
	// Progress for long exports: only to a terminal, and only when the data
	// itself is going elsewhere.
	showProgress := f.IO.IsStderrTTY() && !f.IO.IsStdoutTTY() && !opts.Follow
	total := int64(-1) // unknown
	if showProgress {
		total = auditListTotal(ctx, db, opts.Filter)
	}
	n := 0
	add := func(ev *gatehouse.Event) error {
		opts.Filter.AfterSeq = ev.Seq
		if n++; showProgress && n%65536 == 0 {
			if total >= int64(n) {
				fmt.Fprintf(f.IO.ErrOut, "\rgatehouse: %d/%d events", n, total)
			} else {
				fmt.Fprintf(f.IO.ErrOut, "\rgatehouse: %d events", n)
			}
		}
		return list.Add(ev, strconv.FormatInt(ev.Seq, 10), ev.Time.Format(time.RFC3339), ev.Actor,
			ev.Action, ev.Target, string(ev.Outcome), string(ev.Details))
	}
	err = db.ListEvents(ctx, opts.Filter, add)
	if showProgress && n >= 65536 {
		clearProgress(f)
	}
	if err != nil {
		return err
	}
	if opts.Follow {
		// New events are picked up by sequence number; the limit applied
		// only to what was already there.
		opts.Filter.Limit = 0
		tick := time.NewTicker(opts.PollInterval)
		defer tick.Stop()
		for {
			// What is printed so far is shown before waiting for more.
			if err := list.Flush(); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return list.Close()
			case <-tick.C:
			}
			if err := db.ListEvents(ctx, opts.Filter, add); err != nil {
				if errors.Is(err, context.Canceled) || ctx.Err() != nil {
					return list.Close()
				}
				return err
			}
		}
	}
	return list.Close()
}

// clearProgress blanks the progress line on stderr: spaces rather than an
// erase sequence, so that NO_COLOR's terminal sees no escape at all.
func clearProgress(f *Factory) {
	fmt.Fprintf(f.IO.ErrOut, "\r%s\r", strings.Repeat(" ", 60))
}

// auditListTotal is how many events a listing will print, when that is
// known without counting them: with no filter but --limit, every event
// (their sequence numbers run from 1 without a gap), or the limit. -1 when
// a filter makes it unknown.
func auditListTotal(ctx context.Context, db *core.Core, fl gatehouse.EventFilter) int64 {
	if fl.Actor != "" || fl.Action != "" || fl.Target != "" || !fl.Since.IsZero() || !fl.Until.IsZero() || fl.AfterSeq != 0 {
		return -1
	}
	h, err := db.Head(ctx)
	if err != nil {
		return -1
	}
	if fl.Limit > 0 {
		return min(h.Seq, int64(fl.Limit))
	}
	return h.Seq
}

// AuditVerifyOptions are the inputs of `gatehouse audit verify`.
type AuditVerifyOptions struct {
	F    *Factory
	Head *gatehouse.ChainHead
	// Checkpoint is a checkpoint held outside the store the log must
	// extend; CheckpointSigned says its signature was checked (--key).
	Checkpoint       *gatehouse.TreeCheck
	CheckpointSigned bool
	// Witness, when set, must have cosigned the latest checkpoint.
	Witness note.Verifier
}

func newCmdAuditVerify(f *Factory, runF func(*AuditVerifyOptions) error) *cobra.Command {
	opts := &AuditVerifyOptions{F: f}
	var head, checkpoint, keyFile, witnessKey, witnessOld string
	cmd := &cobra.Command{
		Use:   "verify [--head SEQ:HASH] [--checkpoint NOTE [--key PUBFILE]] [--witness-key KEY]",
		Short: "Check every link of the audit chain, and the store against it",
		Long: withExitStatus(`Walk the audit trail from the first event to the last, recompute every hash
and check every link. Prints "N/N events valid", or the first event that is
wrong and what is wrong with it, and exits 1.

Every change records the security state it leaves — accounts, their enabled
and admin flags, grants, SSO settings and exemptions, the support credential,
recipients, the licence — so verify then replays the trail and compares it
with the store, in the same snapshot. A row that is not what its events say
(edited, inserted or deleted behind gatehouse's back) is reported, one line
each, naming the row and the last event that recorded it, and verify exits 1.

Verify also recomputes the Merkle tree from the events: every tree hash the
store keeps, and the root of every signed checkpoint it keeps ('audit
checkpoint'). A history rewritten since a checkpoint is exit 1, naming it.

A hash chain cannot show that events were cut off the end, nor a store
rewritten whole. Keep the output of 'gatehouse audit head' somewhere the
store's writers cannot reach, and pass it as --head: verify then also fails
if that event is gone or changed. Better, keep a signed checkpoint outside —
the vendor's envelope carries one, a witness holds one — and pass it as
--checkpoint (with the log's public key as --key to check its signature):
verify fails unless the log's first N events still hash to its root.
--witness-key KEY requires the latest stored checkpoint to carry a valid
cosignature by that witness (-o json gives the witness's name, the size it
cosigned and when). It reads the store only: a store rolled back to an
older copy of itself still shows the witness's cosignature of that older
checkpoint. The witness itself tells: 'audit checkpoint --witness URL'
asks it on every run, and fails (exit 1) when it has cosigned more events
than the store holds.`),
		Example: `  gatehouse audit verify
  gatehouse audit verify --head "$(cat /var/backups/gatehouse.head)"
  gatehouse audit verify --checkpoint vendor.checkpoint --key /etc/gatehouse/log.pub
  gatehouse audit verify --witness-key /etc/gatehouse/witness.pub`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if head != "" {
				h, err := audit.ParseHead(head)
				if err != nil {
					return err
				}
				opts.Head = &h
			}
			if keyFile != "" && checkpoint == "" {
				return usageError("--key checks the signature of --checkpoint: give both")
			}
			if checkpoint != "" {
				b, err := readInput(f, "--checkpoint", checkpoint, 64<<10)
				if err != nil {
					return err
				}
				var cp audit.Checkpoint
				if keyFile != "" {
					key, err := readLogPublicKey(f, "--key", keyFile)
					if err != nil {
						return err
					}
					if cp, _, err = audit.OpenCheckpoint(b, key.Verifier); err != nil {
						return gatehouse.Errorf(gatehouse.ECHECKFAILED, "--checkpoint: %v", err)
					}
					opts.CheckpointSigned = true
				} else if cp, err = audit.ReadCheckpoint(b); err != nil {
					return gatehouse.Errorf(gatehouse.EINVALID, "--checkpoint: %v", err)
				}
				opts.Checkpoint = &gatehouse.TreeCheck{
					TreeHead: gatehouse.TreeHead{Size: cp.Size, Root: audit.RootText(cp)},
					What:     fmt.Sprintf("the checkpoint given (%d events)", cp.Size),
				}
			}
			if witnessOld != "" {
				return usageError("give the witness's public key as --witness-key (--witness is the witness's URL, on 'audit checkpoint')")
			}
			if witnessKey != "" {
				k, err := readWitnessKey(f, "--witness-key", witnessKey)
				if err != nil {
					return err
				}
				opts.Witness = k
			}
			if runF != nil {
				return runF(opts)
			}
			return auditVerifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&head, "head", "", "a head recorded earlier by 'audit head' (SEQ:HASH); catches a truncated tail")
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "a signed checkpoint `NOTE` file held outside the store: the log must extend it")
	cmd.Flags().StringVar(&keyFile, "key", "", "the log's public key `PUBFILE`: check --checkpoint's signature")
	cmd.Flags().StringVar(&witnessKey, "witness-key", "", "require the latest checkpoint to be cosigned by the witness with this public `KEY` (or file)")
	// The spelling issue 13 shipped, which named the key --witness: hidden,
	// and pointing to --witness-key, so that --witness names a URL only.
	cmd.Flags().StringVar(&witnessOld, "witness", "", "")
	_ = cmd.Flags().MarkHidden("witness")
	return cmd
}

func auditVerifyRun(ctx context.Context, opts *AuditVerifyOptions) error {
	f := opts.F
	p, db, err := f.printerAnd(ctx, f.AuditStore)
	if err != nil {
		return err
	}
	var progress func(done, total int64)
	shown := false
	if f.IO.IsStderrTTY() {
		progress = func(done, total int64) {
			shown = true
			fmt.Fprintf(f.IO.ErrOut, "\rgatehouse: verified %d/%d events", done, total)
		}
	}
	var checks []gatehouse.TreeCheck
	if opts.Checkpoint != nil {
		checks = append(checks, *opts.Checkpoint)
	}
	res, err := db.VerifyAudit(ctx, opts.Head, progress, checks...)
	if shown {
		clearProgress(f)
	}
	if err != nil {
		return err
	}
	differ := res.State != nil && !res.State.OK()
	// The witness's cosignature is checked once the chain holds; it goes
	// into -o json, and its failure is the command's.
	var wc *core.WitnessCheck
	var werr error
	if opts.Witness != nil && res.ChainResult.OK() {
		w, err := db.CheckWitness(ctx, opts.Witness)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ECHECKFAILED {
			return err
		}
		if werr = err; err == nil {
			wc = &w
		}
	}
	switch {
	case p.Format() != render.Table:
		if err := p.Object(auditVerifyOutput{AuditVerification: res, Witness: wc}); err != nil {
			return err
		}
	case !res.ChainResult.OK() && res.Fault.First > 0:
		// Which event of the range changed is not known: none is counted
		// as valid.
		fmt.Fprintf(f.IO.Out, "%s %s: %s\n", f.IO.Color("31", "broken"), res.Fault.Where(), res.Fault.Problem)
	case !res.ChainResult.OK():
		fmt.Fprintf(f.IO.Out, "%s at event %d: %s\n%d/%d events valid before it\n",
			f.IO.Color("31", "broken"), res.Fault.Seq, res.Fault.Problem, res.Valid, res.Total)
	case differ:
		// One line per row, each naming the row and the last event that
		// recorded it; the rows' contents are outside data, escaped.
		fmt.Fprintf(f.IO.Out, "%s: %d/%d events valid, but %d of %d rows are not what the events say\n",
			f.IO.Color("31", "state differs"), res.Valid, res.Total, len(res.State.Differences), res.State.Compared)
		for _, d := range res.State.Differences {
			fmt.Fprintln(f.IO.Out, gatehouse.EscapeUnsafe(d.Problem))
		}
	case !f.IO.IsQuiet():
		// With -q a chain that verifies says nothing, so cron mails nothing.
		fmt.Fprintf(f.IO.Out, "%s: %d/%d events valid\n", f.IO.Color("32", "ok"), res.Valid, res.Total)
		if opts.Checkpoint != nil && !opts.CheckpointSigned {
			fmt.Fprintf(f.IO.Out, "the log extends the checkpoint given (%d events); its signature was not checked: give --key\n", opts.Checkpoint.Size)
		} else if opts.Checkpoint != nil {
			fmt.Fprintf(f.IO.Out, "the log extends the signed checkpoint given (%d events)\n", opts.Checkpoint.Size)
		}
	}
	if wc != nil && p.Format() == render.Table && !f.IO.IsQuiet() {
		fmt.Fprintf(f.IO.Out, "witness %s cosigned the checkpoint of %d events at %s\n", gatehouse.EscapeUnsafe(wc.Name), wc.Size, wc.Time)
	}
	switch {
	case !res.ChainResult.OK():
		return gatehouse.Errorf(gatehouse.ECHECKFAILED, "audit trail verification failed %s", res.Fault.Where())
	case differ:
		return gatehouse.Errorf(gatehouse.ECHECKFAILED, "%d rows of the store differ from what the audit trail records", len(res.State.Differences))
	case werr != nil:
		return werr
	case res.StateNotChecked != "":
		f.IO.Info("%s", res.StateNotChecked)
	}
	return nil
}

// auditVerifyOutput is 'audit verify -o json': the verification, and the
// witness's cosignature when --witness-key asked for one.
type auditVerifyOutput struct {
	gatehouse.AuditVerification
	Witness *core.WitnessCheck `json:"witness,omitempty"`
}

// AuditHeadOptions are the inputs of `gatehouse audit head`.
type AuditHeadOptions struct {
	F *Factory
}

func newCmdAuditHead(f *Factory, runF func(*AuditHeadOptions) error) *cobra.Command {
	opts := &AuditHeadOptions{F: f}
	return &cobra.Command{
		Use:   "head",
		Short: "Print the last event's sequence number and hash (SEQ:HASH)",
		Long: withExitStatus(`Print the last event's sequence number and hash as SEQ:HASH. Keep it
somewhere the store's writers cannot reach; 'audit verify --head' then
detects events removed from the end of the trail.`),
		Example: `  gatehouse audit head > /var/backups/gatehouse.head`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			p, db, err := f.printerAnd(cmd.Context(), f.AuditStore)
			if err != nil {
				return err
			}
			h, err := db.Head(cmd.Context())
			if err != nil {
				return err
			}
			if p.Format() == render.Table {
				_, err := fmt.Fprintf(f.IO.Out, "%d:%s\n", h.Seq, h.Hash)
				return err
			}
			return p.Object(h)
		},
	}
}
