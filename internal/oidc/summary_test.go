package oidc

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSummaryBounded: whatever a token holds, its summary in the
// append-only trail stays small.
func TestSummaryBounded(t *testing.T) {
	aud := make([]string, 900)
	for i := range aud {
		aud[i] = strings.Repeat("a", 60)
	}
	c := &Claims{Issuer: strings.Repeat("i", 10000), Subject: strings.Repeat("é", 5000), Audience: aud,
		AMR: aud, Email: strings.Repeat("e", 3000), ACR: strings.Repeat("c", 3000), Nonce: "secret-nonce"}
	m := c.Summary()
	b, _ := json.Marshal(m)
	if len(b) > 3000 {
		t.Errorf("summary of %d bytes: %.200s…", len(b), b)
	}
	if m["aud_count"] != 900 || len(m["aud"].([]string)) != 5 || m["amr_count"] != 900 {
		t.Errorf("aud %v (count %v), amr count %v", len(m["aud"].([]string)), m["aud_count"], m["amr_count"])
	}
	if s := m["sub"].(string); !strings.HasSuffix(s, "…") || len(s) > 260 || strings.ContainsRune(s, '\uFFFD') {
		t.Errorf("sub clipped to %d bytes: %q…", len(s), s[:20])
	}
	if strings.Contains(string(b), "secret-nonce") {
		t.Error("the summary holds the nonce")
	}
}
