package core

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// detailTime is a time as events' details show it: RFC 3339, whole seconds.
func detailTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// storedTime is a time as the audit trail stores it.
func storedTime(t time.Time) string { return audit.FormatTime(t) }
