package oidc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Claims are the claims of an ID token that the gate and the audit trail use.
// Times are UTC, and zero when the claim is absent.
type Claims struct {
	Issuer, Subject, Email string
	EmailVerified          bool // a JSON bool, or the strings "true"/"false" (Cognito); anything else is false
	Audience               []string
	AuthorizedParty        string
	IssuedAt, Expiry       time.Time
	NotBefore, AuthTime    time.Time
	ACR                    string
	AMR                    []string
	Nonce                  string
	Name                   string
	PreferredUsername      string
}

// Summary returns what the audit trail keeps about a token: iss, sub, aud,
// email_verified and nonce_present always; azp, iat, exp, auth_time (RFC 3339,
// UTC), acr, amr and email when present. It never holds the token or the
// nonce. The trail is append-only, so a summary is bounded whatever the
// token held: each text at most 256 bytes, each list its first 5 values
// (aud_count and amr_count then say how many there were). A nil Claims has
// a nil summary.
func (c *Claims) Summary() map[string]any {
	if c == nil {
		return nil
	}
	m := map[string]any{
		"iss":            clipText(c.Issuer),
		"sub":            clipText(c.Subject),
		"email_verified": c.EmailVerified,
		"nonce_present":  c.Nonce != "",
	}
	list := func(k string, v []string) {
		out := []string{}
		for i, s := range v {
			if i == summaryList {
				m[k+"_count"] = len(v)
				break
			}
			out = append(out, clipText(s))
		}
		m[k] = out
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = clipText(v)
		}
	}
	putTime := func(k string, t time.Time) {
		if !t.IsZero() {
			m[k] = t.UTC().Format(time.RFC3339)
		}
	}
	list("aud", c.Audience)
	put("azp", c.AuthorizedParty)
	putTime("iat", c.IssuedAt)
	putTime("exp", c.Expiry)
	putTime("auth_time", c.AuthTime)
	put("acr", c.ACR)
	if len(c.AMR) > 0 {
		list("amr", c.AMR)
	}
	put("email", c.Email)
	return m
}

// Bounds of a Summary.
const (
	summaryText = 256
	summaryList = 5
)

// clipText cuts s to summaryText bytes, on a character boundary.
func clipText(s string) string {
	if len(s) <= summaryText {
		return s
	}
	s = s[:summaryText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// TokenHash returns "sha256:" and the hex SHA-256 of raw, which identifies a
// token in the audit trail without keeping it.
func TokenHash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// rawClaims is an ID token's payload as JSON. Decoding fails on claims of
// the wrong JSON type, except email_verified, which is lenient.
type rawClaims struct {
	Iss               string       `json:"iss"`
	Sub               string       `json:"sub"`
	Aud               stringList   `json:"aud"`
	Azp               string       `json:"azp"`
	Exp               *numericDate `json:"exp"`
	Iat               *numericDate `json:"iat"`
	Nbf               *numericDate `json:"nbf"`
	AuthTime          *numericDate `json:"auth_time"`
	Nonce             string       `json:"nonce"`
	ACR               string       `json:"acr"`
	AMR               stringList   `json:"amr"`
	Email             string       `json:"email"`
	EmailVerified     looseBool    `json:"email_verified"`
	Name              string       `json:"name"`
	PreferredUsername string       `json:"preferred_username"`
}

// decodeClaims decodes a payload, which must be a JSON object.
func decodeClaims(payload []byte) (*rawClaims, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(payload), []byte("{")) {
		return nil, errors.New("the payload is not a JSON object")
	}
	var c rawClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return nil, errors.New("claim " + quote(typ.Field) + " has the wrong type")
		}
		var claimErr claimError
		if errors.As(err, &claimErr) {
			return nil, claimErr
		}
		return nil, errors.New("the payload is not valid JSON")
	}
	return &c, nil
}

func (r *rawClaims) claims() *Claims {
	return &Claims{
		Issuer:            r.Iss,
		Subject:           r.Sub,
		Email:             r.Email,
		EmailVerified:     bool(r.EmailVerified),
		Audience:          []string(r.Aud),
		AuthorizedParty:   r.Azp,
		IssuedAt:          r.Iat.time(),
		Expiry:            r.Exp.time(),
		NotBefore:         r.Nbf.time(),
		AuthTime:          r.AuthTime.time(),
		ACR:               r.ACR,
		AMR:               []string(r.AMR),
		Nonce:             r.Nonce,
		Name:              r.Name,
		PreferredUsername: r.PreferredUsername,
	}
}

// claimError is a decoding error whose message is safe to show.
type claimError string

func (e claimError) Error() string { return string(e) }

// maxNumericDate is 9999-12-31T23:59:59Z: later times are not dates.
const maxNumericDate = 253402300799

// numericDate is a JWT NumericDate: seconds since the epoch, as a JSON number
// (RFC 7519 section 2). Fractions are dropped, as go-oidc drops them; a
// string is refused.
type numericDate time.Time

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || len(b) == 0 || b[0] == '"' {
		return claimError("a time claim (exp, iat, nbf or auth_time) is not a number of seconds")
	}
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return claimError("a time claim (exp, iat, nbf or auth_time) is out of range")
	}
	*d = numericDate(time.Unix(int64(f), 0).UTC())
	return nil
}

func (d *numericDate) time() time.Time {
	if d == nil {
		return time.Time{}
	}
	return time.Time(*d)
}

// stringList is a JSON string or array of strings, as "aud" may be (RFC 7519
// section 4.1.3); "amr" is read the same way.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = stringList{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return claimError(`"aud" or "amr" is neither a string nor a list of strings`)
	}
	*l = list
	return nil
}

// looseBool reads email_verified: true for JSON true or the string "true",
// false for anything else. Some providers (Amazon Cognito) send the string.
type looseBool bool

func (v *looseBool) UnmarshalJSON(b []byte) error {
	s := string(b)
	*v = looseBool(s == "true" || s == `"true"`)
	return nil
}
