package support

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// GenerateAndSeal makes the password, keeps only its hash, seals the
// envelope and wipes the password: the plaintext exists for the length of
// this function and nowhere but in memory.
func GenerateAndSeal(env *Envelope, recipients []age.Recipient, armor bool) (string, Sealed, error) {
	pw, err := password.Generate()
	if err != nil {
		return "", Sealed{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot generate a password")
	}
	defer password.Wipe(pw)
	hash, err := password.Hash(pw, password.OWASP)
	if err != nil {
		return "", Sealed{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot hash the password")
	}
	env.Password = Secret(pw)
	defer func() { env.Password = nil }()
	sealed, err := Seal(env, recipients, armor)
	if err != nil {
		return "", Sealed{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot seal the envelope")
	}
	return hash, sealed, nil
}

// Delivery records where an envelope went, and the staged file still to be
// put in place once the credential is committed.
type Delivery struct {
	// Where lists the places: "endpoint", "file:PATH", "stdout".
	Where  []string
	staged *stagedFile
	// Path is the absolute path of the envelope file, "" if none.
	Path string
}

// DeliverOptions say where an envelope goes.
type DeliverOptions struct {
	// Out is a file to write the envelope to; "" or "-" writes it to Stdout.
	Out    string
	Stdout io.Writer
	Armor  bool
	// HTTP posts to the endpoint; nil means a plain client.
	HTTP *http.Client
	// Issued tells an earlier envelope, which Out may replace, from any
	// other file, which it may not.
	Issued Issued
}

// Deliver hands the envelope over before anything is committed: the file
// is staged (written and synced beside its destination, not yet in place),
// the endpoint (if configured) must accept it, and stdout gets it if asked.
// Any failure leaves nothing behind.
func Deliver(ctx context.Context, set gatehouse.SupportSettings, sealed Sealed, requestID string, o DeliverOptions) (Delivery, error) {
	var d Delivery
	if o.Out != "" && o.Out != "-" {
		abs, err := filepath.Abs(o.Out)
		if err != nil {
			return d, gatehouse.Errorf(gatehouse.EINVALID, "--out %s: %v", o.Out, err)
		}
		existing, err := replaceable(abs, o.Issued)
		if err != nil {
			return d, err
		}
		if d.staged, err = stageFile(abs, requestID, sealed.Data, sealed.SHA256, existing); err != nil {
			return d, err
		}
		d.Path = abs
	}
	if set.Endpoint != "" {
		client := o.HTTP
		if client == nil {
			client = &http.Client{}
		}
		if err := post(ctx, client, set.Endpoint, requestID, sealed.Data, o.Armor, time.Duration(set.EndpointTimeout)); err != nil {
			d.Abort()
			return d, err
		}
		d.Where = append(d.Where, "endpoint")
	}
	if d.staged != nil {
		d.Where = append(d.Where, "file:"+o.Out)
	} else if o.Out == "-" || set.Endpoint == "" {
		if _, err := o.Stdout.Write(sealed.Data); err != nil {
			return d, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write the envelope to stdout: %v", err)
		}
		d.Where = append(d.Where, "stdout")
	}
	return d, nil
}

// Abort removes a staged file whose credential was not committed.
func (d Delivery) Abort() {
	if d.staged != nil {
		d.staged.abort()
	}
}

// Publish puts the staged file in place, after the commit.
func (d Delivery) Publish() error {
	if d.staged == nil {
		return nil
	}
	return d.staged.publish()
}

// NewRequestID returns a random identifier for one issued credential.
func NewRequestID() string { return strings.ToLower(rand.Text()) }
