// Package loggingtest is an in-process fake of the Cloud Logging API's
// ListLogEntries for tests, behaving as documented: parents are projects
// or log views, page_size above 1,000 is refused, pages continue with a
// token, and a parent can be refused with a chosen code. It applies the
// parts of the filter the audit sends (time window, log ids, method
// pattern). Tests dial it with the real client.
package loggingtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	_ "google.golang.org/genproto/googleapis/cloud/audit" // resolves the AuditLog payload
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/runaudit/runaudit/internal/grpcfake"
)

// Server serves log entries by parent resource name ("projects/P" or a
// view's name). Set its fields before Start.
type Server struct {
	loggingpb.UnimplementedLoggingServiceV2Server

	// Entries holds each parent's entries.
	Entries map[string][]*loggingpb.LogEntry
	// Refuse answers requests naming these parents with this code.
	Refuse map[string]codes.Code
	// PageCap bounds the entries of a page below the page size asked for
	// (0: none), as the API may return fewer.
	PageCap int

	mu       sync.Mutex
	requests []*loggingpb.ListLogEntriesRequest
}

// Start serves on a local port until the test ends and returns the address.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	return grpcfake.Serve(t, func(g *grpc.Server) {
		loggingpb.RegisterLoggingServiceV2Server(g, s)
	})
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*loggingpb.ListLogEntriesRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*loggingpb.ListLogEntriesRequest{}, s.requests...)
}

var (
	projectName = regexp.MustCompile(`^projects/[a-z0-9-]+$`)
	viewName    = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/buckets/[^/]+/views/[^/]+$`)
	windowRe    = regexp.MustCompile(`timestamp>="([^"]+)" AND timestamp<"([^"]+)"`)
	methodRe    = regexp.MustCompile(`protoPayload\.methodName=~"((?:[^"\\]|\\.)*)"`)
)

// ListLogEntries implements the service.
func (s *Server) ListLogEntries(ctx context.Context, req *loggingpb.ListLogEntriesRequest) (*loggingpb.ListLogEntriesResponse, error) {
	s.mu.Lock()
	s.requests = append(s.requests, proto.Clone(req).(*loggingpb.ListLogEntriesRequest))
	s.mu.Unlock()
	if len(req.GetResourceNames()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "resource_names is required")
	}
	if req.GetPageSize() < 0 || req.GetPageSize() > 1000 {
		return nil, status.Errorf(codes.InvalidArgument, "page_size %d: must be at most 1000", req.GetPageSize())
	}
	for _, n := range req.GetResourceNames() {
		if !projectName.MatchString(n) && !viewName.MatchString(n) {
			return nil, status.Errorf(codes.InvalidArgument, "invalid resource name %q", n)
		}
		if c, ok := s.Refuse[n]; ok {
			return nil, status.Errorf(c, "the caller does not have permission to read %s (logging.logEntries.list)", n)
		}
	}
	w := windowRe.FindStringSubmatch(req.GetFilter())
	if w == nil {
		return nil, status.Error(codes.InvalidArgument, "filter lacks the timestamp window the audit sends")
	}
	since, err1 := time.Parse(time.RFC3339, w[1])
	until, err2 := time.Parse(time.RFC3339, w[2])
	if err1 != nil || err2 != nil {
		return nil, status.Errorf(codes.InvalidArgument, "bad timestamps in filter: %v %v", err1, err2)
	}
	var method *regexp.Regexp
	if m := methodRe.FindStringSubmatch(req.GetFilter()); m != nil {
		var err error
		if method, err = regexp.Compile(strings.ReplaceAll(m[1], `\\`, `\`)); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "methodName pattern: %v", err)
		}
	}
	var all []*loggingpb.LogEntry
	for _, n := range req.GetResourceNames() {
		for _, e := range s.Entries[n] {
			t := e.GetTimestamp().AsTime()
			if t.Before(since) || !t.Before(until) || !s.keep(e, method) {
				continue
			}
			all = append(all, e)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].GetTimestamp().AsTime().Before(all[j].GetTimestamp().AsTime()) })
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50 // the documented default
	}
	if s.PageCap > 0 && s.PageCap < size {
		size = s.PageCap
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "o"))
		if err != nil || !strings.HasPrefix(tok, "o") || n > len(all) {
			return nil, status.Errorf(codes.InvalidArgument, "invalid page token %q", tok)
		}
		start = n
	}
	end := min(start+size, len(all))
	resp := &loggingpb.ListLogEntriesResponse{Entries: all[start:end]}
	if end < len(all) {
		resp.NextPageToken = fmt.Sprintf("o%d", end)
	}
	return resp, nil
}

// keep applies the log-id and method parts of the audit's filter.
func (s *Server) keep(e *loggingpb.LogEntry, method *regexp.Regexp) bool {
	switch {
	case strings.HasSuffix(e.GetLogName(), "cloudaudit.googleapis.com%2Factivity"):
		if method == nil {
			return true
		}
		var m struct {
			MethodName string `json:"methodName"`
		}
		b, _ := protojson.Marshal(e.GetProtoPayload())
		json.Unmarshal(b, &m)
		return method.MatchString(m.MethodName)
	case strings.HasSuffix(e.GetLogName(), "cloudaudit.googleapis.com%2Fsystem_event"):
		return true
	}
	return false
}

// Load reads entries in the API's JSON form (a JSON array, as gcloud
// logging read --format=json writes) and groups them by the project of
// their log name.
func Load(path string) (map[string][]*loggingpb.LogEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]*loggingpb.LogEntry{}
	for i, r := range raws {
		var e loggingpb.LogEntry
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", path, i, err)
		}
		parts := strings.SplitN(e.GetLogName(), "/", 3)
		out[parts[0]+"/"+parts[1]] = append(out[parts[0]+"/"+parts[1]], &e)
	}
	return out, nil
}
