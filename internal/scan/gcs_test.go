package scan_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// gcsServer starts fake-gcs-server in-process with objects (name →
// content) in bucket "exports", and returns a storage client that finds it
// through STORAGE_EMULATOR_HOST, as the command does.
func gcsServer(t *testing.T, objects map[string][]byte) *storage.Client {
	t.Helper()
	var initial []fakestorage.Object
	for name, content := range objects {
		initial = append(initial, fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "exports", Name: name}, Content: content})
	}
	// The client downloads from HOST/BUCKET/OBJECT; the fake serves that
	// path only on its public host, so that must be its own address.
	port := freePort(t)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: port, PublicHost: fmt.Sprintf("127.0.0.1:%d", port), InitialObjects: initial,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Setenv("STORAGE_EMULATOR_HOST", srv.URL())
	cl, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGCSExportReadsLikeFiles(t *testing.T) {
	res, iam := read(t, "../../examples/acme/resources.ndjson"), read(t, "../../examples/acme/iam-policies.ndjson")
	cl := gcsServer(t, map[string][]byte{
		"nightly/2026-11-01/":                       nil, // a folder placeholder
		"nightly/2026-11-01/resources.ndjson":       res,
		"nightly/2026-11-01/iam/policies.ndjson.gz": gz(t, iam),
		"nightly/2026-11-01-old/resources.ndjson":   []byte("{not read\n"),
		"single.ndjson":                             res,
	})
	want := digest(exportInventory(t))
	for _, url := range []string{"gs://exports/nightly/2026-11-01", "gs://exports/nightly/2026-11-01/"} {
		b := inventory.NewBuilder()
		var seen []string
		src := &scan.GCSExport{Client: cl, URLs: []string{url}, Progress: func(o string, _ int) { seen = append(seen, o) }}
		if err := src.Collect(context.Background(), b); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if got := digest(b.Finish()); got != want {
			t.Errorf("%s: inventory differs from the local export's:\n%s", url, lineDiff(want, got))
		}
		if strings.Join(seen, " ") != "gs://exports/nightly/2026-11-01/iam/policies.ndjson.gz gs://exports/nightly/2026-11-01/resources.ndjson" {
			t.Errorf("%s: read %v", url, seen)
		}
	}
	// One object by its name.
	objs, err := (&scan.GCSExport{Client: cl, URLs: []string{"gs://exports/single.ndjson"}}).Objects(context.Background())
	if err != nil || len(objs) != 1 || objs[0].URL() != "gs://exports/single.ndjson" {
		t.Errorf("single object: %v, %v", objs, err)
	}
}

func TestGCSExportProblems(t *testing.T) {
	res := read(t, "../../examples/acme/resources.ndjson")
	cl := gcsServer(t, map[string][]byte{
		"good/resources.ndjson": res,
		"bad/resources.ndjson":  append(append([]byte{}, res...), "{oops\n"...),
	})
	ctx := context.Background()

	err := (&scan.GCSExport{Client: cl, URLs: []string{"gs://exports/none"}}).Collect(ctx, inventory.NewBuilder())
	if !errors.Is(err, scan.ErrNoInput) || !strings.Contains(err.Error(), "gs://exports/none") {
		t.Errorf("empty prefix: %v, want ErrNoInput naming the URL", err)
	}
	if err := (&scan.GCSExport{Client: cl, URLs: []string{"gs://missing-bucket/x"}}).Collect(ctx, inventory.NewBuilder()); err == nil || !strings.Contains(err.Error(), "gs://missing-bucket/x") {
		t.Errorf("missing bucket: %v, want an error naming it", err)
	}
	for _, bad := range []string{"gs://", "gs:///x", "s3://b/x"} {
		if _, _, err := scan.ParseGCS(bad); err == nil {
			t.Errorf("ParseGCS(%q) accepted", bad)
		}
	}

	// A malformed line is a gap naming the object and line; the rest is read.
	b := inventory.NewBuilder()
	if err := (&scan.GCSExport{Client: cl, URLs: []string{"gs://exports/bad"}}).Collect(ctx, b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	lines := strings.Count(string(res), "\n")
	if len(inv.Gaps) != 1 || inv.Gaps[0].Scope != "gs://exports/bad/resources.ndjson" {
		t.Fatalf("gaps %+v, want one for the object", inv.Gaps)
	}
	if len(inv.Skipped) != 1 || inv.Skipped[0].Where != "gs://exports/bad/resources.ndjson:"+itoa(lines+1) {
		t.Errorf("skipped %+v, want line %d", inv.Skipped, lines+1)
	}
	if inv.Counts["services"] != 7 {
		t.Errorf("services %d, want the 7 of the good lines", inv.Counts["services"])
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
