package notify_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// The OCSF schema files in testdata/ocsf are copied from
// github.com/ocsf/ocsf-schema at the commit in testdata/ocsf/COMMIT
// (Apache-2.0, testdata/ocsf/LICENSE and NOTICE).

type ocsfAttr struct {
	Requirement string                     `json:"requirement"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

type ocsfDef struct {
	UID         int                 `json:"uid"`
	Name        string              `json:"name"`
	Extends     string              `json:"extends"`
	Category    string              `json:"category"`
	Attributes  map[string]ocsfAttr `json:"-"`
	Constraints struct {
		AtLeastOne []string `json:"at_least_one"`
	} `json:"constraints"`
}

func loadDef(t *testing.T, path string) ocsfDef {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ocsf", path))
	if err != nil {
		t.Fatal(err)
	}
	var d ocsfDef
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	json.Unmarshal(b, &raw)
	d.Attributes = map[string]ocsfAttr{}
	for k, v := range raw.Attributes {
		var a ocsfAttr
		if json.Unmarshal(v, &a) == nil {
			d.Attributes[k] = a
		}
	}
	return d
}

// merged is a class's attributes with those of what it extends: a later
// definition's requirement and enum win, as the schema compiler's do.
func merged(defs ...ocsfDef) map[string]ocsfAttr {
	out := map[string]ocsfAttr{}
	for _, d := range defs {
		for k, a := range d.Attributes {
			o := out[k]
			if a.Requirement != "" {
				o.Requirement = a.Requirement
			}
			if a.Enum != nil {
				if o.Enum == nil {
					o.Enum = map[string]json.RawMessage{}
				}
				maps.Copy(o.Enum, a.Enum)
			}
			out[k] = o
		}
	}
	return out
}

type dictAttr struct {
	Type string                     `json:"type"`
	Enum map[string]json.RawMessage `json:"enum"`
}

// checkValue checks v against the dictionary type of name.
func checkValue(dict map[string]dictAttr, name string, v any) error {
	d, ok := dict[name]
	if !ok {
		return fmt.Errorf("%s is not in the dictionary", name)
	}
	switch d.Type {
	case "integer_t", "long_t", "timestamp_t":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s is %T %v, want an integer (%s)", name, v, v, d.Type)
		}
	case "string_t":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s is %T, want a string", name, v)
		}
	default: // an object
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%s is %T, want an object (%s)", name, v, d.Type)
		}
	}
	return nil
}

// Every OCSF payload holds every attribute its class requires, with the
// dictionary's type, known enum values, and the IDs that follow from the
// class (category_uid, class_uid, type_uid); its objects meet their own
// requirements and constraints.
func TestOCSFPayloadsMeetSchema(t *testing.T) {
	base := loadDef(t, "events/base_event.json")
	iam := loadDef(t, "events/iam/iam.json")
	classes := map[int]ocsfDef{}
	var cats struct {
		Attributes map[string]struct {
			UID int `json:"uid"`
		} `json:"attributes"`
	}
	b, _ := os.ReadFile("testdata/ocsf/categories.json")
	if err := json.Unmarshal(b, &cats); err != nil {
		t.Fatal(err)
	}
	iamUID := cats.Attributes["iam"].UID
	for _, f := range []string{"events/iam/authentication.json", "events/iam/account_change.json"} {
		d := loadDef(t, f)
		classes[iamUID*1000+d.UID] = d
	}
	if _, ok := classes[3002]; !ok || classes[3002].Name != "authentication" || classes[3001].Name != "account_change" {
		t.Fatalf("schema classes: %v", classes)
	}
	var dictFile struct {
		Attributes map[string]dictAttr `json:"attributes"`
	}
	b, _ = os.ReadFile("testdata/ocsf/dictionary.json")
	if err := json.Unmarshal(b, &dictFile); err != nil {
		t.Fatal(err)
	}
	dict := dictFile.Attributes
	var version struct{ Version string }
	b, _ = os.ReadFile("testdata/ocsf/version.json")
	json.Unmarshal(b, &version)
	objects := map[string]map[string]ocsfAttr{}
	constraints := map[string][]string{}
	entity := loadDef(t, "objects/_entity.json")
	for _, o := range []string{"metadata", "product", "user"} {
		d := loadDef(t, "objects/"+o+".json")
		objects[o] = merged(entity, d)
		constraints[o] = d.Constraints.AtLeastOne
		if d.Extends == "_entity" && constraints[o] == nil {
			constraints[o] = entity.Constraints.AtLeastOne
		}
	}

	cases := []struct {
		action   string
		outcome  gatehouse.Outcome
		class    int
		activity int
	}{
		{"signin.success", gatehouse.OutcomeSuccess, 3002, 1},
		{"signin.denied", gatehouse.OutcomeDenied, 3002, 1},
		{"login.denied", gatehouse.OutcomeDenied, 3002, 1},
		{"support.logon", gatehouse.OutcomeDenied, 3002, 1},
		{"support.logon", gatehouse.OutcomeSuccess, 3002, 1},
		{"user.auto_create", gatehouse.OutcomeSuccess, 3001, 1},
		{"user.add", gatehouse.OutcomeSuccess, 3001, 1},
		{"support.reenable", gatehouse.OutcomeSuccess, 3001, 2},
		{"user.password", gatehouse.OutcomeSuccess, 3001, 3},
		{"support.request", gatehouse.OutcomeSuccess, 3001, 4},
		{"user.disable", gatehouse.OutcomeSuccess, 3001, 5},
		{"user.assign", gatehouse.OutcomeSuccess, 3001, 7},
		{"user.unassign", gatehouse.OutcomeSuccess, 3001, 8},
		{"user.unlock", gatehouse.OutcomeSuccess, 3001, 12},
		{"sso.require", gatehouse.OutcomeSuccess, 0, 99},
		{"notify.add", gatehouse.OutcomeDenied, 0, 99},
	}
	for _, c := range cases {
		t.Run(c.action+"/"+string(c.outcome), func(t *testing.T) {
			ev := &gatehouse.Event{Seq: 7, Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Actor: "alice",
				Action: c.action, Target: "ann@example.com", Outcome: c.outcome, Details: json.RawMessage(`{"reason":"r"}`)}
			m, err := notify.NewMessage(gatehouse.FormatOCSF, notify.Source{StoreID: "0123456789abcdef", Version: "v1.2.3"}, ev)
			if err != nil {
				t.Fatal(err)
			}
			var p map[string]any
			if err := json.Unmarshal(m.Body, &p); err != nil {
				t.Fatal(err)
			}
			num := func(k string) int { f, _ := p[k].(float64); return int(f) }
			if num("class_uid") != c.class || num("activity_id") != c.activity {
				t.Fatalf("class %d activity %d, want %d %d", num("class_uid"), num("activity_id"), c.class, c.activity)
			}
			attrs := merged(base)
			wantCategory := 0
			if c.class != 0 {
				attrs = merged(base, iam, classes[c.class])
				wantCategory = iamUID
			}
			if num("category_uid") != wantCategory {
				t.Errorf("category_uid %d, want %d", num("category_uid"), wantCategory)
			}
			if num("type_uid") != c.class*100+c.activity {
				t.Errorf("type_uid %d, want %d", num("type_uid"), c.class*100+c.activity)
			}
			for name, a := range attrs {
				if _, ok := p[name]; a.Requirement == "required" && !ok {
					t.Errorf("required attribute %s is missing", name)
				}
			}
			for name, v := range p {
				a, ok := attrs[name]
				if !ok {
					t.Errorf("attribute %s is not in the class", name)
					continue
				}
				if err := checkValue(dict, name, v); err != nil {
					t.Error(err)
				}
				enum := a.Enum
				if enum == nil {
					enum = dict[name].Enum
				} else if name != "activity_id" && name != "class_uid" && name != "category_uid" {
					enum = merged(ocsfDef{Attributes: map[string]ocsfAttr{name: {Enum: dict[name].Enum}}}, ocsfDef{Attributes: map[string]ocsfAttr{name: {Enum: a.Enum}}})[name].Enum
				}
				if f, isNum := v.(float64); isNum && enum != nil && name != "class_uid" && name != "category_uid" {
					if _, ok := enum[strconv.Itoa(int(f))]; !ok {
						t.Errorf("%s = %v is not one of its enum's values", name, v)
					}
				}
			}
			if p["status"] != map[bool]string{true: "Success", false: "Failure"}[c.outcome == gatehouse.OutcomeSuccess] {
				t.Errorf("status %v for outcome %s", p["status"], c.outcome)
			}
			if tm, _ := p["time"].(float64); int64(tm) != ev.Time.UnixMilli() {
				t.Errorf("time %v, want %d (ms)", p["time"], ev.Time.UnixMilli())
			}
			// The objects.
			checkObject := func(kind string, o any) {
				obj, ok := o.(map[string]any)
				if !ok {
					t.Errorf("%s is not an object", kind)
					return
				}
				for name, a := range objects[kind] {
					if _, ok := obj[name]; a.Requirement == "required" && !ok {
						t.Errorf("%s.%s is required and missing", kind, name)
					}
				}
				for name, v := range obj {
					if _, ok := objects[kind][name]; !ok {
						t.Errorf("%s.%s is not an attribute of %s", kind, name, kind)
					} else if err := checkValue(dict, name, v); err != nil {
						t.Errorf("%s.%v", kind, err)
					}
				}
				if at := constraints[kind]; at != nil {
					found := false
					for _, name := range at {
						_, ok := obj[name]
						found = found || ok
					}
					if !found {
						t.Errorf("%s holds none of %v", kind, at)
					}
				}
			}
			meta := p["metadata"].(map[string]any)
			checkObject("metadata", meta)
			checkObject("product", meta["product"])
			if meta["version"] != version.Version || meta["uid"] != "evt_0123456789abcdef_7" {
				t.Errorf("metadata version %v uid %v", meta["version"], meta["uid"])
			}
			if c.class != 0 {
				checkObject("user", p["user"])
				actor, _ := p["actor"].(map[string]any)
				checkObject("user", actor["user"])
			}
		})
	}
}
