package gatehouse_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestDecideSupportLogonTime(t *testing.T) {
	issued := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	c := &gatehouse.SupportCredential{AccountExists: true, Enabled: true, HasCredential: true,
		IssuedAt: issued, ExpiresAt: issued.Add(72 * time.Hour)}
	for _, tt := range []struct {
		now        time.Time
		passwordOK bool
		want       gatehouse.LogonReason
	}{
		{issued.Add(-gatehouse.SupportLogonClockSkew - time.Second), true, gatehouse.LogonNotYetValid},
		// Refused whatever the password: the refusal tells nothing about it.
		{issued.Add(-time.Hour), false, gatehouse.LogonNotYetValid},
		{issued.Add(-gatehouse.SupportLogonClockSkew), true, gatehouse.LogonOK},
		{issued, true, gatehouse.LogonOK},
		{issued.Add(72*time.Hour - time.Second), true, gatehouse.LogonOK},
		{issued.Add(72 * time.Hour), true, gatehouse.LogonExpired},
	} {
		if got := gatehouse.DecideSupportLogon(c, tt.passwordOK, tt.now); got != tt.want {
			t.Errorf("logon at %s (password ok %v) = %s, want %s", tt.now.Format(time.RFC3339), tt.passwordOK, got, tt.want)
		}
	}
}
