package cli

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestSameEventDetails: verify-proof --event compares details as JSON text
// up to white space and string escapes (which the renderers add), not as
// decoded values: a key given twice, a number written otherwise, keys in
// another order are another event.
func TestSameEventDetails(t *testing.T) {
	stored := `{"name":"bob","msp_admin":false,"n":1,"note":"a<b \u202e","list":[1,{"x":true}]}`
	ev := func(details string) *gatehouse.Event {
		return &gatehouse.Event{Seq: 2, Action: "user.add", Details: json.RawMessage(details)}
	}
	for details, same := range map[string]bool{
		stored: true,
		"{\n  \"name\": \"bob\",\n  \"msp_admin\": false, \"n\": 1, \"note\": \"a\\u003cb \\u202e\", \"list\": [1, {\"x\": true}]\n}": true,
		`{"name":"bob","msp_admin":true,"msp_admin":false,"n":1,"note":"a<b \u202e","list":[1,{"x":true}]}`:                           false,
		`{"name":"bob","msp_admin":false,"n":1.0,"note":"a<b \u202e","list":[1,{"x":true}]}`:                                          false,
		`{"msp_admin":false,"name":"bob","n":1,"note":"a<b \u202e","list":[1,{"x":true}]}`:                                            false,
		`{"name":"bob","msp_admin":false,"n":"1","note":"a<b \u202e","list":[1,{"x":true}]}`:                                          false,
		`{"name":"bob","msp_admin":false,"n":1,"note":"a<b \u202e","list":[1,{"x":true,"x":false}]}`:                                  false,
		`not json`: false,
	} {
		if got := sameEvent(ev(details), ev(stored)) == ""; got != same {
			t.Errorf("sameEvent(%s) = %v, want %v", details, got, same)
		}
	}
	if _, err := jsonTokens([]byte(`{"a":{"b":1},"c":[{"b":2},{"b":3}],"b":4}`)); err != nil {
		t.Errorf("jsonTokens: a key used in nested objects is no duplicate: %v", err)
	}
	if _, err := jsonTokens([]byte(`{"seq":2,"details":{},"seq":3}`)); err == nil {
		t.Error("jsonTokens accepted a key given twice at the top level")
	}
}
