package gatehouse_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

var updateDurations = flag.Bool("update-durations", false, "rewrite testdata/durations.json")

// durationSettings are the fixed values of the known-answer test.
func durationSettings() map[string]any {
	tested := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	support := gatehouse.SupportSettings{AccountName: "vendorsupport", TTL: gatehouse.Duration(72 * time.Hour),
		ResetAfterUse: gatehouse.Duration(90 * time.Minute), Endpoint: "https://vendor.example/envelopes",
		EndpointTimeout: gatehouse.Duration(10 * time.Second)}
	return map[string]any{
		"support": support,
		"support_config": gatehouse.SupportConfig{SupportSettings: support, Account: "vendorsupport", Enabled: true,
			HasCredential: true, CredentialAge: "1d", Recipients: []string{"SHA256:abc"}},
		"support_off": gatehouse.SupportSettings{AccountName: "vendorsupport", TTL: gatehouse.Duration(30 * 24 * time.Hour)},
		"lockout":     gatehouse.LockoutPolicy{MaxFailures: 5, Window: gatehouse.Duration(15 * time.Minute), Lockout: gatehouse.Duration(time.Hour)},
		"token_verification": gatehouse.TokenVerification{ClientID: "gatehouse", KeySource: gatehouse.KeysFile,
			Keys: []gatehouse.IdPKey{{KeyID: "k1", Type: "RSA", Algorithm: "RS256", Thumbprint: "t"}}, Algorithms: []string{"RS256"},
			ClockSkew: gatehouse.Duration(2 * time.Minute), MaxAge: gatehouse.Duration(12 * time.Hour),
			RequireACR: []string{}, RequireAMR: []string{"mfa"}, TestedAt: &tested},
	}
}

// TestDurationSecondsKnownAnswer: every duration is written as text and,
// beside it, as whole seconds (testdata/durations.json).
func TestDurationSecondsKnownAnswer(t *testing.T) {
	got, err := json.MarshalIndent(durationSettings(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/durations.json"
	if *updateDurations {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("JSON differs from %s:\n%s", golden, got)
	}
}

// TestDurationSeconds: the structs that write their durations' seconds
// still write every field they declare, and a "_seconds" key with the
// right value after each duration.
func TestDurationSeconds(t *testing.T) {
	for name, v := range durationSettings() {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		rv := reflect.ValueOf(v)
		var walk func(rv reflect.Value)
		walk = func(rv reflect.Value) {
			for i := range rv.NumField() {
				f := rv.Type().Field(i)
				tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if f.Anonymous && tag == "" {
					walk(rv.Field(i))
					continue
				}
				if _, ok := got[tag]; !ok {
					t.Errorf("%s: field %s (%q) is not written: %s", name, f.Name, tag, b)
				}
				if d, ok := rv.Field(i).Interface().(gatehouse.Duration); ok {
					if s, ok := got[tag+"_seconds"].(float64); !ok || int64(s) != int64(time.Duration(d)/time.Second) {
						t.Errorf("%s: %s_seconds = %v, want %d", name, tag, got[tag+"_seconds"], int64(time.Duration(d)/time.Second))
					}
				}
			}
		}
		walk(rv)
	}
}
