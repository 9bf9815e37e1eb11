package gatehouse

import (
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as operators write it: Go's units (h, m,
// s) plus d (24h) and w (7d), combinable, e.g. "30d", "1d12h", "90m".
// Negative, zero-length and overflowing durations are EINVALID.
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) error {
		return Errorf(EINVALID, "invalid duration: %s (use e.g. 30m, 24h, 7d, 2w)", why)
	}
	if s == "" {
		return 0, bad("empty")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, bad("expected a number")
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, bad("number too large")
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		var unit time.Duration
		switch rest[:j] {
		case "w":
			unit = 7 * 24 * time.Hour
		case "d":
			unit = 24 * time.Hour
		case "h":
			unit = time.Hour
		case "m":
			unit = time.Minute
		case "s":
			unit = time.Second
		case "":
			return 0, bad("missing unit")
		default:
			return 0, bad("unknown unit")
		}
		rest = rest[j:]
		if n > int64((1<<63-1)/unit) || total > (1<<63-1)-time.Duration(n)*unit {
			return 0, bad("too long")
		}
		total += time.Duration(n) * unit
	}
	if total == 0 {
		return 0, bad("must be longer than zero")
	}
	return total, nil
}

// FormatDuration writes d the way ParseDuration reads it, in the largest
// exact units: 720h is "30d", 36h is "1d12h".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}

// Age is how long before now t was, to the second, as FormatDuration
// writes it ("3d4h").
func Age(now, t time.Time) string {
	return FormatDuration(now.Sub(t).Truncate(time.Second))
}

// ParseTimeBound reads a --since or --until value: a duration before now
// ("24h", "7d"), an RFC 3339 time, or a UTC date ("2026-11-01").
func ParseTimeBound(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "invalid time %q: use a duration before now (24h, 7d), an RFC 3339 time or a date (2026-11-01)", Clip(s, 40))
	}
	return now.Add(-d).UTC(), nil
}
