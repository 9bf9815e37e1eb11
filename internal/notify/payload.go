// Package notify sends audited events to the sinks that notification
// rules name (a signed webhook, syslog, a JSON Lines file) and runs the
// forwarder that reads committed events after a stored cursor
// ('gatehouse events forward'). It decides nothing about who may change a
// rule: that is internal/core's.
package notify

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Source names where events come from, in every payload.
type Source struct {
	// StoreID is the store's identity (core.StoreID).
	StoreID string
	// Tenant is the store's tenant, "" for none.
	Tenant string
	// Version is gatehouse's version.
	Version string
}

// EventID is an event's stable ID: the same for every delivery of the
// event to every sink, so that a receiver drops duplicates by it.
func EventID(storeID string, seq int64) string {
	return "evt_" + storeID + "_" + strconv.FormatInt(seq, 10)
}

// Message is an event prepared for one rule's sink.
type Message struct {
	ID    string
	Event *gatehouse.Event
	// Body is the payload: one JSON document on one line.
	Body []byte
}

// GatehousePayload is the gatehouse format: the event as 'audit list -o
// json' prints it, with its ID, type (the action) and source.
type GatehousePayload struct {
	ID        string           `json:"id"`
	Type      string           `json:"type"`
	Timestamp string           `json:"timestamp"`
	StoreID   string           `json:"store_id"`
	Tenant    string           `json:"tenant,omitempty"`
	Data      *gatehouse.Event `json:"data"`
}

// NewMessage builds the message of ev in format.
func NewMessage(format string, src Source, ev *gatehouse.Event) (Message, error) {
	return NewMessageID(format, src, EventID(src.StoreID, ev.Seq), ev)
}

// NewMessageID builds a message of ev with another ID ('notify test').
func NewMessageID(format string, src Source, id string, ev *gatehouse.Event) (Message, error) {
	var v any
	switch format {
	case gatehouse.FormatGatehouse:
		v = GatehousePayload{ID: id, Type: ev.Action, Timestamp: ev.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
			StoreID: src.StoreID, Tenant: src.Tenant, Data: ev}
	case gatehouse.FormatOCSF:
		v = OCSF(src, id, ev)
	default:
		return Message{}, gatehouse.Errorf(gatehouse.EINVALID, "unknown payload format %q", gatehouse.Clip(format, 32))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Message{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "encode event %d: %v", ev.Seq, err)
	}
	return Message{ID: id, Event: ev, Body: b}, nil
}

// OCSF classes, categories and the values gatehouse maps to (OCSF schema,
// internal/notify/testdata/ocsf: events/iam/authentication.json and
// account_change.json; the category is iam, uid 3).
const (
	OCSFVersion = "1.9.0-dev" // the schema version the payloads are checked against

	ocsfCategoryIAM     = 3
	ocsfAccountChange   = 3001
	ocsfAuthentication  = 3002
	ocsfActivityLogon   = 1
	ocsfActivityOther   = 99
	ocsfSeverityInfo    = 1
	ocsfSeverityMedium  = 3
	ocsfStatusSuccess   = 1
	ocsfStatusFailure   = 2
	ocsfCategoryUncateg = 0
	ocsfClassBaseEvent  = 0
)

// accountChange maps actions to the Account Change class's activity_id.
var accountChange = map[string]struct {
	id   int
	name string
}{
	"user.add":         {1, "Create"},
	"user.auto_create": {1, "Create"},
	"user.enable":      {2, "Enable"},
	"support.reenable": {2, "Enable"},
	"user.password":    {3, "Password Change"},
	"support.request":  {4, "Password Reset"},
	"support.rotate":   {4, "Password Reset"},
	"user.disable":     {5, "Disable"},
	"support.revoke":   {5, "Disable"},
	"user.assign":      {7, "Attach Policy"},
	"user.unassign":    {8, "Detach Policy"},
	"user.unlock":      {12, "Unlock"},
}

// authentication are the actions of the Authentication class (Logon).
var authentication = map[string]bool{
	"signin.success": true, "signin.denied": true,
	"login.success": true, "login.denied": true,
	"support.logon": true,
}

// OCSFClass returns the OCSF class and activity an action maps to:
// Authentication (3002) Logon for sign-ins and logons, Account Change
// (3001) for account changes, and the Base Event (0) with activity Other
// for the rest (settings, rules, store maintenance).
func OCSFClass(action string) (classUID, activityID int, activityName string) {
	if authentication[action] {
		return ocsfAuthentication, ocsfActivityLogon, "Logon"
	}
	if a, ok := accountChange[action]; ok {
		return ocsfAccountChange, a.id, a.name
	}
	return ocsfClassBaseEvent, ocsfActivityOther, "Other"
}

// OCSF is ev as an OCSF event.
func OCSF(src Source, id string, ev *gatehouse.Event) map[string]any {
	class, activity, activityName := OCSFClass(ev.Action)
	category, className, categoryName := ocsfCategoryIAM, "", "Identity & Access Management"
	switch class {
	case ocsfAuthentication:
		className = "Authentication"
	case ocsfAccountChange:
		className = "Account Change"
	default:
		category, className, categoryName = ocsfCategoryUncateg, "Base Event", "Uncategorized"
	}
	status, statusID, severity, severityID := "Success", ocsfStatusSuccess, "Informational", ocsfSeverityInfo
	if ev.Outcome != gatehouse.OutcomeSuccess {
		status, statusID, severity, severityID = "Failure", ocsfStatusFailure, "Medium", ocsfSeverityMedium
	}
	raw, _ := json.Marshal(ev)
	out := map[string]any{
		"class_uid":     class,
		"class_name":    className,
		"category_uid":  category,
		"category_name": categoryName,
		"activity_id":   activity,
		"activity_name": activityName,
		"type_uid":      int64(class)*100 + int64(activity),
		"type_name":     fmt.Sprintf("%s: %s", className, activityName),
		"severity_id":   severityID,
		"severity":      severity,
		"status_id":     statusID,
		"status":        status,
		"time":          ev.Time.UnixMilli(),
		"message":       fmt.Sprintf("%s %s by %s: %s", ev.Action, ev.Target, ev.Actor, ev.Outcome),
		"metadata": map[string]any{
			"uid":      id,
			"version":  OCSFVersion,
			"product":  map[string]any{"name": "gatehouse", "vendor_name": "gatehouse", "version": src.Version},
			"log_name": "audit",
			"sequence": ev.Seq,
		},
		"raw_data": string(raw),
	}
	if src.Tenant != "" {
		out["metadata"].(map[string]any)["tenant_uid"] = src.Tenant
	}
	if class != ocsfClassBaseEvent {
		out["user"] = map[string]any{"name": ev.Target}
		out["actor"] = map[string]any{"user": map[string]any{"name": ev.Actor}}
	}
	if reason := detailString(ev.Details, "reason"); reason != "" {
		out["status_detail"] = reason
	}
	return out
}

// detailString reads a string detail of an event, "" when there is none.
func detailString(details json.RawMessage, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(details, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}
