package cli

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gatehouse-dev/gatehouse/internal/witness/witnesstest"
)

// TestScriptsWitness runs the scripts of testdata/witness against a real
// C2SP tlog-witness: filippo.io/torchwood's litewitness, at the version
// witnesstest pins, installed from the Go module proxy and run on
// 127.0.0.1. It is not optional: if it cannot be installed or started,
// the test fails. The scripts get $WITNESS_URL and $WITNESS_KEY, and
// commands to register a log with the witness and read the size it holds.
func TestScriptsWitness(t *testing.T) {
	w := witnesstest.Start(t, witnesstest.Options{})
	params := scriptParams("sqlite")
	params.Dir = filepath.Join("..", "..", "testdata", "witness")
	setup := params.Setup
	params.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		env.Setenv("WITNESS_URL", w.URL)
		env.Setenv("WITNESS_KEY", w.Key)
		env.Setenv("WITNESS_NAME", w.Name)
		return nil
	}
	params.Cmds["witness-add-log"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: witness-add-log PUBFILE (a log's public key, from audit keygen)")
		}
		vkey := strings.TrimSpace(ts.ReadFile(args[0]))
		origin, _, _ := strings.Cut(vkey, "+")
		w.AddLog(t, witnesstest.Log{Origin: origin, Key: vkey})
	}
	params.Cmds["witness-size"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: witness-size ORIGIN N (the size of the log's checkpoint the witness holds)")
		}
		if got := w.TreeSize(t, args[0]); strconv.FormatInt(got, 10) != args[1] {
			ts.Fatalf("the witness holds the log %s at size %d, want %s", args[0], got, args[1])
		}
	}
	testscript.Run(t, params)
}
