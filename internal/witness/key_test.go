package witness

import (
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestParseKey(t *testing.T) {
	// The key litewitness printed for the recorded exchange.
	const vkey = "witness.test/litewitness+09b00dcd+BOPD8Lla3J7e43rYumbqdkExy7KRLj9qI6sTbN7UYtmr"
	v, err := ParseKey(vkey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != "witness.test/litewitness" || v.KeyHash() != 0x09b00dcd {
		t.Errorf("ParseKey = %s %08x", v.Name(), v.KeyHash())
	}

	_, logKey, err := note.GenerateKey(rand.Reader, "gatehouse.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, vkey, want string }{
		{"LogKey", logKey, "a log's note signing key"},
		{"WrongKeyID", strings.Replace(vkey, "+09b00dcd+", "+09b00dce+", 1), "want name+keyhash"},
		{"NoName", strings.TrimPrefix(vkey, "witness.test/litewitness"), "want name+keyhash"},
		{"ShortKey", vkey[:len(vkey)-4], "want name+keyhash"},
		{"Garbage", "\x1b[31m not a key", "want name+keyhash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey(tc.vkey)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseKey = %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(tc.vkey)) || strings.ContainsRune(err.Error(), '\x1b') {
				t.Errorf("the error %q repeats the key", err)
			}
		})
	}
}
