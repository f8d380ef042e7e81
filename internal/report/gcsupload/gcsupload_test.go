package gcsupload

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/iterator"
)

var runDate = time.Date(2026, 9, 14, 23, 30, 0, 0, time.FixedZone("PDT", -7*3600)) // 2026-09-15 in UTC

// newEmulator starts fake-gcs-server on a local port and returns a real
// storage client that reaches it through STORAGE_EMULATOR_HOST, as the job
// does.
func newEmulator(t *testing.T, buckets ...string) (*fakestorage.Server, *storage.Client) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	for _, b := range buckets {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	// The emulator serves reads through the JSON API only.
	client, err := storage.NewClient(context.Background(), storage.WithJSONReads())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return srv, client
}

func writeFiles(t *testing.T, contents map[string][]byte) (dir string, paths []string) {
	t.Helper()
	dir = t.TempDir()
	names := make([]string, 0, len(contents))
	for n := range contents {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, contents[n], 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

func TestUpload(t *testing.T) {
	_, client := newEmulator(t, "acme-audit")
	big := make([]byte, 17<<20) // over the client's 16 MiB chunk: a resumable upload
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{
		"findings.jsonl": []byte(`{"finding_id":"a"}` + "\n"),
		"findings.csv":   []byte("finding_id\na\n"),
		"summary.json":   []byte(`{"run_id":"r1"}`),
		"report.xlsx":    big,
	}
	_, files := writeFiles(t, contents)

	got, err := Upload(context.Background(), client, "gs://acme-audit/runaudit/nightly/", runDate, "r1", files)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, "gs://acme-audit/runaudit/nightly/2026-09-15/r1/"+filepath.Base(f))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Upload returned %q, want %q", got, want)
	}

	types := map[string]string{
		"findings.jsonl": "application/x-ndjson",
		"findings.csv":   "text/csv; charset=utf-8",
		"summary.json":   "application/json",
		"report.xlsx":    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	}
	ctx := context.Background()
	for name, body := range contents {
		obj := client.Bucket("acme-audit").Object("runaudit/nightly/2026-09-15/r1/" + name)
		attrs, err := obj.Attrs(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if attrs.ContentType != types[name] {
			t.Errorf("%s content type = %q, want %q", name, attrs.ContentType, types[name])
		}
		if attrs.Metadata["run_id"] != "r1" {
			t.Errorf("%s metadata = %v, want run_id r1", name, attrs.Metadata)
		}
		if want := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)); attrs.CRC32C != want {
			t.Errorf("%s CRC32C = %x, want %x", name, attrs.CRC32C, want)
		}
		r, err := obj.NewReader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(b, body) {
			t.Errorf("%s: read back %d bytes (%v), want the %d bytes uploaded", name, len(b), err, len(body))
		}
	}

	// Nothing else was written.
	var names []string
	it := client.Bucket("acme-audit").Objects(ctx, nil)
	for {
		a, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, a.Name)
	}
	if len(names) != len(contents) {
		t.Errorf("bucket holds %q, want only the %d uploads", names, len(contents))
	}
}

func TestUploadRerunOverwrites(t *testing.T) {
	srv, client := newEmulator(t, "b-1")
	dir, files := writeFiles(t, map[string][]byte{"summary.json": []byte("first")})
	if _, err := Upload(context.Background(), client, "gs://b-1", runDate, "r", files); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Upload(context.Background(), client, "gs://b-1", runDate, "r", files); err != nil {
		t.Fatal(err)
	}
	obj, err := srv.GetObject("b-1", "2026-09-15/r/summary.json")
	if err != nil || string(obj.Content) != "second" {
		t.Errorf("object = %q, %v; want the second run's content", obj.Content, err)
	}
}

// A file that cannot be read does not stop the others; the error names it.
func TestUploadPartialFailure(t *testing.T) {
	_, client := newEmulator(t, "acme-audit")
	dir, files := writeFiles(t, map[string][]byte{"a.json": []byte("{}"), "c.csv": []byte("x\n")})
	missing := filepath.Join(dir, "b.jsonl")
	files = []string{files[0], missing, files[1]}

	got, err := Upload(context.Background(), client, "gs://acme-audit/p/", runDate, "r", files)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "gs://acme-audit/p/2026-09-15/r/b.jsonl") {
		t.Errorf("error = %v, want one naming %s and its destination", err, missing)
	}
	want := []string{"gs://acme-audit/p/2026-09-15/r/a.json", "gs://acme-audit/p/2026-09-15/r/c.csv"}
	if !slices.Equal(got, want) {
		t.Errorf("uploaded %q, want %q", got, want)
	}
}

func TestUploadMissingBucket(t *testing.T) {
	_, client := newEmulator(t) // no bucket
	_, files := writeFiles(t, map[string][]byte{"a.json": []byte("{}")})
	got, err := Upload(context.Background(), client, "gs://nope-bucket/x", runDate, "r", files)
	if err == nil || !strings.Contains(err.Error(), "gs://nope-bucket/x/2026-09-15/r/a.json") {
		t.Errorf("error = %v, want one naming the destination", err)
	}
	if len(got) != 0 {
		t.Errorf("reported uploads %q into a missing bucket", got)
	}
}

func TestUploadRejectsBeforeWriting(t *testing.T) {
	_, client := newEmulator(t, "acme-audit")
	dir, files := writeFiles(t, map[string][]byte{"a.json": []byte("{}")})
	other := filepath.Join(dir, "sub", "a.json")
	for _, tc := range []struct {
		name  string
		uri   string
		runID string
		date  time.Time
		files []string
		want  string
	}{
		{"bad uri", "s3://acme-audit/", "r", runDate, files, "gs://BUCKET"},
		{"run id with slash", "gs://acme-audit/", "a/b", runDate, files, "run id"},
		{"empty run id", "gs://acme-audit/", "", runDate, files, "run id"},
		{"dot-dot run id", "gs://acme-audit/", "..", runDate, files, "run id"},
		{"no date", "gs://acme-audit/", "r", time.Time{}, files, "no run date"},
		{"same base name twice", "gs://acme-audit/", "r", runDate, []string{files[0], other}, "both be stored as a.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Upload(context.Background(), client, tc.uri, tc.date, tc.runID, tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
			if got != nil {
				t.Errorf("returned %q", got)
			}
		})
	}
	it := client.Bucket("acme-audit").Objects(context.Background(), nil)
	if a, err := it.Next(); err != iterator.Done {
		t.Errorf("bucket not empty after rejected uploads: %v, %v", a, err)
	}
}

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		uri, bucket, prefix string
		bad                 bool
	}{
		{uri: "gs://acme-audit", bucket: "acme-audit"},
		{uri: "gs://acme-audit/", bucket: "acme-audit"},
		{uri: "gs://acme-audit/runaudit", bucket: "acme-audit", prefix: "runaudit/"},
		{uri: "gs://acme-audit/runaudit/", bucket: "acme-audit", prefix: "runaudit/"},
		{uri: "gs://acme-audit/a/b/c/", bucket: "acme-audit", prefix: "a/b/c/"},
		{uri: "gs://audit.example.com/x", bucket: "audit.example.com", prefix: "x/"},
		{uri: "gs://a_b-c/x", bucket: "a_b-c", prefix: "x/"},
		{uri: "acme-audit/x", bad: true},
		{uri: "https://storage.googleapis.com/acme-audit/x", bad: true},
		{uri: "gs://", bad: true},
		{uri: "gs:///x", bad: true},
		{uri: "gs://ab/x", bad: true},
		{uri: "gs://Acme-Audit/x", bad: true},
		{uri: "gs://-acme/x", bad: true},
		{uri: "gs://acme audit/x", bad: true},
		{uri: "gs://" + strings.Repeat("a", 64), bad: true},
		{uri: "gs://acme-audit//x", bad: true},
		{uri: "gs://acme-audit/a/../b", bad: true},
		{uri: "gs://acme-audit/a\nb", bad: true},
	} {
		b, p, err := ParseURI(tc.uri)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.uri)) {
				t.Errorf("ParseURI(%q) = %q, %q, %v; want an error naming it", tc.uri, b, p, err)
			}
			continue
		}
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("ParseURI(%q) = %q, %q, %v; want %q, %q", tc.uri, b, p, err, tc.bucket, tc.prefix)
		}
	}
}

func TestObjectDir(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		date   time.Time
		want   string
	}{
		{"", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), "2026-01-02/r/"},
		{"p/q/", time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), "p/q/2026-12-31/r/"},
		{"p/", runDate, "p/2026-09-15/r/"}, // UTC, not the local date
	} {
		if got := ObjectDir(tc.prefix, tc.date, "r"); got != tc.want {
			t.Errorf("ObjectDir(%q, %v) = %q, want %q", tc.prefix, tc.date, got, tc.want)
		}
	}
}
