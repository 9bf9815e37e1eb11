package cli

import (
	"os"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

func newCmdSupportRecipients(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "recipients",
		Short: "The vendor's age recipients every envelope is encrypted to",
		Long:  withExitStatus(`The vendor's public keys: age X25519 recipients (age1…) and ssh-ed25519 or ssh-rsa keys. Every envelope is encrypted to all of them. Every change is audited with the key's fingerprint.`),
	})
	cmd.AddCommand(newCmdRecipientsAdd(f), newCmdRecipientsList(f), newCmdRecipientsRemove(f))
	return cmd
}

func newCmdRecipientsAdd(f *Factory) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "add [RECIPIENT...] [-R FILE]",
		Short: "Add recipients: age1… keys, ssh-ed25519/ssh-rsa public keys, or a recipients file",
		Long: withExitStatus(`Add the vendor's recipients. Each RECIPIENT is an age X25519 recipient
(age1…) or an OpenSSH ssh-ed25519 or ssh-rsa public key line (quote it).
-R reads a recipients file and decides each line as 'age -R' does: blank
lines and lines starting with # are ignored; a well-formed SSH key of a type
age cannot encrypt to (ecdsa, sk-ssh-ed25519, a GitHub .keys list may hold
them) is skipped with a warning naming its line; any line age refuses is
refused, naming its line. - reads stdin. All are checked before any is
added; one bad key adds none. Keys already present are left as they are.`),
		Example: `  gatehouse support recipients add age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  gatehouse support recipients add "$(cat vendor_ed25519.pub)"
  gatehouse support recipients add -R vendor-recipients.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(files) == 0 {
				return usageError("give at least one RECIPIENT or -R FILE")
			}
			var rs []gatehouse.Recipient
			for _, a := range args {
				r, err := support.ParseRecipient(a)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			for i, name := range files {
				if name == "-" && i > 0 {
					return usageError("-R - (stdin) may be given only once")
				}
				in, closeFn, err := openInput(f, "-R", name)
				if err != nil {
					return err
				}
				more, skipped, err := support.ParseRecipientsFile(in, name)
				closeFn()
				if err != nil {
					return err
				}
				for _, sk := range skipped {
					// The type comes from the file: quoted and clipped, and
					// Message escapes what must not reach a terminal.
					f.IO.Message("warning: recipients file %s line %d: skipped an SSH key of type %s, which age cannot encrypt to", name, sk.Line, quoteKeyType(sk.KeyType))
				}
				rs = append(rs, more...)
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			added, err := db.AddRecipients(cmd.Context(), f.Actor(), rs)
			if err != nil {
				return err
			}
			f.IO.Info("added %d recipient(s), %d already present", len(added), len(rs)-len(added))
			if p.Format() == render.Table {
				// For people, the recipients added, as 'recipients list'
				// shows them; the record is for programs.
				f.reportedTable(len(added) > 0)
				if f.IO.IsQuiet() {
					return nil
				}
				return printRecipients(p, added)
			}
			all, err := db.Recipients(cmd.Context())
			if err != nil {
				return err
			}
			return f.Result(p, len(added) > 0, RecipientsChange{Added: fingerprints(added), Removed: []string{}, Recipients: nonNilRecipients(all)})
		},
	}
	cmd.Flags().StringArrayVarP(&files, "recipients-file", "R", nil, "read recipients from FILE (age format; - for stdin)")
	return cmd
}

// openInput opens a named input file, or stdin for "-".
func openInput(f *Factory, flag, name string) (*os.File, func(), error) {
	if name == "-" {
		if file, ok := f.IO.In.(*os.File); ok {
			return file, func() {}, nil
		}
	}
	if err := gatehouse.ValidatePath(flag, name); err != nil {
		return nil, nil, err
	}
	file, err := os.Open(name)
	if err != nil {
		return nil, nil, gatehouse.Wrap(gatehouse.EINVALID, err, "cannot read %s: %v", name, gatehouse.PathCause(err))
	}
	return file, func() { file.Close() }, nil
}

// RecipientsChange is the record of 'support recipients add' and 'remove':
// the fingerprints added or removed, and every recipient after the change.
type RecipientsChange struct {
	Added      []string              `json:"added"`
	Removed    []string              `json:"removed"`
	Recipients []gatehouse.Recipient `json:"recipients"`
}

func fingerprints(rs []gatehouse.Recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Fingerprint
	}
	return out
}

func nonNilRecipients(rs []gatehouse.Recipient) []gatehouse.Recipient {
	if rs == nil {
		return []gatehouse.Recipient{}
	}
	return rs
}

var recipientColumns = []string{"FINGERPRINT", "KIND", "COMMENT", "ADDED", "BY"}

func printRecipients(p *render.Printer, rs []gatehouse.Recipient) error {
	l := p.List(recipientColumns, gatehouse.Recipient{})
	defer l.Flush() // what came before an error is still printed
	for _, r := range rs {
		if err := l.Add(r, r.Fingerprint, r.Kind, r.Comment, audit.FormatTime(r.AddedAt)[:19]+"Z", r.AddedBy); err != nil {
			return err
		}
	}
	return l.Close()
}

func newCmdRecipientsList(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the vendor's recipients with their fingerprints",
		Long:    withExitStatus(`List the vendor's recipients: fingerprint (SHA256), kind, comment, when and by whom each was added.`),
		Example: "  gatehouse support recipients list -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			rs, err := db.Recipients(cmd.Context())
			if err != nil {
				return err
			}
			return printRecipients(p, rs)
		},
	}
}

func newCmdRecipientsRemove(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "remove FINGERPRINT|RECIPIENT",
		Short:   "Remove a recipient, named by fingerprint or key",
		Long:    withExitStatus(`Remove a recipient. Envelopes already delivered stay readable by it; the next request is not encrypted to it.`),
		Example: `  gatehouse support recipients remove SHA256:2hC1bT2A3o6y9m7eXq0mU5O4kTqJz2b0iYlU4nY8vUo`,
		Args:    exactArgs(1, "FINGERPRINT|RECIPIENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			ref := args[0]
			if r, err := support.ParseRecipient(ref); err == nil {
				ref = r.Fingerprint
			}
			r, err := db.RemoveRecipient(cmd.Context(), f.Actor(), ref)
			if err != nil {
				return err
			}
			f.IO.Info("removed recipient %s (%s)", r.Fingerprint, r.Kind)
			if p.Format() == render.Table {
				f.reportedTable(true)
				return nil // the message says it all
			}
			all, err := db.Recipients(cmd.Context())
			if err != nil {
				return err
			}
			return f.Result(p, true, RecipientsChange{Added: []string{}, Removed: []string{r.Fingerprint}, Recipients: nonNilRecipients(all)})
		},
	}
}

// quoteKeyType quotes an SSH key type read from a file for a message, and
// cuts one longer than any real type (they are under 40 bytes).
func quoteKeyType(t string) string {
	if r := []rune(t); len(r) > 48 {
		t = string(r[:48]) + "…"
	}
	return strconv.Quote(t)
}
