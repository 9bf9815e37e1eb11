package cli

import (
	"bytes"
	"io"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// maxPasswordInput bounds what is read from stdin for a password.
const maxPasswordInput = 1024

func newCmdSupportLogin(f *Factory) *cobra.Command {
	var technician string
	cmd := &cobra.Command{
		Use:   "login --technician ID",
		Short: "Verify a technician's logon with the support password (read from stdin)",
		Long: withExitStatus(`Verify a support logon as the server does, through the same code path: the
account must be enabled, the credential unexpired, and the password (read
from stdin, one line) must match its argon2id hash. Success and refusal are
both audited with the technician's ID. A refused logon exits 1 with a
reason: account_missing, account_disabled, no_credential,
credential_expired, credential_locked (too many wrong passwords for this
credential: 'gatehouse users lockout configure'), wrong_password.`),
		Example: `  gatehouse support login --technician tech-042 < password`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := gatehouse.ValidateTechnician(technician); err != nil {
				return err
			}
			return f.logon(cmd, "support logon", func(db *core.Core, pw []byte) (any, bool, string, error) {
				res, err := db.SupportLogon(cmd.Context(), technician, pw)
				return res, res.Allowed, string(res.Reason), err
			})
		},
	}
	cmd.Flags().StringVar(&technician, "technician", "", "the vendor technician's ID (recorded in the audit trail)")
	return cmd
}

// logon reads a password from stdin, has the store decide with it, wipes
// it, and prints the decision; a refusal exits 1.
func (f *Factory) logon(cmd *cobra.Command, what string, decide func(*core.Core, []byte) (result any, allowed bool, reason string, err error)) error {
	pw, err := readPassword(f)
	if err != nil {
		return err
	}
	defer password.Wipe(pw)
	p, db, err := f.PrinterAndStore(cmd.Context())
	if err != nil {
		return err
	}
	res, allowed, reason, err := decide(db, pw)
	if err != nil {
		return err
	}
	if err := p.Object(res); err != nil {
		return err
	}
	if !allowed {
		return gatehouse.Errorf(gatehouse.ECHECKFAILED, "%s refused: %s", what, reason)
	}
	return nil
}

// readPassword reads one line from stdin, without echo on a terminal. The
// result is bytes, for the caller to wipe.
func readPassword(f *Factory) ([]byte, error) {
	if file, ok := f.IO.In.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		f.IO.ErrOut.Write([]byte("Password: "))
		pw, err := term.ReadPassword(int(file.Fd()))
		f.IO.ErrOut.Write([]byte("\n"))
		if err != nil {
			return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "cannot read the password")
		}
		return pw, nil
	}
	buf, err := io.ReadAll(io.LimitReader(f.IO.In, maxPasswordInput+1))
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "cannot read the password from stdin")
	}
	if len(buf) > maxPasswordInput {
		password.Wipe(buf)
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "the password on stdin is longer than %d bytes", maxPasswordInput)
	}
	line := buf
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		line = buf[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		password.Wipe(buf)
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "no password on stdin")
	}
	pw := append([]byte(nil), line...)
	password.Wipe(buf)
	return pw, nil
}
