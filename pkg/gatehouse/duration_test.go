package gatehouse_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30m": 30 * time.Minute, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour,
		"2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second,
	} {
		got, err := gatehouse.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := gatehouse.ParseDuration(gatehouse.FormatDuration(got)); back != got {
			t.Errorf("FormatDuration(%v) = %q does not read back", got, gatehouse.FormatDuration(got))
		}
	}
	for _, in := range []string{"", "0d", "7", "d", "-1h", "1x", "1.5h", "99999999999999999999d", "3000000w", strings.Repeat("9", 1<<20)} {
		_, err := gatehouse.ParseDuration(in)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("ParseDuration(%.20q) err = %v, want invalid", in, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("error for %.20q is %d bytes long", in, len(err.Error()))
		}
	}
}

func TestParseTimeBound(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                       now.Add(-24 * time.Hour),
		"2026-11-01":                time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T10:00:00Z":      time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		"2026-11-01T12:00:00+02:00": time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := gatehouse.ParseTimeBound(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTimeBound(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := gatehouse.ParseTimeBound("yesterday", now); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("ParseTimeBound(yesterday) err = %v, want invalid", err)
	}
}
