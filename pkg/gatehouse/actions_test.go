package gatehouse

import (
	"slices"
	"strings"
	"testing"
)

// Actions is searched by binary search and completed in order: it must be
// sorted, without duplicates, and every state writer must be in it.
func TestActionsSortedAndComplete(t *testing.T) {
	if !slices.IsSortedFunc(Actions, func(a, b ActionInfo) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatal("gatehouse.Actions is not sorted by name")
	}
	for i := 1; i < len(Actions); i++ {
		if Actions[i].Name == Actions[i-1].Name {
			t.Fatalf("%s is listed twice", Actions[i].Name)
		}
	}
	for action := range stateWriters {
		if !KnownAction(action) {
			t.Errorf("state writer %s is not in Actions", action)
		}
	}
	for _, a := range []string{ActionStoreInit, ActionStoreMigrate} {
		if !KnownAction(a) {
			t.Errorf("%s is not in Actions", a)
		}
	}
	if KnownAction("user.ad") || KnownAction("") || KnownAction("zzz") {
		t.Error("KnownAction accepts an action that is not listed")
	}
}
