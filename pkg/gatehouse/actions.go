package gatehouse

import "slices"

// ActionInfo describes one action the audit trail records.
type ActionInfo struct {
	Name string
	Does string
}

// Actions are every action an event may name, sorted. The core refuses to
// append an event whose action is not here (an internal error), so the
// list — which 'audit list --action' completes from and docs/security.md
// names — cannot fall behind the code. A refused change is recorded under
// the action that was attempted, with outcome "denied".
var Actions = []ActionInfo{
	{"group.add", "a group record was added"},
	{"license.set", "the admin seat limit was set"},
	{"lockout.configure", "the login lockout settings changed"},
	{"login.denied", "a local password logon was refused"},
	{"login.success", "a local password logon succeeded"},
	{"notify.add", "a notification rule was added"},
	{"notify.remove", "a notification rule was removed"},
	{"org.add", "an organisation record was added"},
	{"role.add", "a role record was added"},
	{"scope.add", "a scope record was added"},
	{"server.configure", "the server's external address changed"},
	{"signin.denied", "an SSO sign-in was refused at the gate"},
	{"signin.success", "an SSO sign-in was let through"},
	{"sso.allow", "SSO sign-in was turned on or off"},
	{"sso.auto_create", "automatic account creation was turned on or off"},
	{"sso.exempt.add", "a user was exempted from required SSO"},
	{"sso.exempt.remove", "a user's exemption from required SSO ended"},
	{"sso.idp", "the identity provider's settings or keys changed"},
	{"sso.require", "required SSO was turned on or off"},
	{"sso.test", "a test sign-in against the identity provider"},
	{"store.backup", "a backup of the store was taken"},
	{"store.copy", "the store was copied from another store"},
	{"store.init", "the store was created"},
	{"store.migrate", "the store's schema was upgraded"},
	{"support.configure", "the support access settings changed"},
	{"support.ensure", "the support account was checked to exist (cloud)"},
	{"support.logon", "a vendor technician's logon with the support account (outcome: success or denied)"},
	{"support.recipients.add", "a vendor recipient key was added"},
	{"support.recipients.remove", "a vendor recipient key was removed"},
	{"support.reenable", "the support account was restored after a revoke (cloud)"},
	{"support.request", "vendor support access was requested"},
	{"support.revoke", "vendor support access was revoked"},
	{"support.rotate", "the support password was rotated"},
	{"support.sweep", "expired support access was ended"},
	{"user.add", "a user was added"},
	{"user.assign", "access was granted to a user"},
	{"user.auto_create", "an account was created at its first SSO sign-in"},
	{"user.disable", "a user was disabled"},
	{"user.enable", "a user was enabled"},
	{"user.password", "a user's password was set"},
	{"user.unassign", "access was taken from a user"},
	{"user.unlock", "a locked-out user was unlocked"},
}

// KnownAction reports whether name is one of Actions.
func KnownAction(name string) bool {
	_, ok := slices.BinarySearchFunc(Actions, name, func(a ActionInfo, n string) int {
		switch {
		case a.Name < n:
			return -1
		case a.Name > n:
			return 1
		}
		return 0
	})
	return ok
}
