// Package gcsupload copies a run's output files to Cloud Storage for the
// scheduled job, each run under its own dated folder:
//
//	gs://BUCKET/PREFIX/YYYY-MM-DD/RUN_ID/report.xlsx
//	gs://BUCKET/PREFIX/YYYY-MM-DD/RUN_ID/findings.jsonl
//	…
//
// The date (UTC) comes first so that listing a prefix shows runs in order
// and lifecycle rules can age them out by name. Each object carries its
// CRC32C, which Cloud Storage checks on arrival, and the run id as metadata.
package gcsupload

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"
)

// parallel bounds concurrent uploads: the files are few, and the largest
// (findings.jsonl, report.xlsx) dominate.
const parallel = 4

// Upload copies files (local paths) to the run's folder under uri, a
// gs://BUCKET/PREFIX/ address, and returns the gs:// address of every
// object written, in the order of files. Objects are named by the files'
// base names under PREFIX/YYYY-MM-DD/RUN_ID/, with runDate taken in UTC.
//
// Every file is attempted even when another fails; the error then names
// each file that did not arrive, and the returned list holds only those
// that did. A rerun with the same run id overwrites its own objects, which
// is why an upload is retried even without a precondition.
func Upload(ctx context.Context, client *storage.Client, uri string, runDate time.Time, runID string, files []string) ([]string, error) {
	bucket, prefix, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if err := checkRunID(runID); err != nil {
		return nil, err
	}
	if runDate.IsZero() {
		return nil, errors.New("uploading to " + uri + ": no run date")
	}
	dir := ObjectDir(prefix, runDate, runID)
	names := make([]string, len(files))
	seen := map[string]string{}
	for i, f := range files {
		base := filepath.Base(f)
		if other, ok := seen[base]; ok {
			return nil, fmt.Errorf("uploading to %s: %s and %s would both be stored as %s", uri, other, f, base)
		}
		seen[base] = f
		names[i] = dir + base
	}

	bkt := client.Bucket(bucket)
	errs := make([]error, len(files))
	var g errgroup.Group // not WithContext: one failure must not cancel the others
	g.SetLimit(parallel)
	for i, f := range files {
		g.Go(func() error {
			if err := uploadFile(ctx, bkt, f, names[i], runID); err != nil {
				errs[i] = fmt.Errorf("uploading %s to gs://%s/%s: %w", f, bucket, names[i], err)
			}
			return nil
		})
	}
	_ = g.Wait()

	var uploaded []string
	for i := range files {
		if errs[i] == nil {
			uploaded = append(uploaded, "gs://"+bucket+"/"+names[i])
		}
	}
	return uploaded, errors.Join(errs...)
}

// ObjectDir is the object-name prefix of a run's folder, ending in "/":
// PREFIX/YYYY-MM-DD/RUN_ID/ with the date in UTC. prefix is as ParseURI
// returns it.
func ObjectDir(prefix string, runDate time.Time, runID string) string {
	return prefix + runDate.UTC().Format(time.DateOnly) + "/" + runID + "/"
}

// uploadFile copies one file; its CRC32C is computed first so that Cloud
// Storage can reject a corrupted upload.
func uploadFile(ctx context.Context, bkt *storage.BucketHandle, file, name, runID string) error {
	sum, err := crc32c(file)
	if err != nil {
		return err
	}
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()

	obj := bkt.Object(name).Retryer(storage.WithPolicy(storage.RetryAlways))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(ctx)
	w.ContentType = contentType(name)
	w.Metadata = map[string]string{"run_id": runID}
	w.CRC32C, w.SendCRC32C = sum, true
	if _, err := io.Copy(w, fh); err != nil {
		cancel() // abandons the upload: nothing partial is committed
		_ = w.Close()
		return err
	}
	return w.Close()
}

var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

func crc32c(file string) (uint32, error) {
	fh, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	h := crc32.New(castagnoli())
	if _, err := io.Copy(h, fh); err != nil {
		return 0, fmt.Errorf("reading %s: %w", file, err)
	}
	return h.Sum32(), nil
}

// contentType names the outputs' types; others fall back to the system's
// table, then to bytes.
func contentType(name string) string {
	switch ext := path.Ext(name); ext {
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".jsonl", ".ndjson":
		return "application/x-ndjson"
	case ".json":
		return "application/json"
	case ".csv":
		return "text/csv; charset=utf-8"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}

// ParseURI splits gs://BUCKET/PREFIX into the bucket and an object-name
// prefix that is empty or ends in "/". Call it when reading flags, so that
// a bad --report-uri fails before the scan rather than after it.
func ParseURI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "gs://")
	if !ok {
		return "", "", fmt.Errorf("report URI %q: want gs://BUCKET/PREFIX/", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return "", "", fmt.Errorf("report URI %q: %w", uri, err)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return bucket, "", nil
	}
	for _, seg := range strings.Split(prefix, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", "", fmt.Errorf("report URI %q: empty, . or .. path segment", uri)
		}
	}
	if strings.ContainsFunc(prefix, isControl) {
		return "", "", fmt.Errorf("report URI %q: control character in prefix", uri)
	}
	return bucket, prefix + "/", nil
}

// checkBucket applies Cloud Storage's bucket naming rules: 3 to 63
// characters (222 with dots), lower-case letters, digits, - _ and ., starting
// and ending with a letter or digit.
func checkBucket(b string) error {
	limit := 63
	if strings.Contains(b, ".") {
		limit = 222
	}
	if len(b) < 3 || len(b) > limit {
		return fmt.Errorf("bucket name %q must be 3 to %d characters", b, limit)
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return fmt.Errorf("bucket name %q must start and end with a letter or digit", b)
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("bucket name %q: character %q not allowed", b, c)
		}
	}
	return nil
}

// checkRunID keeps the run id to one path segment.
func checkRunID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsRune(id, '/') || strings.ContainsFunc(id, isControl) {
		return fmt.Errorf("run id %q cannot name a folder", id)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
