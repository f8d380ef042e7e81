package caifake

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// exportFixture is the fixture server with exports written into an
// in-process fake-gcs-server bucket "b", one asset a shard.
func exportFixture(t *testing.T) (*Server, *storage.Client) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: port, PublicHost: fmt.Sprintf("127.0.0.1:%d", port),
		InitialObjects: []fakestorage.Object{{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: "taken"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)
	t.Setenv("STORAGE_EMULATOR_HOST", gcs.URL())
	cl, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	s := newFixture(t)
	s.EnableExport(cl, 1)
	return s, cl
}

func toGCS(uri string, prefix bool) *assetpb.OutputConfig {
	d := &assetpb.GcsDestination{ObjectUri: &assetpb.GcsDestination_Uri{Uri: uri}}
	if prefix {
		d = &assetpb.GcsDestination{ObjectUri: &assetpb.GcsDestination_UriPrefix{UriPrefix: uri}}
	}
	return &assetpb.OutputConfig{Destination: &assetpb.OutputConfig_GcsDestination{GcsDestination: d}}
}

func readObject(t *testing.T, cl *storage.Client, uri string) string {
	t.Helper()
	bkt, name, _ := strings.Cut(strings.TrimPrefix(uri, "gs://"), "/")
	r, err := cl.Bucket(bkt).Object(name).NewReader(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", uri, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func result(t *testing.T, op *longrunningpb.Operation) []string {
	t.Helper()
	if !op.GetDone() || op.GetError() != nil {
		t.Fatalf("operation %s: done %v, error %v", op.GetName(), op.GetDone(), op.GetError())
	}
	var resp assetpb.ExportAssetsResponse
	if err := op.GetResponse().UnmarshalTo(&resp); err != nil {
		t.Fatal(err)
	}
	return resp.GetOutputResult().GetGcsResult().GetUris()
}

func TestExportAssetsWritesShardsPerType(t *testing.T) {
	s, cl := exportFixture(t)
	ctx := context.Background()
	op, err := s.ExportAssets(ctx, &assetpb.ExportAssetsRequest{
		Parent: "folders/2", ContentType: assetpb.ContentType_RESOURCE, AssetTypes: []string{".*Service", "cloudresourcemanager.googleapis.com/Project"},
		OutputConfig: toGCS("gs://b/out", true),
	})
	if err != nil {
		t.Fatal(err)
	}
	uris := result(t, op)
	want := "gs://b/out/cloudresourcemanager.googleapis.com/Project/0 gs://b/out/run.googleapis.com/Service/0 gs://b/out/run.googleapis.com/Service/1"
	if strings.Join(uris, " ") != want {
		t.Fatalf("uris %v, want %s", uris, want)
	}
	// Export format: snake_case proto names, one asset a line.
	if got := readObject(t, cl, uris[1]); !strings.Contains(got, `"asset_type":"run.googleapis.com/Service"`) || strings.Count(got, "\n") != 1 || strings.Contains(got, "iam_policy") {
		t.Errorf("shard content %q", got)
	}
	if got, err := s.operations().GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()}); err != nil || !got.GetDone() {
		t.Errorf("GetOperation %s: %v, %v", op.GetName(), got, err)
	}

	// One object for a plain uri, every type in it.
	op, err = s.ExportAssets(ctx, &assetpb.ExportAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_IAM_POLICY, OutputConfig: toGCS("gs://b/one.json", false)})
	if err != nil {
		t.Fatal(err)
	}
	if uris := result(t, op); len(uris) != 1 || strings.Count(readObject(t, cl, uris[0]), "\n") != 2 {
		t.Errorf("single-object export: %v", uris)
	}
}

func TestExportAssetsRejects(t *testing.T) {
	s, _ := exportFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  *assetpb.ExportAssetsRequest
		code codes.Code
	}{
		{"existing prefix object", &assetpb.ExportAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_RESOURCE, OutputConfig: toGCS("gs://b/taken", true)}, codes.InvalidArgument},
		{"missing bucket", &assetpb.ExportAssetsRequest{Parent: "organizations/1", ContentType: assetpb.ContentType_RESOURCE, OutputConfig: toGCS("gs://nope/x", true)}, codes.InvalidArgument},
		{"BigQuery destination", &assetpb.ExportAssetsRequest{Parent: "organizations/1", OutputConfig: &assetpb.OutputConfig{Destination: &assetpb.OutputConfig_BigqueryDestination{}}}, codes.InvalidArgument},
		{"bad regular expression", &assetpb.ExportAssetsRequest{Parent: "organizations/1", AssetTypes: []string{"run.googleapis.com/(Service"}, OutputConfig: toGCS("gs://b/y", true)}, codes.InvalidArgument},
		{"bad parent", &assetpb.ExportAssetsRequest{Parent: "orgs/1", OutputConfig: toGCS("gs://b/z", true)}, codes.InvalidArgument},
	} {
		if _, err := s.ExportAssets(ctx, tc.req); status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := s.operations().GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: "organizations/1/operations/ExportAssets/RESOURCE/99"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown operation: %v, want NotFound", err)
	}
	if st := s.ExportStats(); st.Refused != 5 || st.ExportCalls != 5 || st.Shards != 0 {
		t.Errorf("stats %+v", st)
	}
}
