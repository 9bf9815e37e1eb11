package sqlite

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/schema"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are read once from the embedded files named NNNN_name.sql.
var migrations = schema.Load(migrationFS, "migrations")

// backfillNameSkeletons sets the name skeleton (schema 6) of the users of
// an older store: SQL cannot compute it.
func (tx *Tx) backfillNameSkeletons() error {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT id, name FROM users WHERE name_skeleton IS NULL")
	if err != nil {
		return err
	}
	type row struct {
		id   int64
		name string
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET name_skeleton = ? WHERE id = ?", gatehouse.NameSkeleton(r.name), r.id); err != nil {
			return err
		}
	}
	return nil
}

// backfillTree fills in the tree column (schema 8) of the events of an
// older store, in order, in batches: the append-only trigger is lifted for
// the migration's transaction only, and put back as it was. The tree is
// built over the events as they are: a chain that does not hold is still
// reported by audit verify, and no checkpoint is signed over it.
func (tx *Tx) backfillTree() error {
	if _, err := tx.tx.ExecContext(tx.ctx, "DROP TRIGGER audit_events_no_update"); err != nil {
		return err
	}
	var b audit.TreeBuilder
	type row struct {
		seq  int64
		tree []byte
	}
	for last := int64(0); ; {
		rows, err := tx.tx.QueryContext(tx.ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 10000", last)
		if err != nil {
			return err
		}
		var batch []row
		var ev gatehouse.Event
		for rows.Next() {
			if err := scanEvent(rows, &ev); err != nil {
				rows.Close()
				return fmt.Errorf("event %d cannot be read: run 'gatehouse audit verify' with the older gatehouse", last+1)
			}
			leaf, err := audit.LeafHash(&ev)
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, row{ev.Seq, audit.EncodeStored(b.Add(leaf))})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			if _, err := tx.exec("UPDATE audit_events SET tree = ? WHERE seq = ?", r.tree, r.seq); err != nil {
				return err
			}
		}
		last = batch[len(batch)-1].seq
	}
	_, err := tx.tx.ExecContext(tx.ctx, `CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END`)
	return err
}

// stateVersion is the first schema whose events record the after-state of
// every change: a migration from an older one records the baseline
// (Options.Migrate).
const stateVersion = 8

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// identity is what the file says about itself.
type identity struct {
	appID, version, objects int64
}

func (db *DB) identity(ctx context.Context) (identity, error) {
	var id identity
	err := db.write.QueryRowContext(ctx, `SELECT
		(SELECT application_id FROM pragma_application_id),
		(SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_schema)`).Scan(&id.appID, &id.version, &id.objects)
	if err != nil {
		return id, db.classify(err, "read store")
	}
	return id, nil
}

// checkAndMigrate refuses a file that is not a gatehouse store or is newer
// than this binary, initialises an empty file when init is given, and
// migrates an older schema forward. When the schema is current it costs one
// query and writes nothing.
func (db *DB) checkAndMigrate(ctx context.Context, init gatehouse.InitFunc) error {
	id, err := db.identity(ctx)
	if err != nil {
		return err
	}
	if err := db.checkIdentity(id, init); err != nil {
		return err
	}
	if id.version == int64(SchemaVersion()) {
		return nil
	}
	if id.blank() {
		// WAL lets readers run beside the writer; it is a property of the
		// file and cannot be set inside a transaction.
		var mode string
		if err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			return db.classify(err, "initialise store")
		}
	}
	return db.migrate(ctx, init)
}

func (id identity) blank() bool { return id.appID == 0 && id.version == 0 && id.objects == 0 }

// checkIdentity refuses a file that is not a gatehouse store, a blank one
// unless init is given, and a store newer than this binary.
func (db *DB) checkIdentity(id identity, init gatehouse.InitFunc) error {
	blank := id.blank()
	switch {
	case blank && init == nil:
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "store %s is not initialised; run 'gatehouse init'", db.path)
	case !blank && id.appID != ApplicationID:
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s is not a gatehouse store (another SQLite database); refusing to use it", db.path)
	case id.version > int64(SchemaVersion()):
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE,
			"store %s has schema version %d, newer than this gatehouse supports (%d); use a newer gatehouse — the store was not modified",
			db.path, id.version, SchemaVersion())
	}
	return nil
}

// migrate applies the pending migrations, and for a new store its initial
// settings and the store.init event, in one transaction: a crash leaves the
// file either as it was or fully migrated.
func (db *DB) migrate(ctx context.Context, init gatehouse.InitFunc) error {
	_, err := db.change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		var from int
		if err := tx.tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&from); err != nil {
			return nil, err
		}
		if from >= SchemaVersion() {
			return nil, nil // another process migrated it while we waited
		}
		if from > 0 {
			if err := tx.checkRecordedSchema(db.path, from); err != nil {
				return nil, err
			}
		}
		for _, m := range migrations[from:] {
			if _, err := tx.tx.ExecContext(ctx, m.SQL); err != nil {
				return nil, fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if from > 0 && from < 6 {
			if err := tx.backfillNameSkeletons(); err != nil {
				return nil, err
			}
		}
		if from > 0 && from < 8 {
			if err := tx.backfillTree(); err != nil {
				return nil, err
			}
		}
		if _, err := tx.tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", SchemaVersion(), ApplicationID)); err != nil {
			return nil, err
		}
		if from > 0 {
			details := map[string]any{}
			if from < stateVersion && db.migrateHook != nil {
				d, err := db.migrateHook(tx, from)
				if err != nil {
					return nil, err
				}
				maps.Copy(details, d)
			}
			details["from_version"], details["to_version"], details["kind"] = from, SchemaVersion(), "sqlite"
			return &gatehouse.NewEvent{
				Actor:   gatehouse.ActorSystem,
				Action:  "store.migrate",
				Target:  "store",
				Outcome: gatehouse.OutcomeSuccess,
				Details: details,
			}, nil
		}
		if init == nil {
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "store %s is not initialised; run 'gatehouse init'", db.path)
		}
		ne, err := init(tx)
		if err != nil {
			return nil, err
		}
		db.created = true
		return ne, nil
	})
	return err
}

// checkRecordedSchema refuses to migrate a store whose trail records a
// newer schema than its file says (audit.RecordedSchema): the version was
// lowered, and a migration would rebuild the tree over the events as they
// are and record the rows as they are as a new baseline.
func (tx *Tx) checkRecordedSchema(path string, from int) error {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT seq, action, details FROM audit_events
		WHERE action IN ('store.init', 'store.migrate', 'store.copy') ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	r := audit.RecordedSchema{Kind: "sqlite"}
	for rows.Next() {
		var ev gatehouse.Event
		var details string
		if err := rows.Scan(&ev.Seq, &ev.Action, &details); err != nil {
			return err
		}
		ev.Details = json.RawMessage(details)
		r.Note(&ev)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return r.LoweredError("store "+path, int64(from))
}
