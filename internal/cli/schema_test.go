package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/spf13/cobra"
)

// What each command prints on stdout with -o json. Every command that runs
// (not a group, not help or completion) is listed: TestCommandOutputs fails
// for one that is not, so a new command is classified when it is added.
//
//   - change: it changes the store (or writes a file for it) and prints
//     render.Change: "changed" and the object after the change. A command
//     that changes something must be a change.
//   - data: it prints data (a query, or a check's finding, also on exit 1).
//   - none: its stdout is not a JSON record (a key, a proof, a help text).
//
// The JSON Schema of every change and data command is kept in docs/schema
// (gatehouse_<command path>.json, as the reference pages are named),
// generated from the record's Go type by schemaOf (go test ./internal/cli
// -run TestSchemas -update-schemas), and checked against real output by
// the scripts' jsonschema command.
type outputKind int

const (
	outputNone outputKind = iota
	outputChange
	outputData
)

type commandOutput struct {
	kind   outputKind
	record any  // a value of the type printed (a zero one will do)
	list   bool // a list: -o json an array of records, -o jsonl one per line
}

func outChange(record any) commandOutput { return commandOutput{kind: outputChange, record: record} }
func outData(record any) commandOutput   { return commandOutput{kind: outputData, record: record} }
func outList(record any) commandOutput {
	return commandOutput{kind: outputData, record: record, list: true}
}

var outNone = commandOutput{kind: outputNone}

var commandOutputs = map[string]commandOutput{
	"audit checkpoint":          outChange(core.CheckpointResult{}),
	"audit checkpoints":         outList(core.CheckpointInfo{}),
	"audit head":                outData(gatehouse.ChainHead{}),
	"audit keygen":              outNone,
	"audit list":                outList(gatehouse.Event{}),
	"audit prove":               outNone,
	"audit verify":              outData(auditVerifyOutput{}),
	"audit verify-proof":        outData(ProofResult{}),
	"config client":             outList(ClientSetting{}),
	"events forward":            outNone,
	"notify add":                outChange(gatehouse.NotifyRule{}),
	"notify list":               outList(gatehouse.NotifyRule{}),
	"notify remove":             outChange(gatehouse.NotifyRule{}),
	"notify test":               outNone,
	"config check":              outList(policy.Finding{}),
	"config show":               outData(gatehouse.ServerConfig{}),
	"groups add":                outChange(gatehouse.Record{}),
	"groups list":               outList(gatehouse.Record{}),
	"init":                      outChange(gatehouse.StoreInfo{}),
	"license set":               outChange(gatehouse.License{}),
	"license show":              outData(gatehouse.License{}),
	"login":                     outData(gatehouse.SignInResult{}),
	"orgs add":                  outChange(gatehouse.Record{}),
	"orgs list":                 outList(gatehouse.Record{}),
	"roles add":                 outChange(gatehouse.Record{}),
	"roles list":                outList(gatehouse.Record{}),
	"scopes add":                outChange(gatehouse.Record{}),
	"scopes list":               outList(gatehouse.Record{}),
	"server configure":          outChange(ServerView{}),
	"server show":               outData(ServerView{}),
	"sso allow":                 outChange(SSOStatus{}),
	"sso auto-create":           outChange(SSOStatus{}),
	"sso exempt add":            outChange(SSOStatus{}),
	"sso exempt remove":         outChange(SSOStatus{}),
	"sso explain":               outData(gatehouse.Explanation{}),
	"sso idp set":               outChange(SSOStatus{}),
	"sso require":               outChange(SSOStatus{}),
	"sso signin":                outData(gatehouse.SignInResult{}),
	"sso status":                outData(SSOStatus{}),
	"sso test":                  outData(SSOTestReport{}),
	"store backup":              outChange(gatehouse.BackupInfo{}),
	"store copy":                outChange(wire.CopyResult{}),
	"support configure":         outChange(gatehouse.SupportSettings{}),
	"support ensure":            outChange(gatehouse.SupportStatus{}),
	"support login":             outData(gatehouse.SupportLogonResult{}),
	"support recipients add":    outChange(RecipientsChange{}),
	"support recipients list":   outList(gatehouse.Recipient{}),
	"support recipients remove": outChange(RecipientsChange{}),
	"support request":           outChange(core.IssueResult{}),
	"support revoke":            outChange(gatehouse.SupportStatus{}),
	"support rotate":            outChange(core.IssueResult{}),
	"support status":            outData(gatehouse.SupportStatus{}),
	"support sweep":             outChange(gatehouse.SupportStatus{}),
	"tenants list":              outList(tenantRow{}),
	"users add":                 outChange(gatehouse.User{}),
	"users assign":              outChange(gatehouse.User{}),
	"users disable":             outChange(gatehouse.User{}),
	"users enable":              outChange(gatehouse.User{}),
	"users list":                outList(gatehouse.User{}),
	"users lockout configure":   outChange(gatehouse.LockoutPolicy{}),
	"users passwd":              outChange(gatehouse.User{}),
	"users pending":             outList(gatehouse.User{}),
	"users show":                outData(gatehouse.User{}),
	"users unassign":            outChange(gatehouse.User{}),
	"users unlock":              outChange(gatehouse.User{}),
	"version":                   outData(VersionInfo{}),
}

// leafCommands are the commands that run: every command but groups, help
// and the completion scripts, by path without "gatehouse ".
func leafCommands(t *testing.T) []string {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	root := NewCmdRoot(&Factory{IO: io, Now: time.Now})
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			switch {
			case sub.Name() == "help" || sub.Name() == "completion" || sub.Hidden:
			case sub.HasSubCommands():
				walk(sub)
			default:
				out = append(out, strings.TrimPrefix(sub.CommandPath(), "gatehouse "))
			}
		}
	}
	walk(root)
	return out
}

// TestCommandOutputs: every command is classified, and the classification
// names no command that is gone. A command that prints JSON has a schema
// (TestSchemas), and a change's schema requires "changed".
func TestCommandOutputs(t *testing.T) {
	leaves := leafCommands(t)
	for _, path := range leaves {
		if _, ok := commandOutputs[path]; !ok {
			t.Errorf("command %q is not in commandOutputs: say what it prints with -o json (a change prints its record)", path)
		}
	}
	for path, o := range commandOutputs {
		if !slices.Contains(leaves, path) {
			t.Errorf("commandOutputs names %q, which is no command", path)
		}
		if o.kind == outputChange && o.list {
			t.Errorf("%s: a change prints one record, not a list", path)
		}
		if o.kind != outputNone && o.record == nil {
			t.Errorf("%s: no record type", path)
		}
	}
}

var updateSchemas = flag.Bool("update-schemas", false, "rewrite docs/schema from the record types")

const schemaDir = "../../docs/schema"

// schemaFile is where a command's schema is kept.
func schemaFile(path string) string {
	return filepath.Join(schemaDir, "gatehouse_"+strings.ReplaceAll(path, " ", "_")+".json")
}

// TestSchemas: docs/schema holds exactly one schema per command that
// prints JSON, each as generated from the command's record type; a stale,
// missing or extra schema fails (-update-schemas rewrites them).
func TestSchemas(t *testing.T) {
	want := map[string][]byte{}
	for path, o := range commandOutputs {
		if o.kind == outputNone {
			continue
		}
		b, err := json.MarshalIndent(commandSchema(path, o), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Base(schemaFile(path))] = append(b, '\n')
	}
	if *updateSchemas {
		old, _ := filepath.Glob(filepath.Join(schemaDir, "*.json"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(schemaDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(schemaDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is the schema of no command that prints JSON", f)
		}
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(schemaDir, name))
		if err != nil {
			t.Errorf("missing schema %s (go test ./internal/cli -run TestSchemas -update-schemas)", name)
			continue
		}
		if !bytes.Equal(got, b) {
			t.Errorf("docs/schema/%s is stale (go test ./internal/cli -run TestSchemas -update-schemas)", name)
		}
		if _, err := compileSchema(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// commandSchema is the JSON Schema (draft 2020-12) of what the command at
// path prints with -o json.
func commandSchema(path string, o commandOutput) map[string]any {
	var s map[string]any
	switch {
	case o.kind == outputChange:
		s = schemaOf(reflect.TypeOf(o.record))
		props := s["properties"].(map[string]any)
		props["changed"] = map[string]any{"type": "boolean", "description": "false when there was nothing to do"}
		s["required"] = append([]string{"changed"}, s["required"].([]string)...)
	case o.list:
		s = map[string]any{"type": "array", "items": schemaOf(reflect.TypeOf(o.record))}
	default:
		s = schemaOf(reflect.TypeOf(o.record))
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["title"] = "gatehouse " + path + " -o json"
	return s
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	durationType   = reflect.TypeFor[gatehouse.Duration]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	marshalerT     = reflect.TypeFor[json.Marshaler]()
)

// schemaOf is the JSON Schema of what encoding/json writes for a value of
// type t, by encoding/json's own rules: a nil pointer, slice or map is
// null; a field with omitempty may be missing, any other is required; an
// embedded struct's fields are flattened; an object has no other fields.
// (A general generator, such as invopop/jsonschema, writes a nil slice as
// an array and knows nothing of the structs here that marshal themselves.)
func schemaOf(t reflect.Type) map[string]any {
	switch {
	case t.Kind() == reflect.Pointer:
		return nullable(schemaOf(t.Elem()))
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawMessageType:
		return map[string]any{"description": "any JSON value (an event's details)"}
	case t == durationType:
		return map[string]any{"type": "string", "description": "a duration as gatehouse writes it (72h, 30d); empty: off"}
	case t.Kind() == reflect.Struct && (t.Implements(marshalerT) || reflect.PointerTo(t).Implements(marshalerT)):
		return marshalledStructSchema(t)
	case t.Implements(marshalerT):
		panic(fmt.Sprintf("schemaOf: %s marshals itself: describe it here", t))
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []string{"string", "null"}, "contentEncoding": "base64"}
		}
		return map[string]any{"type": []string{"array", "null"}, "items": schemaOf(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props, required := map[string]any{}, []string{}
		structFields(t, props, &required)
		return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	}
	panic(fmt.Sprintf("schemaOf: no JSON for %s", t))
}

func structFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		ft := f.Type
		if f.Anonymous && tag == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, props, required)
				continue
			}
		}
		if tag == "" {
			tag = f.Name
		}
		props[tag] = schemaOf(ft)
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			*required = append(*required, tag)
		}
	}
}

// marshalledStructSchema describes a struct that marshals itself: the
// settings that write each Duration field's whole seconds beside it
// (pkg/gatehouse/duration_json.go). Its keys are those its zero value
// writes; each is a field of the struct, or a duration's "_seconds".
func marshalledStructSchema(t reflect.Type) map[string]any {
	b, err := json.Marshal(reflect.New(t).Interface())
	if err != nil {
		panic(err)
	}
	plain := schemaOf(reflect.StructOf(plainFields(t)))
	fields := plain["properties"].(map[string]any)
	props, required := map[string]any{}, []string{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		var raw json.RawMessage
		dec.Decode(&raw)
		key := k.(string)
		switch s, ok := fields[key]; {
		case ok:
			props[key] = s
		case strings.HasSuffix(key, "_seconds") && fields[strings.TrimSuffix(key, "_seconds")] != nil:
			props[key] = map[string]any{"type": "integer", "minimum": 0, "description": "the duration " + strings.TrimSuffix(key, "_seconds") + " in whole seconds"}
		default:
			panic(fmt.Sprintf("schemaOf: %s writes %q, which is none of its fields", t, key))
		}
		required = append(required, key)
	}
	// A field the zero value omits (omitempty) may be there, not required.
	for k, s := range fields {
		if _, ok := props[k]; !ok {
			props[k] = s
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// plainFields are t's fields, embedded structs' flattened in, as a struct
// type without t's methods could hold them.
func plainFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			out = append(out, plainFields(f.Type)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

func nullable(s map[string]any) map[string]any {
	switch typ := s["type"].(type) {
	case string:
		s["type"] = []string{typ, "null"}
		return s
	case []string:
		if !slices.Contains(typ, "null") {
			s["type"] = append(typ, "null")
		}
		return s
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

var (
	schemaMu       sync.Mutex
	schemaCompiled = map[string]*jsonschema.Schema{}
	// schemaChecked are the commands whose real output the scripts
	// checked against their schema (TestScripts checks that it is all).
	schemaChecked = map[string]bool{}
)

func compileSchema(name string) (*jsonschema.Schema, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCompiled[name]; ok {
		return s, nil
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	abs, err := filepath.Abs(filepath.Join(schemaDir, name))
	if err != nil {
		return nil, err
	}
	s, err := c.Compile(abs)
	if err != nil {
		return nil, err
	}
	schemaCompiled[name] = s
	return s, nil
}

// jsonschema [-lines] COMMAND... checks the last command's stdout against
// the schema of gatehouse COMMAND (docs/schema); with -lines, stdout is
// JSON Lines, each line a record of the list.
func cmdJSONSchema(ts *testscript.TestScript, neg bool, args []string) {
	lines := len(args) > 0 && args[0] == "-lines"
	if lines {
		args = args[1:]
	}
	if len(args) == 0 || neg {
		ts.Fatalf("usage: jsonschema [-lines] COMMAND...")
	}
	path := strings.Join(args, " ")
	o, ok := commandOutputs[path]
	if !ok || o.kind == outputNone {
		ts.Fatalf("gatehouse %s prints no JSON record", path)
	}
	s, err := compileSchema(filepath.Base(schemaFile(path)))
	ts.Check(err)
	out := ts.ReadFile("stdout")
	var v any
	if lines {
		if !o.list {
			ts.Fatalf("gatehouse %s prints no list", path)
		}
		var docs []any
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			d, err := jsonschema.UnmarshalJSON(strings.NewReader(l))
			if err != nil {
				ts.Fatalf("stdout line is not JSON: %v", err)
			}
			docs = append(docs, d)
		}
		v = docs
	} else {
		if v, err = jsonschema.UnmarshalJSON(strings.NewReader(out)); err != nil {
			ts.Fatalf("stdout is not one JSON document: %v", err)
		}
	}
	if err := s.Validate(v); err != nil {
		ts.Fatalf("stdout does not match docs/schema/%s:\n%v", filepath.Base(schemaFile(path)), err)
	}
	schemaMu.Lock()
	schemaChecked[path] = true
	schemaMu.Unlock()
}

// schemaCheckedElsewhere are the commands whose JSON output a script
// outside testdata/script checks, with the test that runs it.
var schemaCheckedElsewhere = map[string]string{
	"sso test": "TestScriptsIdP (testdata/idp/sso_test.txtar: a real identity provider and browser)",
}

// recordsDecisions are the commands that open the store to write it but
// change nothing an admin asked for: they record a decision (a logon, a
// sign-in, a test of the IdP) and print it, or nothing — or, events
// forward, move only their delivery cursor, which is operational state
// beside the audited changes. Any other command that writes prints the
// record of its change.
var recordsDecisions = map[string]bool{
	"events forward": true,
	"login":          true,
	"support login":  true,
	"sso signin":     true,
	"sso test":       true,
}

var unreportedOnce = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "gatehouse-unreported-")
	if err != nil {
		panic(err)
	}
	return filepath.Join(dir, "log")
})

// unreportedLog is the file the CLI children name each command in that
// wrote to the store and printed no record of a change (testOnlyUnreported).
func unreportedLog() string { return unreportedOnce() }

// checkChangesReported fails t for any command that wrote to the store in
// the scripts, succeeded, and printed no record of its change, unless it
// only records decisions.
func checkChangesReported(t *testing.T) {
	b, err := os.ReadFile(unreportedLog())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if path == "" || seen[path] {
			continue
		}
		seen[path] = true
		if !recordsDecisions[path] {
			t.Errorf("gatehouse %s changed the store and printed no record of the change (Factory.Result)", path)
		}
	}
}

// checkSchemasCovered fails t unless the scripts checked the real output
// of every command that prints JSON against its schema. It runs only when
// every script ran.
func checkSchemasCovered(t *testing.T) {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" && f.Value.String() != t.Name() && f.Value.String() != "^"+t.Name()+"$" {
		return
	}
	if t.Failed() {
		return
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	for path, o := range commandOutputs {
		if o.kind != outputNone && !schemaChecked[path] && schemaCheckedElsewhere[path] == "" {
			t.Errorf("no script checks the JSON output of gatehouse %s against its schema (jsonschema %s)", path, path)
		}
	}
}

// TestSchemaCatchesDrift: the schemas are strict enough that a renamed,
// missing or extra field, or a value of the wrong type, fails.
func TestSchemaCatchesDrift(t *testing.T) {
	s, err := compileSchema("gatehouse_users_add.json")
	if err != nil {
		t.Fatal(err)
	}
	good := `{"changed":true,"id":1,"name":"ann","kind":"local","email":"","enabled":true,"msp_admin":false,"pending":true,
		"created_at":"2026-11-01T00:00:00Z","created_via":"manual","created_by":"alice","roles":[],"scopes":[],"groups":[],"orgs":[],
		"sso_exempt":false,"sso_issuer":"","sso_subject":"","last_signin_at":null,"locked_until":null}`
	var base map[string]any
	if err := json.Unmarshal([]byte(good), &base); err != nil {
		t.Fatal(err)
	}
	for k := range s.Properties {
		if _, ok := base[k]; !ok {
			t.Fatalf("the test's record lacks %q: update it", k)
		}
	}
	check := func(name string, edit func(map[string]any), wantOK bool) {
		v := map[string]any{}
		for k, x := range base {
			v[k] = x
		}
		edit(v)
		b, _ := json.Marshal(v)
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := s.Validate(doc); (err == nil) != wantOK {
			t.Errorf("%s: valid = %v, want %v (%v)", name, err == nil, wantOK, err)
		}
	}
	check("as printed", func(map[string]any) {}, true)
	check("renamed", func(v map[string]any) { v["nme"] = v["name"]; delete(v, "name") }, false)
	check("missing changed", func(v map[string]any) { delete(v, "changed") }, false)
	check("extra", func(v map[string]any) { v["password"] = "x" }, false)
	check("wrong type", func(v map[string]any) { v["id"] = "1" }, false)
	check("bad time", func(v map[string]any) { v["created_at"] = "yesterday" }, false)
}
