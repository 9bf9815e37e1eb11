package cli

import (
	"os/user"
	"testing"
)

// TestOSUserName: the OS user recorded in every event comes from the
// system's user database, never from $USER, which the caller sets.
func TestOSUserName(t *testing.T) {
	t.Setenv("USER", "root")
	t.Run("OK", func(t *testing.T) {
		lookup := func(uid string) (*user.User, error) { return &user.User{Uid: uid, Username: "alice"}, nil }
		if got := osUserName(1001, lookup); got != "alice" {
			t.Errorf("osUserName = %q, want alice", got)
		}
	})
	t.Run("NoPasswdEntry", func(t *testing.T) {
		lookup := func(uid string) (*user.User, error) { return nil, user.UnknownUserIdError(4242) }
		if got := osUserName(4242, lookup); got != "uid:4242" {
			t.Errorf("osUserName = %q, want uid:4242 (not $USER)", got)
		}
	})
	t.Run("EmptyName", func(t *testing.T) {
		lookup := func(uid string) (*user.User, error) { return &user.User{Uid: uid}, nil }
		if got := osUserName(7, lookup); got != "uid:7" {
			t.Errorf("osUserName = %q, want uid:7", got)
		}
	})
}
