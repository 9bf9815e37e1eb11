package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/internal/witness"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// The transparency-log commands: the Merkle tree over the trail, signed
// checkpoints and offline proofs (internal/audit/tree.go, checkpoint.go).

func newCmdAuditKeygen(f *Factory) *cobra.Command {
	var origin, out string
	cmd := &cobra.Command{
		Use:         "keygen --out FILE [--origin NAME]",
		Annotations: map[string]string{annotationOutput: outputRaw},
		Short:       "Make the key pair that signs the audit log's checkpoints",
		Long: withExitStatus(`Make an Ed25519 key pair for signing checkpoints of the audit log (C2SP signed
notes). The private key goes to FILE (mode 0600, never overwritten), the public
key to FILE.pub, and the public key is printed as one line of text (-o does
not apply).

Keep the private key off the store's host if you can, or at least where the
store's writers cannot read it: whoever holds it can sign a checkpoint of a
rewritten history. Give the public key to auditors, witnesses and the vendor:
they check checkpoints and proofs with it.

The origin names the log in every checkpoint; it is the key's name. Choose
one per store (or PostgreSQL tenant) that no other log uses, such as the
server's host name and the tenant: example.com/gatehouse/acme.`),
		Example: `  gatehouse audit keygen --origin example.com/gatehouse --out /root/gatehouse-log.key`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("--out is required: the private key is written to a file, never printed")
			}
			if origin == "" {
				host, err := os.Hostname()
				if err != nil || !audit.ValidOrigin(host+"/gatehouse") {
					return usageError("give --origin: this host's name cannot serve as one")
				}
				origin = host + "/gatehouse"
			}
			skey, vkey, err := audit.GenerateLogKey(origin)
			if err != nil {
				return gatehouse.Errorf(gatehouse.EINVALID, "invalid --origin: %v", err)
			}
			if err := writeNew(out, []byte(skey+"\n"), 0o600); err != nil {
				return err
			}
			if err := writeNew(out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
				os.Remove(out)
				return err
			}
			_, err = fmt.Fprintln(f.IO.Out, vkey)
			return err
		},
	}
	cmd.Flags().StringVar(&origin, "origin", "", "the log's name in its checkpoints (default HOSTNAME/gatehouse)")
	cmd.Flags().StringVar(&out, "out", "", "write the private key to `FILE` and the public key to FILE.pub")
	return cmd
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return gatehouse.Errorf(gatehouse.EINVALID, "%s exists: not overwriting it", gatehouse.EscapeUnsafe(path))
		}
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write %s: %v", gatehouse.EscapeUnsafe(path), gatehouse.PathCause(err))
	}
	_, err = file.Write(b)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write %s: %v", gatehouse.EscapeUnsafe(path), gatehouse.PathCause(err))
	}
	return nil
}

// readLogKey reads the log's signing key from path, which only its owner
// may read. Nothing read is ever quoted.
func readLogKey(f *Factory, path string) (*audit.LogKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "cannot read --key: %v", gatehouse.PathCause(err))
	}
	if !st.Mode().IsRegular() {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "--key is not a regular file")
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "the key file %s can be read by others (mode %04o): chmod 600 it", gatehouse.EscapeUnsafe(path), st.Mode().Perm())
	}
	b, err := readInput(f, "--key", path, 4<<10)
	if err != nil {
		return nil, err
	}
	k, err := audit.ParseLogKey(string(b))
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "--key: %v", err)
	}
	return k, nil
}

// readLogPublicKey reads a log's public key from a file.
func readLogPublicKey(f *Factory, flag, path string) (*audit.LogKey, error) {
	b, err := readInput(f, flag, path, 4<<10)
	if err != nil {
		return nil, err
	}
	v, err := audit.ParseVerifierKey(string(b))
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s: %v", flag, err)
	}
	return &audit.LogKey{Verifier: v, VKey: strings.TrimSpace(string(b))}, nil
}

// readWitnessKey reads a witness's public key (cosignature/v1, as
// litewitness prints it), given as the key itself or a file holding it.
func readWitnessKey(f *Factory, flag, s string) (note.Verifier, error) {
	if k, err := witness.ParseKey(s); err == nil {
		return k, nil
	}
	b, err := readInput(f, flag, s, 4<<10)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s: neither a witness key nor a file holding one", flag)
	}
	k, err := witness.ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s: %v", flag, err)
	}
	return k, nil
}

func newCmdAuditCheckpoint(f *Factory) *cobra.Command {
	var keyFile, witnessURL, witnessKey, out, stateFile string
	cmd := &cobra.Command{
		Use:   "checkpoint --key FILE",
		Short: "Sign the audit log's current tree head (for cron)",
		Long: withExitStatus(`Verify the whole audit trail — every link, every Merkle tree hash, and every
earlier checkpoint's root against the events — then sign the tree head the
events give with the log's key (made by 'audit keygen') and keep the signed
checkpoint in the store. The key is read from FILE, which only its owner may
read, and is never stored.

The log never signs a trail that does not verify, nor a tree inconsistent
with a checkpoint it signed before: either is exit 1 and nothing is signed.
When no event was added since the latest checkpoint, that one is printed and
nothing is signed. A key other than the one that signed the latest
checkpoint is refused (exit 2); a stored checkpoint that is malformed, or
names this key but does not verify with it, was tampered with (exit 1).

The store is not the only memory of what the key signed: after each run the
latest checkpoint is recorded beside the key, in FILE.last (mode 0600,
replaced whole; --state names another file). The next run signs nothing
(exit 1) unless the store still holds that checkpoint and its events still
hash to its root, so a store rolled back, or rewritten with its checkpoints
deleted, is refused rather than signed. Keep the record with the key and
back it up with it. When there is no record yet (the first run, or a key
that signed before records were kept), it is made from the store's latest
checkpoint once the trail verifies. If you restore the store from a backup
on purpose, move the record aside: the key then signs the restored log, and
any witness still refuses it.

With --witness URL and --witness-key KEY, the latest checkpoint is then sent
to a C2SP tlog-witness on another host (such as litewitness) with a
consistency proof from the last checkpoint that witness cosigned, and the
witness's cosignature is kept with it. It is sent on every run, even when
the witness cosigned it already, so that a witness that has cosigned more
events than the store holds says so: the store was rolled back or
truncated, exit 1. A witness that refuses because the log no longer extends
what it saw — the history was rewritten — is exit 1 too; a witness that
cannot be reached is exit 3, and the checkpoint stays signed: the next run
sends it again.`),
		Example: `  # hourly, from root's crontab
  0 * * * * gatehouse audit checkpoint --key /root/gatehouse-log.key -q
  gatehouse audit checkpoint --key /root/gatehouse-log.key \
    --witness https://witness.example.net --witness-key /etc/gatehouse/witness.pub`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return usageError("--key is required: the file 'gatehouse audit keygen' wrote")
			}
			key, err := readLogKey(f, keyFile)
			if err != nil {
				return err
			}
			var witnesses []*witness.Client
			if (witnessURL == "") != (witnessKey == "") {
				return usageError("--witness and --witness-key go together: the witness's URL and its public key")
			}
			if witnessURL != "" {
				k, err := readWitnessKey(f, "--witness-key", witnessKey)
				if err != nil {
					return err
				}
				w, err := witness.NewClient(witnessURL, k)
				if err != nil {
					return usageError("invalid --witness: %v", err)
				}
				witnesses = append(witnesses, w)
			}
			if stateFile == "" {
				stateFile = keyFile + ".last"
			}
			last, err := readSignerState(f, stateFile, key)
			if err != nil {
				return err
			}
			toStdout := out == "-"
			p, err := f.Printer()
			if err != nil {
				return err
			}
			if toStdout && p.Format() != render.Table {
				return usageError("--out - writes the signed checkpoint to stdout, where -o %s prints the record: use --out FILE with -o %s", p.Format(), p.Format())
			}
			c, err := f.Store(cmd.Context())
			if err != nil {
				return err
			}
			opts := core.CheckpointOptions{Last: last, LastFrom: "recorded in " + gatehouse.EscapeUnsafe(stateFile), Witnesses: witnesses,
				Remember: func(note string) error { return writeSignerState(stateFile, key, note) }}
			res, err := c.Checkpoint(cmd.Context(), key, opts)
			if res.Note != "" && out != "" && !toStdout {
				// The signed note, even when a witness then failed: it is
				// stored, and a copy elsewhere is what it is for.
				if werr := writeReplacing(out, []byte(res.Note)); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return err
			}
			if p.Format() == render.Table {
				f.reportedTable(res.New)
			}
			if toStdout {
				// The note alone, as it is, so it can be piped or saved.
				_, err := io.WriteString(f.IO.Out, res.Note)
				return err
			}
			if p.Format() != render.Table {
				return f.Result(p, res.New, res)
			}
			if f.IO.IsQuiet() {
				return nil
			}
			what := "signed the checkpoint of"
			if !res.New {
				what = "no new events: the latest checkpoint already covers"
			}
			_, err = fmt.Fprintf(f.IO.Out, "%s: %s %d events, root %s\n", f.IO.Color("32", "ok"), what, res.Size, res.Root)
			for _, w := range res.Witnesses {
				if err == nil {
					_, err = fmt.Fprintf(f.IO.Out, "cosigned by witness %s\n", gatehouse.EscapeUnsafe(w))
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the log's private key `FILE` (from 'audit keygen')")
	cmd.Flags().StringVar(&out, "out", "", "also write the signed checkpoint to `FILE`, to keep it elsewhere; - writes it alone to stdout")
	cmd.Flags().StringVar(&stateFile, "state", "", "the signer's record of the checkpoint it signed last (default: the key `FILE` with .last added)")
	cmd.Flags().StringVar(&witnessURL, "witness", "", "send the checkpoint to the C2SP tlog-witness at `URL`")
	cmd.Flags().StringVar(&witnessKey, "witness-key", "", "the witness's public `KEY` (or a file holding it)")
	return cmd
}

func newCmdAuditCheckpoints(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoints",
		Short: "List the signed checkpoints of the audit log",
		Long: withExitStatus(`List the signed checkpoints kept in the store, oldest first: the number of
events each covers, when it was signed, its root hash, and the names on its
signatures (the log's, then any witnesses'). The names are listed, not
checked: 'audit verify' checks every checkpoint's root against the events,
and its --witness-key checks cosignatures. -o json includes each signed
note.`),
		Example: `  gatehouse audit checkpoints
  gatehouse audit checkpoints -o json | jq -r '.[-1].note' > latest.checkpoint`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, c, err := f.printerAnd(cmd.Context(), f.AuditStore)
			if err != nil {
				return err
			}
			cps, err := c.Checkpoints(cmd.Context())
			if err != nil {
				return err
			}
			if p.Format() == render.JSON || p.Format() == render.YAML {
				return p.Object(cps)
			}
			list := p.List([]string{"SIZE", "TIME", "ROOT", "SIGNERS"}, core.CheckpointInfo{})
			for i := range cps {
				cp := &cps[i]
				if err := list.Add(cp, strconv.FormatInt(cp.Size, 10), cp.Time, cp.Root, strings.Join(cp.Signers, " ")); err != nil {
					return err
				}
			}
			return list.Close()
		},
	}
}

func newCmdAuditProve(f *Factory) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:         "prove SEQ [--out FILE]",
		Annotations: map[string]string{annotationOutput: outputRaw},
		Short:       "Write an offline inclusion proof of one event",
		Long: withExitStatus(`Write a proof that event SEQ is in the audit log, in the C2SP tlog-proof
format: the event's index, the Merkle inclusion proof (at most one hash per
level of the tree: 20 at a million events), and the latest signed checkpoint
with any witness cosignatures. The event itself travels in the proof's extra
line. Anyone with the log's public key checks it with 'audit verify-proof',
without the store. The proof is text in its own format: -o does not apply.

The latest checkpoint must cover SEQ: run 'audit checkpoint' first. A stored
checkpoint that is not in the form gatehouse keeps was tampered with: exit 1,
and nothing is written.`),
		Example: `  gatehouse audit prove 4211 --out event-4211.tlog-proof`,
		Args:    exactArgs(1, "SEQ"),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || seq < 1 {
				return usageError("invalid SEQ %q: want an event's sequence number", gatehouse.Clip(args[0], 40))
			}
			_, c, err := f.printerAnd(cmd.Context(), f.AuditStore)
			if err != nil {
				return err
			}
			proof, err := c.Prove(cmd.Context(), seq)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = f.IO.Out.Write(proof.Format())
				return err
			}
			return writeReplacing(out, proof.Format())
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the proof to `FILE` (default: standard output)")
	return cmd
}

// readSignerState reads the checkpoint the key signed last, as
// writeSignerState recorded it; nil when there is no record yet (the first
// use of the key, or of this record).
func readSignerState(f *Factory, path string, key *audit.LogKey) (*audit.Checkpoint, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	b, err := readInput(f, "--state", path, 64<<10)
	if err != nil {
		return nil, err
	}
	cp, _, err := audit.OpenCheckpoint(b, key.Verifier)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "--state %s: not a checkpoint signed with this key (%v): give the record this key's runs write", gatehouse.EscapeUnsafe(path), err)
	}
	return &cp, nil
}

// writeSignerState records note, a checkpoint signed with key, as the one
// the key signed last: replacing the file whole (mode 0600), unless it
// already records a larger one (a run that signed later won a race).
func writeSignerState(path string, key *audit.LogKey, note string) error {
	cp, _, err := audit.OpenCheckpoint([]byte(note), key.Verifier)
	if err != nil {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "the checkpoint to record is not signed with this key: %v", err)
	}
	if b, err := os.ReadFile(path); err == nil {
		if prev, _, err := audit.OpenCheckpoint(b, key.Verifier); err == nil && prev.Size >= cp.Size {
			return nil
		}
	}
	if err := writeReplacingMode(path, []byte(note), 0o600); err != nil {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the checkpoint of %d events is signed and stored, but cannot be recorded in --state: %v", cp.Size, err)
	}
	return nil
}

// writeReplacing writes a file that is not secret, replacing it whole
// (a temporary file renamed over it).
func writeReplacing(path string, b []byte) error { return writeReplacingMode(path, b, 0o644) }

// writeReplacingMode writes a file, replacing it whole: a temporary file
// of that mode, synced, renamed over it.
func writeReplacingMode(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := writeNew(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write %s: %v", gatehouse.EscapeUnsafe(path), gatehouse.PathCause(err))
	}
	return nil
}

// ProofResult is what 'audit verify-proof' found.
type ProofResult struct {
	Valid  bool             `json:"valid"`
	Origin string           `json:"origin"`
	Size   int64            `json:"size"`
	Root   string           `json:"root"`
	Event  *gatehouse.Event `json:"event"`
	// Signers are the verified signatures' names: the log's, and those of
	// the witnesses whose keys were given.
	Signers []string `json:"signers"`
	// Witnesses are the cosignatures --witness-key required, with the time
	// each witness put in it.
	Witnesses []core.WitnessCheck `json:"witnesses,omitempty"`
}

func newCmdAuditVerifyProof(f *Factory) *cobra.Command {
	var keyFile, eventFile string
	var witnessKeys []string
	cmd := &cobra.Command{
		Use:   "verify-proof --key PUBFILE FILE [--event EVENT.json] [--witness-key KEY]...",
		Short: "Check an inclusion proof offline, without the store",
		Long: withExitStatus(`Check a proof written by 'audit prove': that its checkpoint is signed by the
log's key (PUBFILE, from 'audit keygen'), and that the event it carries is in
the log that checkpoint describes. Prints the event.

With --event, also check that EVENT.json — one event as 'audit list -o json'
or -o jsonl prints it — is the event the proof is for: the same fields, and
the same details up to white space and string escapes (a key given twice is
refused).

With --witness-key KEY (repeatable), also require the proof's checkpoint to
carry a valid cosignature by each of those witnesses: a checkpoint that a
witness on another host cosigned is one the log showed to the world, not a
split view signed for this proof alone.

No store is opened. A proof that does not hold is exit 1, naming why.`),
		Example: `  gatehouse audit verify-proof --key gatehouse-log.key.pub event-4211.tlog-proof
  gatehouse audit verify-proof --key gatehouse-log.key.pub event-4211.tlog-proof --event event.json`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return usageError("--key is required: the log's public key file")
			}
			key, err := readLogPublicKey(f, "--key", keyFile)
			if err != nil {
				return err
			}
			b, err := readInput(f, "the proof file", args[0], audit.MaxProofSize)
			if err != nil {
				return err
			}
			var wkeys []note.Verifier
			for _, s := range witnessKeys {
				k, err := readWitnessKey(f, "--witness-key", s)
				if err != nil {
					return err
				}
				wkeys = append(wkeys, k)
			}
			var want *gatehouse.Event
			if eventFile != "" {
				if want, err = readEventFile(f, eventFile); err != nil {
					return err
				}
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			proof, err := audit.ParseProof(b)
			if err != nil {
				return gatehouse.Errorf(gatehouse.EINVALID, "%s: %v", gatehouse.EscapeUnsafe(args[0]), err)
			}
			if len(proof.Extra) == 0 {
				return gatehouse.Errorf(gatehouse.EINVALID, "the proof carries no event: it was not written by 'gatehouse audit prove'")
			}
			ev, err := audit.DecodeCanonical(proof.Extra)
			if err != nil || ev.Seq != proof.Index+1 {
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the proof's event is not event %d of a gatehouse audit trail", proof.Index+1)
			}
			cp, n, err := proof.Verify(key.Verifier, proof.Extra, wkeys...)
			if err != nil {
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the proof does not hold: %v", err)
			}
			var cosigned []core.WitnessCheck
			for _, k := range wkeys {
				t, err := witness.VerifyCosignature(proof.Checkpoint, k)
				if err != nil {
					return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the proof's checkpoint is not cosigned by witness %s", gatehouse.EscapeUnsafe(k.Name()))
				}
				cosigned = append(cosigned, core.WitnessCheck{Name: k.Name(), Size: cp.Size, Time: t.UTC().Format(time.RFC3339)})
			}
			if want != nil {
				if field := sameEvent(want, ev); field != "" {
					return gatehouse.Errorf(gatehouse.ECHECKFAILED, "%s is not the event the proof is for: its %s differs", gatehouse.EscapeUnsafe(eventFile), field)
				}
			}
			res := ProofResult{Valid: true, Origin: cp.Origin, Size: cp.Size, Event: ev, Witnesses: cosigned}
			res.Root = audit.RootText(cp)
			for _, s := range n.Sigs {
				res.Signers = append(res.Signers, s.Name)
			}
			if p.Format() != render.Table {
				return p.Object(res)
			}
			if f.IO.IsQuiet() {
				return nil
			}
			_, err = fmt.Fprintf(f.IO.Out, "%s: event %d is in the log %s of %d events (root %s)\n  %s  %s %s %s by %s  %s\n",
				f.IO.Color("32", "ok"), ev.Seq, gatehouse.EscapeUnsafe(cp.Origin), cp.Size, res.Root,
				ev.Time.UTC().Format(time.RFC3339), gatehouse.EscapeUnsafe(ev.Action), gatehouse.EscapeUnsafe(ev.Target),
				gatehouse.EscapeUnsafe(string(ev.Outcome)), gatehouse.EscapeUnsafe(ev.Actor), gatehouse.EscapeUnsafe(string(ev.Details)))
			for _, w := range cosigned {
				if err == nil {
					_, err = fmt.Fprintf(f.IO.Out, "cosigned by witness %s at %s\n", gatehouse.EscapeUnsafe(w.Name), w.Time)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the log's public key `PUBFILE` (from 'audit keygen')")
	cmd.Flags().StringVar(&eventFile, "event", "", "also check that `EVENT.json` is the proven event")
	cmd.Flags().StringArrayVar(&witnessKeys, "witness-key", nil, "require a cosignature by the witness with this public `KEY` (or file); repeatable")
	return cmd
}

// readEventFile reads one event as 'audit list -o json' or -o jsonl
// prints it (an object, or an array of one).
func readEventFile(f *Factory, path string) (*gatehouse.Event, error) {
	b, err := readInput(f, "--event", path, 1<<20)
	if err != nil {
		return nil, err
	}
	// Duplicate keys would let the file say one thing to a reader and
	// another to the decoder (the last one wins).
	if _, err := jsonTokens(b); err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "--event: %v", err)
	}
	var ev gatehouse.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		var evs []gatehouse.Event
		if json.Unmarshal(b, &evs) != nil || len(evs) != 1 {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "--event: not one audit event in JSON (as 'gatehouse audit list -o json' prints it)")
		}
		ev = evs[0]
	}
	return &ev, nil
}

// sameEvent names the first field in which a differs from b, "" when they
// are the same event. Details are compared as JSON text up to white space
// and string escapes, which a renderer may add: the same tokens in the
// same order, numbers as written, no key twice.
func sameEvent(a, b *gatehouse.Event) string {
	switch {
	case a.Seq != b.Seq:
		return "sequence number"
	case !a.Time.Equal(b.Time):
		return "time"
	case a.Actor != b.Actor:
		return "actor"
	case a.OSUser != b.OSUser:
		return "os_user"
	case a.Action != b.Action:
		return "action"
	case a.Target != b.Target:
		return "target"
	case a.Outcome != b.Outcome:
		return "outcome"
	case a.PrevHash != b.PrevHash:
		return "previous hash"
	case a.Hash != b.Hash:
		return "hash"
	}
	ta, erra := jsonTokens(a.Details)
	tb, errb := jsonTokens(b.Details)
	if erra != nil || errb != nil || !slices.Equal(ta, tb) {
		return "details"
	}
	return ""
}

// jsonTokens is one JSON value as its tokens, in order: delimiters,
// object keys and strings decoded, numbers as written. An object that
// holds a key twice is an error.
func jsonTokens(b []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		keys    map[string]bool // nil in an array
		wantKey bool
	}
	var stack []*frame
	var out []any
	for {
		t, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errors.New("not JSON")
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].keys != nil {
				stack[len(stack)-1].wantKey = true // the object or array was a value
			}
		default:
			if len(stack) == 0 || stack[len(stack)-1].keys == nil {
				break
			}
			top := stack[len(stack)-1]
			if !top.wantKey {
				top.wantKey = true // a scalar value
				break
			}
			k, _ := t.(string)
			if top.keys[k] {
				return nil, fmt.Errorf("the key %q appears twice in one object", gatehouse.Clip(k, 40))
			}
			top.keys[k], top.wantKey = true, false
		}
		// json.Number is a string type: keep numbers apart from strings.
		if n, ok := t.(json.Number); ok {
			t = jsonNumber(n)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("not JSON")
	}
	return out, nil
}

// jsonNumber is a number token as written, told apart from a string.
type jsonNumber string
