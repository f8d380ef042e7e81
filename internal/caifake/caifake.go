// Package caifake is an in-process fake of the Cloud Asset Inventory
// AssetService, for tests and for running the live collection by hand. It
// serves a fixed set of assets through ListAssets over real gRPC, with real
// paging by page_token, filtering by parent, asset_types and content_type,
// and it can add latency to every page and inject error bursts or
// permanent denials into chosen streams. It records the request metadata
// the calls carry (such as x-goog-user-project, the quota project).
//
// With EnableExport it also answers ExportAssets, writing the export
// shards into Cloud Storage (fake-gcs-server in tests) as the real service
// does, and serves the google.longrunning Operations the client polls;
// exports can be slowed, refused or made to fail mid-way (export.go).
//
// Cloud Asset Inventory has no emulator; the real client dials this server
// with the emulator-host convention (plaintext, no credentials).
package caifake

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Page sizes, as the real service documents them: 100 when unset, at most
// 1,000.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Fault makes matching ListAssets calls fail. Empty fields match anything.
type Fault struct {
	// AssetType matches requests that name this asset type (or name none).
	AssetType string
	// ContentType matches requests for this content type;
	// CONTENT_TYPE_UNSPECIFIED matches any.
	ContentType assetpb.ContentType
	// Parent matches requests for this parent, as sent.
	Parent string
	// AfterPages lets the first AfterPages pages of a stream through and
	// fails the calls for later pages: a stream that breaks half way.
	AfterPages int
	// Code is the gRPC status code returned; OK with a Delay slows the
	// matching calls down instead of failing them.
	Code codes.Code
	// Delay holds each matching call this long before it is answered (or
	// failed), on top of the server's latency.
	Delay time.Duration
	// Times is how many matching calls fail before the fault clears (a
	// burst); 0 fails every matching call.
	Times int
}

// Stats counts what the server did.
type Stats struct {
	// Calls counts every ListAssets call, failed or not.
	Calls int
	// Pages counts successful calls; Assets the assets they returned.
	Pages  int
	Assets int
	// Failed counts injected and rejected calls by status code.
	Failed map[codes.Code]int
	// MaxPageSize is the largest page_size any request asked for.
	MaxPageSize int
}

// Server is the fake AssetService. Its methods are safe for concurrent use.
type Server struct {
	assetpb.UnimplementedAssetServiceServer

	resources []*assetpb.Asset // resource content, in input order
	policies  []*assetpb.Asset // IAM policy content, in input order
	// projectIDs maps project ids to numbers, for parents named by id.
	projectIDs map[string]string

	mu        sync.Mutex
	latency   time.Duration
	pageLimit int
	faults    []*fault
	queries   map[string][]*assetpb.Asset
	stats     Stats
	export    exporter
	// seen counts, per request metadata key, the calls carrying each value.
	seen map[string]map[string]int

	grpc *grpc.Server
	lis  net.Listener
}

type fault struct {
	Fault
	fired int
}

// New returns a server holding assets. An asset carrying both a resource
// and an IAM policy is served under both content types; export files carry
// them on separate lines, which works the same.
func New(assets []*assetpb.Asset) *Server {
	s := &Server{projectIDs: map[string]string{}, queries: map[string][]*assetpb.Asset{}, stats: Stats{Failed: map[codes.Code]int{}}, seen: map[string]map[string]int{},
		export: exporter{ops: map[string]*longrunningpb.Operation{}, stop: make(chan struct{})}}
	for _, a := range assets {
		if a.GetResource() != nil {
			r := proto.CloneOf(a)
			r.IamPolicy = nil
			s.resources = append(s.resources, r)
			if a.GetAssetType() == "cloudresourcemanager.googleapis.com/Project" {
				f := a.GetResource().GetData().GetFields()
				if id, num := f["projectId"].GetStringValue(), f["projectNumber"].GetStringValue(); id != "" && num != "" {
					s.projectIDs[id] = num
				}
			}
		}
		if a.GetIamPolicy() != nil {
			p := proto.CloneOf(a)
			p.Resource = nil
			s.policies = append(s.policies, p)
		}
	}
	return s
}

// Load reads assets from CAI export NDJSON (gzip or plain, snake_case or
// camelCase), one asset per line; blank lines are ignored.
func Load(r io.Reader) ([]*assetpb.Asset, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	var out []*assetpb.Asset
	for line := 1; ; line++ {
		l, err := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(l))) > 0 {
			a := &assetpb.Asset{}
			if uerr := opts.Unmarshal(l, a); uerr != nil {
				return nil, fmt.Errorf("line %d: %w", line, uerr)
			}
			out = append(out, a)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("after line %d: %w", line, err)
		}
	}
}

// SetPageLimit makes every page hold at most n assets, whatever page_size
// asks: a service may return fewer results than asked (AIP-158), and small
// pages let tests cut a stream part way. n ≤ 0 removes the limit.
func (s *Server) SetPageLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageLimit = n
}

// SetLatency delays every ListAssets call by d, as a slow page would.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Inject adds a fault; faults are tried in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{Fault: f})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Failed = make(map[codes.Code]int, len(s.stats.Failed))
	for k, v := range s.stats.Failed {
		st.Failed[k] = v
	}
	return st
}

// ResetStats zeroes the counters and forgets the metadata seen.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{Failed: map[codes.Code]int{}}
	s.seen = map[string]map[string]int{}
}

// Metadata returns how many ListAssets calls carried each value of the
// request metadata key (gRPC metadata keys are lower case, e.g.
// "x-goog-user-project"); calls without the key are not counted.
// Credentials ("authorization") are never recorded.
func (s *Server) Metadata(key string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for v, n := range s.seen[strings.ToLower(key)] {
		out[v] = n
	}
	return out
}

// record counts the metadata of one call.
func (s *Server) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, vs := range md {
		if k == "authorization" {
			continue
		}
		if s.seen[k] == nil {
			s.seen[k] = map[string]int{}
		}
		for _, v := range vs {
			s.seen[k][v]++
		}
	}
}

// Start serves on addr ("127.0.0.1:0" for a free port) until Stop, and
// returns the address it listens on.
func (s *Server) Start(addr string) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w", addr, err)
	}
	s.lis = lis
	s.grpc = grpc.NewServer()
	assetpb.RegisterAssetServiceServer(s.grpc, s)
	longrunningpb.RegisterOperationsServer(s.grpc, &operations{s: s})
	go s.grpc.Serve(lis)
	return lis.Addr().String(), nil
}

// Stop ends serving, cutting open calls and abandoning running exports.
func (s *Server) Stop() {
	s.mu.Lock()
	select {
	case <-s.export.stop:
	default:
		close(s.export.stop)
	}
	s.mu.Unlock()
	if s.grpc != nil {
		s.grpc.Stop()
	}
}

// ListAssets serves one page.
func (s *Server) ListAssets(ctx context.Context, req *assetpb.ListAssetsRequest) (*assetpb.ListAssetsResponse, error) {
	s.record(ctx)
	s.mu.Lock()
	s.stats.Calls++
	s.stats.MaxPageSize = max(s.stats.MaxPageSize, int(req.GetPageSize()))
	latency, limit := s.latency, s.pageLimit
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, s.fail(status.FromContextError(ctx.Err()).Err())
		}
	}

	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > MaxPageSize:
		return nil, s.fail(status.Errorf(codes.InvalidArgument, "page_size must be between 1 and %d, got %d", MaxPageSize, size))
	case size == 0:
		size = DefaultPageSize
	}
	if limit > 0 {
		size = min(size, limit)
	}
	key := queryKey(req)
	offset, page := 0, 0
	if tok := req.GetPageToken(); tok != "" {
		var err error
		if offset, page, err = parseToken(tok, key); err != nil {
			return nil, s.fail(status.Errorf(codes.InvalidArgument, "invalid page_token: %v", err))
		}
	}
	delay, err := s.inject(req, page)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, s.fail(status.FromContextError(ctx.Err()).Err())
		}
	}
	if err != nil {
		return nil, s.fail(err)
	}
	all, err := s.query(req, key)
	if err != nil {
		return nil, s.fail(err)
	}
	if offset > len(all) {
		return nil, s.fail(status.Error(codes.InvalidArgument, "invalid page_token: past the end"))
	}
	end := min(offset+size, len(all))
	resp := &assetpb.ListAssetsResponse{Assets: all[offset:end]}
	if end < len(all) {
		resp.NextPageToken = makeToken(key, end, page+1)
	}
	s.mu.Lock()
	s.stats.Pages++
	s.stats.Assets += end - offset
	s.mu.Unlock()
	return resp, nil
}

func (s *Server) fail(err error) error {
	s.mu.Lock()
	s.stats.Failed[status.Code(err)]++
	s.mu.Unlock()
	return err
}

// inject returns the delay and error of the first fault matching the call.
func (s *Server) inject(req *assetpb.ListAssetsRequest, page int) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		if f.Parent != "" && f.Parent != req.GetParent() ||
			f.ContentType != assetpb.ContentType_CONTENT_TYPE_UNSPECIFIED && f.ContentType != req.GetContentType() ||
			f.AssetType != "" && len(req.GetAssetTypes()) > 0 && !slices.Contains(req.GetAssetTypes(), f.AssetType) ||
			page < f.AfterPages {
			continue
		}
		f.fired++
		if f.Code == codes.OK {
			return f.Delay, nil
		}
		return f.Delay, status.Errorf(f.Code, "caifake: injected %s for %s %v %s page %d", f.Code, req.GetParent(), req.GetAssetTypes(), req.GetContentType(), page)
	}
	return 0, nil
}

// query returns every asset a request selects, in input order, computing
// it once per distinct query so that paging is cheap.
func (s *Server) query(req *assetpb.ListAssetsRequest, key string) ([]*assetpb.Asset, error) {
	s.mu.Lock()
	all, ok := s.queries[key]
	s.mu.Unlock()
	if ok {
		return all, nil
	}
	parent, err := s.normalParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	var src []*assetpb.Asset
	namesOnly := false
	switch req.GetContentType() {
	case assetpb.ContentType_RESOURCE:
		src = s.resources
	case assetpb.ContentType_IAM_POLICY:
		src = s.policies
	case assetpb.ContentType_CONTENT_TYPE_UNSPECIFIED:
		// The real service returns only names and types then.
		src, namesOnly = s.resources, true
	default:
		// Org policies, access policies, OS inventories and relationships:
		// the fake holds none.
	}
	types := req.GetAssetTypes()
	for _, a := range src {
		if len(types) > 0 && !slices.Contains(types, a.GetAssetType()) {
			continue
		}
		if !slices.Contains(a.GetAncestors(), parent) {
			continue
		}
		if namesOnly {
			a = &assetpb.Asset{Name: a.GetName(), AssetType: a.GetAssetType(), Ancestors: a.GetAncestors()}
		}
		all = append(all, a)
	}
	s.mu.Lock()
	s.queries[key] = all
	s.mu.Unlock()
	return all, nil
}

// normalParent checks a parent and puts a project number for a project id,
// as ancestors carry numbers.
func (s *Server) normalParent(p string) (string, error) {
	kind, id, ok := strings.Cut(p, "/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", status.Errorf(codes.InvalidArgument, "parent %q must be organizations/N, folders/N or projects/ID", p)
	}
	switch kind {
	case "organizations", "folders":
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return "", status.Errorf(codes.InvalidArgument, "parent %q: %s take a number", p, kind)
		}
		return p, nil
	case "projects":
		if num, ok := s.projectIDs[id]; ok {
			return "projects/" + num, nil
		}
		return p, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "parent %q must be organizations/N, folders/N or projects/ID", p)
}

// queryKey identifies what a request selects; a page token is only good
// for the query that issued it, as with the real service.
func queryKey(req *assetpb.ListAssetsRequest) string {
	return req.GetParent() + "|" + strings.Join(req.GetAssetTypes(), ",") + "|" + req.GetContentType().String()
}

func makeToken(key string, offset, page int) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%x:%d:%d", h.Sum64(), offset, page))
}

func parseToken(tok, key string) (offset, page int, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, 0, err
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 {
		return 0, 0, fmt.Errorf("malformed")
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	if parts[0] != fmt.Sprintf("%x", h.Sum64()) {
		return 0, 0, fmt.Errorf("issued for a different query")
	}
	if offset, err = strconv.Atoi(parts[1]); err != nil || offset < 0 {
		return 0, 0, fmt.Errorf("malformed offset")
	}
	if page, err = strconv.Atoi(parts[2]); err != nil || page < 0 {
		return 0, 0, fmt.Errorf("malformed page")
	}
	return offset, page, nil
}
