package caifake

import (
	"context"
	"maps"
	"strings"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const fixture = `{"name":"//cloudresourcemanager.googleapis.com/projects/10","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"proj-ten","projectNumber":"10"}},"ancestors":["projects/10","folders/2","organizations/1"]}
{"name":"//cloudresourcemanager.googleapis.com/projects/20","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"proj-twenty","projectNumber":"20"}},"iam_policy":{"bindings":[{"role":"roles/viewer","members":["user:a@x"]}]},"ancestors":["projects/20","organizations/1"]}

{"name":"//run.googleapis.com/projects/proj-ten/locations/l/services/a","assetType":"run.googleapis.com/Service","resource":{"data":{}},"ancestors":["projects/10","folders/2","organizations/1"]}
{"name":"//run.googleapis.com/projects/proj-ten/locations/l/services/b","asset_type":"run.googleapis.com/Service","resource":{"data":{}},"ancestors":["projects/10","folders/2","organizations/1"]}
{"name":"//run.googleapis.com/projects/proj-twenty/locations/l/services/c","asset_type":"run.googleapis.com/Service","resource":{"data":{}},"ancestors":["projects/20","organizations/1"]}
{"name":"//run.googleapis.com/projects/proj-ten/locations/l/services/a","asset_type":"run.googleapis.com/Service","iam_policy":{"bindings":[]},"ancestors":["projects/10","folders/2","organizations/1"]}
`

func newFixture(t *testing.T) *Server {
	t.Helper()
	assets, err := Load(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) != 6 {
		t.Fatalf("loaded %d assets, want 6 (the blank line skipped)", len(assets))
	}
	return New(assets)
}

// names pages through a query with page size 1 and returns the names.
func names(t *testing.T, s *Server, req *assetpb.ListAssetsRequest) []string {
	t.Helper()
	req.PageSize = 1
	var out []string
	for {
		resp, err := s.ListAssets(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetAssets() {
			if req.ContentType == assetpb.ContentType_RESOURCE && (a.GetResource() == nil || a.GetIamPolicy() != nil) ||
				req.ContentType == assetpb.ContentType_IAM_POLICY && (a.GetIamPolicy() == nil || a.GetResource() != nil) {
				t.Errorf("%s: wrong content for %s", a.GetName(), req.ContentType)
			}
			out = append(out, strings.TrimPrefix(a.GetName(), "//"))
		}
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func TestListAssetsFilters(t *testing.T) {
	s := newFixture(t)
	svc := []string{"run.googleapis.com/Service"}
	tests := []struct {
		name string
		req  *assetpb.ListAssetsRequest
		want string
	}{
		{"org resources", &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_RESOURCE},
			"cloudresourcemanager.googleapis.com/projects/10 cloudresourcemanager.googleapis.com/projects/20 run.googleapis.com/projects/proj-ten/locations/l/services/a run.googleapis.com/projects/proj-ten/locations/l/services/b run.googleapis.com/projects/proj-twenty/locations/l/services/c"},
		{"org policies", &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_IAM_POLICY},
			"cloudresourcemanager.googleapis.com/projects/20 run.googleapis.com/projects/proj-ten/locations/l/services/a"},
		{"by type", &assetpb.ListAssetsRequest{Parent: "organizations/1", AssetTypes: svc, ContentType: assetpb.ContentType_RESOURCE},
			"run.googleapis.com/projects/proj-ten/locations/l/services/a run.googleapis.com/projects/proj-ten/locations/l/services/b run.googleapis.com/projects/proj-twenty/locations/l/services/c"},
		{"folder", &assetpb.ListAssetsRequest{Parent: "folders/2", AssetTypes: svc, ContentType: assetpb.ContentType_RESOURCE},
			"run.googleapis.com/projects/proj-ten/locations/l/services/a run.googleapis.com/projects/proj-ten/locations/l/services/b"},
		{"project by id", &assetpb.ListAssetsRequest{Parent: "projects/proj-twenty", ContentType: assetpb.ContentType_RESOURCE},
			"cloudresourcemanager.googleapis.com/projects/20 run.googleapis.com/projects/proj-twenty/locations/l/services/c"},
		{"project by number", &assetpb.ListAssetsRequest{Parent: "projects/20", AssetTypes: svc, ContentType: assetpb.ContentType_RESOURCE},
			"run.googleapis.com/projects/proj-twenty/locations/l/services/c"},
		{"other org", &assetpb.ListAssetsRequest{Parent: "organizations/9", ContentType: assetpb.ContentType_RESOURCE}, ""},
		{"other content", &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_ORG_POLICY}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(names(t, s, tc.req), " "); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestListAssetsRejects(t *testing.T) {
	s := newFixture(t)
	first, err := s.ListAssets(context.Background(), &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_RESOURCE, PageSize: 2})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, token %q", err, first.GetNextPageToken())
	}
	tests := []struct {
		name string
		req  *assetpb.ListAssetsRequest
	}{
		{"page size over 1000", &assetpb.ListAssetsRequest{Parent: "organizations/1", PageSize: 1001}},
		{"bad parent", &assetpb.ListAssetsRequest{Parent: "orgs/1"}},
		{"folder by name", &assetpb.ListAssetsRequest{Parent: "folders/eng"}},
		{"garbage token", &assetpb.ListAssetsRequest{Parent: "organizations/1", PageToken: "nope"}},
		{"token of another query", &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_IAM_POLICY, PageToken: first.GetNextPageToken()}},
	}
	for _, tc := range tests {
		if _, err := s.ListAssets(context.Background(), tc.req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: err %v, want InvalidArgument", tc.name, err)
		}
	}
}

func TestFaults(t *testing.T) {
	s := newFixture(t)
	s.Inject(Fault{AssetType: "run.googleapis.com/Service", Code: codes.Unavailable, Times: 2})
	s.Inject(Fault{Parent: "folders/2", Code: codes.PermissionDenied})
	svc := &assetpb.ListAssetsRequest{Parent: "organizations/1", AssetTypes: []string{"run.googleapis.com/Service"}, ContentType: assetpb.ContentType_RESOURCE}
	var got []codes.Code
	for range 3 {
		_, err := s.ListAssets(context.Background(), svc)
		got = append(got, status.Code(err))
	}
	if want := []codes.Code{codes.Unavailable, codes.Unavailable, codes.OK}; !equal(got, want) {
		t.Errorf("burst: codes %v, want %v", got, want)
	}
	// Other streams are untouched; the denial is permanent.
	if _, err := s.ListAssets(context.Background(), &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_IAM_POLICY}); err != nil {
		t.Errorf("unrelated stream failed: %v", err)
	}
	for range 2 {
		if _, err := s.ListAssets(context.Background(), &assetpb.ListAssetsRequest{Parent: "folders/2"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("denied parent: %v", err)
		}
	}
	st := s.Stats()
	if st.Calls != 6 || st.Pages != 2 || st.Failed[codes.Unavailable] != 2 || st.Failed[codes.PermissionDenied] != 2 {
		t.Errorf("stats %+v", st)
	}
}

func equal(a, b []codes.Code) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoadNamesTheBadLine(t *testing.T) {
	_, err := Load(strings.NewReader("{\"name\":\"x\"}\n{oops\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

// TestMetadataRecorded sends calls over real gRPC with and without a quota
// project header and reads back what the server saw.
func TestMetadataRecorded(t *testing.T) {
	s := newFixture(t)
	addr, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl := assetpb.NewAssetServiceClient(conn)
	req := &assetpb.ListAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_RESOURCE}
	for _, md := range [][]string{
		{"x-goog-user-project", "quota-a"},
		{"X-Goog-User-Project", "quota-a", "authorization", "Bearer secret"},
		{"x-goog-user-project", "quota-b"},
		nil,
	} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), md...)
		if _, err := cl.ListAssets(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	// A failed call is recorded too: it used quota all the same.
	if _, err := cl.ListAssets(metadata.AppendToOutgoingContext(context.Background(), "x-goog-user-project", "quota-b"), &assetpb.ListAssetsRequest{Parent: "orgs/1"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad parent: %v", err)
	}
	if got, want := s.Metadata("X-Goog-User-Project"), map[string]int{"quota-a": 2, "quota-b": 2}; !maps.Equal(got, want) {
		t.Errorf("x-goog-user-project seen %v, want %v", got, want)
	}
	if got := s.Metadata("authorization"); len(got) != 0 {
		t.Errorf("credentials recorded: %v", got)
	}
	if got := s.Metadata("x-absent"); len(got) != 0 {
		t.Errorf("absent key seen %v", got)
	}
	s.ResetStats()
	if got := s.Metadata("x-goog-user-project"); len(got) != 0 {
		t.Errorf("after ResetStats: %v", got)
	}
}
