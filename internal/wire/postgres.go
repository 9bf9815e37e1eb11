package wire

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func openPostgres(ctx context.Context, url string, o Options) (gatehouse.Store, error) {
	return nil, gatehouse.Errorf(gatehouse.EINVALID, "PostgreSQL stores are not wired yet")
}

func createPostgres(ctx context.Context, url string, o Options, p core.InitParams) (gatehouse.Store, bool, error) {
	return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "PostgreSQL stores are not wired yet")
}

func postgresSchemaVersion() int { return 0 }

func copyToPostgres(ctx context.Context, url string, o Options, src gatehouse.Exporter) (gatehouse.Store, error) {
	return nil, gatehouse.Errorf(gatehouse.EINVALID, "PostgreSQL stores are not wired yet")
}
