package wire

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// CopyResult describes a finished store copy.
type CopyResult struct {
	From     string              `json:"from"`
	To       string              `json:"to"`
	TenantID string              `json:"tenant_id"`
	Events   int64               `json:"events"`
	Head     gatehouse.ChainHead `json:"head"`
}

// Copy copies the whole store src — every row of its tenant, its audit
// trail verbatim — to a new store at location to: 'gatehouse store copy',
// the way from an SQLite file to PostgreSQL and back. The source chain
// must verify first; the target must be empty (a new file, or a tenant
// the database does not hold). The copy is written in one transaction,
// then its chain is verified and its head checked to be an event of the
// source with the same hash. Both stores then record store.copy, naming
// the other and the head copied.
func Copy(ctx context.Context, src *core.Core, to string, o Options, actor string) (CopyResult, error) {
	var res CopyResult
	exp, ok := src.Store().(gatehouse.Exporter)
	if !ok {
		return res, gatehouse.Errorf(gatehouse.EINVALID, "this store cannot be copied")
	}
	info, err := src.StoreInfo(ctx)
	if err != nil {
		return res, err
	}
	before, err := src.VerifyChain(ctx, gatehouse.VerifyOptions{})
	if err != nil {
		return res, err
	}
	if !before.OK() {
		return res, gatehouse.Errorf(gatehouse.ECHECKFAILED, "the source's audit trail does not verify (event %d: %s); nothing was copied — see 'gatehouse audit verify'",
			before.Fault.Seq, before.Fault.Problem)
	}
	kind, where, err := Parse(to)
	if err != nil {
		return res, err
	}
	o.Tenant, o.ReadOnly, o.OlderSchema = info.TenantID, false, false
	var dst gatehouse.Store
	switch kind {
	case Postgres:
		dst, err = copyToPostgres(ctx, where, o, exp)
	default:
		dst, err = sqlite.CreateFrom(ctx, where, o.sqlite(), exp)
	}
	if err != nil {
		return res, err
	}
	d := core.New(dst, o.core())
	defer d.Close()
	after, err := d.VerifyChain(ctx, gatehouse.VerifyOptions{})
	if err != nil {
		return res, err
	}
	if !after.OK() {
		return res, gatehouse.Errorf(gatehouse.ECHECKFAILED, "the copy at %s does not verify (event %d: %s); do not use it",
			dst.Location(), after.Fault.Seq, after.Fault.Problem)
	}
	// The copy's head must be an event of the source, with the same hash:
	// the copy is a prefix of the source's chain (the source may have
	// moved on meanwhile).
	if in, err := src.VerifyChain(ctx, gatehouse.VerifyOptions{Head: &after.Head}); err != nil {
		return res, err
	} else if !in.OK() {
		return res, gatehouse.Errorf(gatehouse.ECHECKFAILED, "the copy at %s is not a copy of this store's audit trail (%s); do not use it",
			dst.Location(), in.Fault.Problem)
	}
	res = CopyResult{From: src.Store().Location(), To: dst.Location(), TenantID: info.TenantID, Events: after.Valid, Head: after.Head}
	if err := d.RecordCopy(ctx, actor, "from", res.From, res.Head); err != nil {
		return res, fmt.Errorf("the copy is complete but its store.copy event was not written: %w", err)
	}
	if err := src.RecordCopy(ctx, actor, "to", res.To, res.Head); err != nil {
		return res, fmt.Errorf("the copy is complete but the source's store.copy event was not written: %w", err)
	}
	return res, nil
}
