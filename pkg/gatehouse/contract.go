package gatehouse

import (
	"context"
	"fmt"
	"time"
)

// This file is the store contract: what the rules (internal/core) need from
// storage, and all that a store package (internal/sqlite,
// internal/postgres) provides. A store holds SQL only: it reads and writes
// rows and maps driver errors to codes; it decides nothing. Every rule —
// who may act, what a sign-in decides, when a seat is free — lives in the
// core, over these interfaces, and so is the same on every store.
//
// Times passed to and returned by a store are UTC; a store keeps them at
// the precision of audit.TimeLayout. A lookup that finds nothing returns
// found false (or a zero value) and a nil error: the core says what is
// missing, in words for the user.

// Store is an open gatehouse store: one tenant's rows in one database.
type Store interface {
	// Change runs fn in one write transaction and, when fn returns an
	// event, appends it to the audit trail in that transaction and
	// commits:
	//
	//   - fn returns an event and nil: the change and its event commit
	//     together, and Change returns the sealed event;
	//   - fn returns nil and nil: nothing changed; the transaction is rolled
	//     back and Change returns nil, nil;
	//   - fn returns an error: the transaction is rolled back and the error
	//     is returned (a driver error mapped to a code).
	//
	// A store may run fn more than once (a serialisation failure is retried
	// inside the store, never shown to a caller), so fn must not have
	// effects outside tx other than setting variables it resets on entry.
	Change(ctx context.Context, fn func(tx Tx) (*NewEvent, error)) (*Event, error)
	// View runs fn on one consistent read snapshot.
	View(ctx context.Context, fn func(v View) error) error
	// Lock takes the store-wide support lock, which serialises support
	// requests and rotations (held through delivery, which can take
	// seconds; the write transaction is taken only for the commit). It
	// waits at most wait; wait 0 tries once and returns ErrLockBusy if
	// another process holds it.
	Lock(ctx context.Context, wait time.Duration) (unlock func(), err error)
	AuditLog
	// PutCheckpoint stores a signed checkpoint of the trail, or a longer
	// note (more signatures: a witness's cosignature) for one stored; a
	// stored note never loses a signature. It appends no event: the
	// checkpoint is itself signed, and kept beside the trail it covers.
	PutCheckpoint(ctx context.Context, c CheckpointRow) error
	// Info describes the store (location, schema, mode, tenant).
	Info(ctx context.Context) (StoreInfo, error)
	// Location names the store for messages: a path, or a URL without its
	// password.
	Location() string
	Close() error
}

// ErrLockBusy is Store.Lock's answer, with wait 0, when another process
// holds the support lock.
var ErrLockBusy = Errorf(EUNAVAILABLE, "another support request or rotation holds the support lock")

// AuditLog reads the audit trail. Events are appended only by Change.
type AuditLog interface {
	// ListEvents calls fn for each event that f selects, in sequence order,
	// streaming from one snapshot; with f.Limit, the last Limit matching
	// events. fn must not keep ev: it is reused. A stored row gatehouse
	// cannot have written ends the listing with EUNAVAILABLE.
	ListEvents(ctx context.Context, f EventFilter, fn func(ev *Event) error) error
	// Head returns the last event's sequence number and hash; an empty
	// trail is ECHECKFAILED.
	Head(ctx context.Context) (ChainHead, error)
	// VerifyChain walks the whole trail from one snapshot and checks every
	// link (internal/audit.Verifier), as o says.
	VerifyChain(ctx context.Context, o VerifyOptions) (ChainResult, error)
}

// VerifyOptions say how AuditLog.VerifyChain walks the trail.
type VerifyOptions struct {
	// Head, when non-nil, is a head recorded earlier: it must be on the
	// chain.
	Head *ChainHead
	// Progress, when non-nil, is called now and then with the count so far.
	Progress func(done, total int64)
	// Each, when set, is called with every sound event in sequence order;
	// it must not keep ev. An error it returns ends the walk and is
	// VerifyChain's.
	Each func(ev *Event) error
	// Then, when set, is called once after a walk that found no fault, on
	// the same read snapshot, so that what Each gathered can be compared
	// with the rows. It is not called on a store of an older schema read as
	// it is (OlderSchema): its rows are not this binary's.
	Then func(v View) error
	// Checkpoints are tree heads held outside the store (a checkpoint from
	// the vendor's envelope, a witness, an earlier audit): the events must
	// hash to each one's root at its size, as to the stored checkpoints'.
	Checkpoints []TreeCheck
}

// TreeCheck is a tree head a verification must meet, and what it is, for
// the fault message ("the checkpoint given").
type TreeCheck struct {
	TreeHead
	What string
}

// ChainFault is the first place where a chain does not hold.
type ChainFault struct {
	// Seq is the sequence number of the first event that is wrong or missing.
	Seq int64 `json:"seq"`
	// Problem says what is wrong with it, in words for the operator.
	Problem string `json:"problem"`
	// First, when not 0, says that the fault is in one of events
	// First..Seq, not which: a checkpoint of Seq events whose root the
	// events no longer give. No event of the range is known to be sound.
	First int64 `json:"first,omitempty"`
}

// Where is where the fault is, for a message: "at event 7", or "in events
// 1..7" when it is not known which of them.
func (f *ChainFault) Where() string {
	if f.First > 0 && f.First < f.Seq {
		return fmt.Sprintf("in events %d..%d", f.First, f.Seq)
	}
	return fmt.Sprintf("at event %d", f.Seq)
}

// ChainResult is the outcome of a chain verification.
type ChainResult struct {
	// Valid is the number of events checked and found sound before the
	// first fault (all of them when Fault is nil).
	Valid int64 `json:"valid"`
	// Total is the number of events read.
	Total int64 `json:"total"`
	// Head is the last sound event.
	Head ChainHead `json:"head"`
	// Tree is the Merkle tree the events give, when the trail is sound.
	Tree  *TreeHead   `json:"tree,omitempty"`
	Fault *ChainFault `json:"fault,omitempty"`
}

// OK reports whether the chain verified.
func (r *ChainResult) OK() bool { return r.Fault == nil }

// View reads one snapshot of the store, noun by noun.
type View interface {
	// Now is the transaction's time: every row and event a change writes
	// carries it.
	Now() time.Time

	// Settings.

	// Setting returns a setting's value and whether it is set.
	Setting(key string) (value string, ok bool, err error)
	// Settings returns those of keys that are set, in one read.
	Settings(keys ...string) (map[string]string, error)
	// AllSettings returns every setting.
	AllSettings() (map[string]string, error)

	// Users.

	// UserByID, UserByName (any case) and UserByEmail (normalised) read
	// one account with its grants; found is false when there is none.
	// LockedUntil is the stored lock of the account's current credential,
	// whether or not it has ended.
	UserByID(id int64) (u User, found bool, err error)
	UserByName(name string) (u User, found bool, err error)
	UserByEmail(email string) (u User, found bool, err error)
	// SSOAccount finds the account bound to an SSO identity.
	SSOAccount(issuer, subject string) (a AccountRef, found bool, err error)
	// ListUsers calls fn for each user f selects, oldest first, streaming;
	// PendingOnly selects PendingCondition's users. fn must not call the
	// View's other methods (Now excepted): the rows hold the connection.
	ListUsers(f UserFilter, fn func(u *User) error) error
	// UserCounts counts accounts for the server summary.
	UserCounts() (UserCounts, error)
	// EnabledAdmins counts the enabled MSP admins.
	EnabledAdmins() (int, error)
	// EnabledAdmin returns the stored name of the enabled MSP admin called
	// name (any case).
	EnabledAdmin(name string) (stored string, found bool, err error)
	// EmailTaken reports whether an account has this email;
	// EmailOrNameTaken whether one has it as its email or its name.
	EmailTaken(email string) (bool, error)
	EmailOrNameTaken(s string) (bool, error)
	// SkeletonTaken reports whether an account name has this NameSkeleton.
	SkeletonTaken(skeleton string) (bool, error)
	// PasswordHash is a local account's password hash, "" if it has none.
	PasswordHash(userID int64) (string, error)
	// SeatHolders counts the accounts that hold an admin seat: enabled,
	// with a role, and not the support account.
	SeatHolders() (int, error)
	// ExemptUsers lists the users exempt from required SSO, by name.
	ExemptUsers() ([]ExemptUser, error)
	// UserState reads what the audit trail records of an account (see
	// UserState); found is false when there is none.
	UserState(id int64) (r UserStateRow, found bool, err error)
	// UserStates calls fn for every account, by ID, streaming. fn must not
	// call the View's other methods (Now excepted).
	UserStates(fn func(r *UserStateRow) error) error

	// Roles, scopes, groups and organisations ("records"; kind is role,
	// scope, group or org).

	// Record finds a record by name (any case).
	Record(kind, name string) (id int64, canonical string, found bool, err error)
	// Records lists a kind's records by name, with their member counts.
	Records(kind string) ([]Record, error)

	// Failed-logon throttling: one record per user and credential ("" is
	// a local password; a support credential is keyed by its request ID).
	FailureRecord(userID int64, credential string) (FailureRecord, error)

	// SSO sign-in attempts, for 'sso explain'.

	// Attempts returns the latest attempts (newest first, at most limit)
	// whose subject is subject or whose email is email (when not "").
	Attempts(subject, email string, limit int) ([]SignInAttempt, error)

	// Support access.

	// SupportAccount reads the support account and its live credential.
	SupportAccount() (a SupportAccountRow, found bool, err error)
	// Recipients lists the vendor's recipients in the order added.
	Recipients() ([]Recipient, error)
	// LatestEvent returns the newest successful event whose action is one
	// of actions.
	LatestEvent(actions ...string) (ev EventRef, found bool, err error)
	// EnvelopeIssued reports whether a successful support.request or
	// support.rotate event recorded this envelope SHA-256 (hex).
	EnvelopeIssued(sha256Hex string) (bool, error)

	// The Merkle tree over the audit trail (internal/audit/tree.go).

	// TreeSize is the number of events: the size of the tree.
	TreeSize() (int64, error)
	// TreeColumns reads the tree columns (stored hashes) of records, the
	// 0-based index of event seq being seq-1; a record the trail does not
	// hold is absent from the map.
	TreeColumns(records []int64) (map[int64][]byte, error)
	// Event reads event seq.
	Event(seq int64) (ev Event, found bool, err error)
	// Checkpoints lists the signed checkpoints, smallest first.
	Checkpoints() ([]CheckpointRow, error)
}

// Tx is a write transaction: a View that can also change rows. Every
// change reaches the store with its audit event (see Store.Change).
// Inserts that break a uniqueness rule return an error with code
// ECONFLICT.
type Tx interface {
	View

	SetSetting(key, value string) error
	// DeleteSetting removes a setting; false when it was not set.
	DeleteSetting(key string) (bool, error)

	// InsertUser adds an account and returns its ID.
	InsertUser(r UserRow) (int64, error)
	SetPasswordHash(userID int64, hash string) error
	SetEnabled(userID int64, enabled bool) error
	RenameUser(userID int64, name, skeleton string) error
	// RecordSignIn sets the account's last sign-in to now, by how ("sso",
	// "local", or a technician's ID).
	RecordSignIn(userID int64, by string) error
	// SetExempt adds (by names who) or removes an exemption from
	// required SSO; changed is false when there was nothing to do.
	SetExempt(userID int64, exempt bool, by string) (changed bool, err error)

	// AddRecord adds a record of a kind (ECONFLICT if the name is taken).
	AddRecord(kind, name string) error
	// Grant links a record to a user; Revoke unlinks it. changed is false
	// when the link already was (was not) there.
	Grant(kind string, userID, recordID int64) (changed bool, err error)
	Revoke(kind string, userID, recordID int64) (changed bool, err error)

	// PutFailureRecord stores a credential's failure count.
	PutFailureRecord(userID int64, credential string, r FailureRecord) error
	// DeleteFailures removes a user's failure records: all of them when
	// keep is nil, else all but the one of credential *keep. It returns
	// how many it removed.
	DeleteFailures(userID int64, keep *string) (int64, error)

	// InsertAttempt records an SSO sign-in attempt (userID 0: none), at
	// a.Time.
	InsertAttempt(a SignInAttempt, userID int64) error

	// PutSupportCredential replaces the support account's credential.
	PutSupportCredential(userID int64, c CredentialRow) error
	// DeleteSupportCredential removes it; false when there was none.
	DeleteSupportCredential(userID int64) (bool, error)
	// SetFirstLogon records the credential's first technician logon.
	SetFirstLogon(userID int64, at time.Time) error

	// AddRecipient adds a recipient (AddedAt and AddedBy as given); false
	// when its key or fingerprint is already there.
	AddRecipient(r Recipient) (bool, error)
	// RemoveRecipient removes the recipient with this fingerprint.
	RemoveRecipient(fingerprint string) (bool, error)
}

// InitFunc writes a new store's first rows and returns its store.init
// event. Store constructors run it in the transaction that creates the
// schema (or, on PostgreSQL, the tenant), so a store is never half made.
type InitFunc func(tx Tx) (*NewEvent, error)

// MigrateFunc is run by a store that migrates from a schema whose events
// recorded no after-state, in the migration's transaction (on PostgreSQL,
// once per tenant, with that tenant's Tx); from is the schema migrated
// from. The details it returns — the baseline of the security state —
// are added to the store.migrate event.
type MigrateFunc func(tx Tx, from int) (details map[string]any, err error)

// AccountRef is the little the sign-in gate reads of an SSO account.
type AccountRef struct {
	ID      int64
	Name    string
	Enabled bool
}

// UserRow is an account to insert. CreatedAt is the transaction's time.
type UserRow struct {
	Name         string
	Kind         string // local, sso or support
	Email        string // "" for none
	Enabled      bool
	MSPAdmin     bool
	CreatedVia   string
	CreatedBy    string
	PasswordHash string // "" for none
	SSOIssuer    string
	SSOSubject   string
	// LastSignInBy, when not "", records a sign-in at creation.
	LastSignInBy string
	NameSkeleton string
}

// UserStateRow is an account's security state as stored: what the audit
// trail records of it (UserState, with the password's digest for its
// hash). Names of each kind are in no particular order.
type UserStateRow struct {
	ID           int64
	Name         string
	Kind         string
	Email        string // "" for none
	Enabled      bool
	MSPAdmin     bool
	SSOIssuer    string
	SSOSubject   string
	SSOExempt    bool
	PasswordHash string // "" for none
	Roles        []string
	Scopes       []string
	Groups       []string
	Orgs         []string
}

// UserCounts summarise the accounts.
type UserCounts struct {
	Total         int // every account but the support account
	Pending       int
	MSPAdmins     int // enabled MSP admins
	OldestPending time.Time
}

// ExemptUser is a user exempt from required SSO, with what decides whether
// it is a break-glass admin.
type ExemptUser struct {
	ID          int64
	Name        string
	Kind        string
	Enabled     bool
	MSPAdmin    bool
	HasPassword bool
}

// Record is a named role, scope, group or organisation.
type Record struct {
	Name    string `json:"name"`
	Builtin bool   `json:"builtin"`
	Members int    `json:"members"`
}

// SupportAccountRow is the support account as stored.
type SupportAccountRow struct {
	ID           int64
	Name         string
	Enabled      bool
	LastSignInAt time.Time
	LastSignInBy string
	// Credential is nil when the account has no live credential.
	Credential *CredentialRow
}

// CredentialRow is a support credential as stored: only its hash.
type CredentialRow struct {
	PasswordHash   string
	RequestID      string
	IssuedAt       time.Time
	ExpiresAt      time.Time
	ResetAfterUse  time.Duration // whole seconds; 0: off
	FirstLogonAt   time.Time     // zero until the first logon
	EnvelopeSHA256 string
	EnvelopePath   string // "" when not written to a file
}

// EventRef names an event of the trail.
type EventRef struct {
	Seq    int64
	Actor  string
	Action string
}

// PendingCondition, in words: a user awaits role assignment while it is
// enabled, holds no role, group or organisation, is not an MSP admin and
// is not the support account. Stores index it (users pending).
const PendingCondition = "enabled, no role, group or organisation, not an MSP admin, not the support account"

// CopyTables are the tables 'store copy' carries, in the order a copy
// writes them (a table after those it refers to). Both stores name these
// tables and their columns alike.
var CopyTables = []string{
	"settings", "users", "roles", "scopes", "groups", "orgs",
	"user_roles", "user_scopes", "user_groups", "user_orgs",
	"support_credentials", "support_recipients", "sso_exemptions",
	"sso_attempts", "login_failures", "audit_events", "audit_checkpoints",
}

// Exporter streams every row of one tenant's store, table by table in
// CopyTables order and by primary key within a table. columns are the
// table's columns (never a tenant column); each value is nil, an int64
// (booleans are 0 or 1) or a string (times in audit.TimeLayout).
type Exporter interface {
	Export(ctx context.Context, fn func(table string, columns []string, row []any) error) error
}

// TenantLister is a store that holds several tenants (PostgreSQL).
type TenantLister interface {
	// Tenants describes every tenant of the database, by tenant ID.
	Tenants(ctx context.Context) ([]StoreInfo, error)
}

// Backupper is a store that writes a consistent copy of itself to a file
// (SQLite). The core records the backup in the audit trail.
type Backupper interface {
	Backup(ctx context.Context, path string) (BackupInfo, error)
}

// BackupInfo describes a backup: where it is and the head of its chain.
type BackupInfo struct {
	Path string    `json:"path"`
	Head ChainHead `json:"head"`
}
