package postgres

import (
	"errors"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/schema"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Record finds a record of a kind by name, in any ASCII case.
func (v *View) Record(kind, name string) (int64, string, bool, error) {
	table, _, _, err := schema.RecordTable(kind)
	if err != nil {
		return 0, "", false, err
	}
	var id int64
	var canonical string
	err = v.queryRow("SELECT id, name FROM "+table+" WHERE tenant_id = $1 AND nocase(name) = nocase($2)", name).Scan(&id, &canonical)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, canonical, err == nil, classify(err, "read a "+kind)
}

// Records lists a kind's records by name (ASCII case folded, as SQLite's
// NOCASE orders them), with their member counts.
func (v *View) Records(kind string) ([]gatehouse.Record, error) {
	table, link, col, err := schema.RecordTable(kind)
	if err != nil {
		return nil, err
	}
	builtin := "false"
	if kind == "role" || kind == "scope" {
		builtin = "r.builtin"
	}
	rows, err := v.query("SELECT r.name, " + builtin + ", (SELECT count(*) FROM " + link + " x WHERE x.tenant_id = r.tenant_id AND x." + col + " = r.id)" +
		" FROM " + table + " r WHERE r.tenant_id = $1 ORDER BY nocase(r.name), r.id")
	if err != nil {
		return nil, classify(err, "list the "+table)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gatehouse.Record, error) {
		var rec gatehouse.Record
		err := r.Scan(&rec.Name, &rec.Builtin, &rec.Members)
		return rec, err
	})
	if out == nil {
		out = []gatehouse.Record{}
	}
	return out, classify(err, "list the "+table)
}

// AddRecord adds a record of a kind with the tenant's next ID for it; a
// name taken (in any ASCII case) is ECONFLICT.
func (tx *Tx) AddRecord(kind, name string) error {
	table, _, _, err := schema.RecordTable(kind)
	if err != nil {
		return err
	}
	tag, err := tx.exec("INSERT INTO "+table+" (tenant_id, id, name) VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM "+table+" WHERE tenant_id = $1), $2) ON CONFLICT DO NOTHING", name)
	if err != nil {
		return classify(err, "add the "+kind)
	}
	if tag.RowsAffected() == 0 {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "a %s named %q already exists", kind, gatehouse.Clip(name, 64))
	}
	return nil
}

// Grant links a record to a user; changed is false when it already was.
func (tx *Tx) Grant(kind string, userID, recordID int64) (bool, error) {
	_, link, col, err := schema.RecordTable(kind)
	if err != nil {
		return false, err
	}
	tag, err := tx.exec("INSERT INTO "+link+" (tenant_id, user_id, "+col+") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", userID, recordID)
	return tag.RowsAffected() == 1, classify(err, "grant the "+kind)
}

// Revoke unlinks a record from a user; changed is false when it was not
// linked.
func (tx *Tx) Revoke(kind string, userID, recordID int64) (bool, error) {
	_, link, col, err := schema.RecordTable(kind)
	if err != nil {
		return false, err
	}
	tag, err := tx.exec("DELETE FROM "+link+" WHERE tenant_id = $1 AND user_id = $2 AND "+col+" = $3", userID, recordID)
	return tag.RowsAffected() == 1, classify(err, "revoke the "+kind)
}
