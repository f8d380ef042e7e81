package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	auditpb "google.golang.org/genproto/googleapis/cloud/audit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/runaudit/runaudit/internal/inventory"
)

// ReadFile reads log entries as `gcloud logging read --format=json` writes
// them (a JSON array), or one entry per line as a sink exports them to
// Cloud Storage, and returns the deploy events among them. An entry that
// cannot be decoded is skipped and reported with its line; a file that is
// not JSON at all is an error naming it.
func ReadFile(path string) ([]Event, []inventory.Skip, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading audit log file %s: %w", path, err)
	}
	return parseEntries(path, b)
}

func parseEntries(path string, b []byte) ([]Event, []inventory.Skip, error) {
	var events []Event
	var skips []inventory.Skip
	lineAt := func(off int64) int { return 1 + bytes.Count(b[:off], []byte{'\n'}) }
	dec := json.NewDecoder(bytes.NewReader(b))
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	array := len(trimmed) > 0 && trimmed[0] == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, nil, fmt.Errorf("audit log file %s: %w", path, err)
		}
	}
	for {
		if array && !dec.More() {
			break
		}
		off := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if !array && errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, fmt.Errorf("audit log file %s:%d: not a JSON array or one entry per line: %w", path, lineAt(dec.InputOffset()), err)
		}
		// The entry starts after any whitespace the decoder skipped.
		start := off + int64(len(b[off:])-len(bytes.TrimLeft(b[off:], " \t\r\n,")))
		where := fmt.Sprintf("%s:%d", path, lineAt(start))
		ev, ok, err := decodeEntry(raw)
		if err != nil {
			skips = append(skips, inventory.Skip{Where: where, Reason: "audit log entry: " + err.Error()})
			continue
		}
		if ok {
			events = append(events, ev)
		}
	}
	return events, skips, nil
}

// decodeEntry decodes one entry in the API's JSON form. Only what the
// audit reads is kept: status details and service data may hold types no
// resolver here knows, and a Struct's "@type" keys stay keys.
func decodeEntry(raw []byte) (Event, bool, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return Event{}, false, err
	}
	pp, _ := m["protoPayload"].(map[string]any)
	if pp == nil {
		return Event{}, false, nil // a text or JSON payload: not an audit entry
	}
	if t, _ := pp["@type"].(string); t != "type.googleapis.com/google.cloud.audit.AuditLog" {
		return Event{}, false, nil
	}
	delete(m, "protoPayload")
	if st, ok := pp["status"].(map[string]any); ok {
		delete(st, "details")
	}
	delete(pp, "serviceData")
	delete(pp, "@type")
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	var entry loggingpb.LogEntry
	eb, _ := json.Marshal(m)
	if err := opts.Unmarshal(eb, &entry); err != nil {
		return Event{}, false, err
	}
	var al auditpb.AuditLog
	pb, _ := json.Marshal(pp)
	if err := opts.Unmarshal(pb, &al); err != nil {
		return Event{}, false, fmt.Errorf("protoPayload: %w", err)
	}
	return fromAudit(&entry, &al)
}
