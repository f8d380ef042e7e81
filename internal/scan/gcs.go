package scan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/runaudit/runaudit/internal/inventory"
)

// IsGCS reports whether an export path names Cloud Storage (gs://…).
func IsGCS(path string) bool { return strings.HasPrefix(path, "gs://") }

// ParseGCS splits gs://BUCKET[/PREFIX] into bucket and prefix.
func ParseGCS(url string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(url, "gs://")
	if !ok {
		return "", "", fmt.Errorf("%q is not a gs:// URL", url)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", url)
	}
	return bucket, prefix, nil
}

// GCSObject is one export object.
type GCSObject struct {
	Bucket, Name string
	Size         int64
}

// URL returns gs://BUCKET/NAME.
func (o GCSObject) URL() string { return "gs://" + o.Bucket + "/" + o.Name }

// GCSExport reads Cloud Asset Inventory exports that an organization
// already writes to Cloud Storage (gcloud asset export --output-path or
// --output-path-prefix), in the same NDJSON format as local export files
// and through the same decoding.
//
// Each URL names one object, or a prefix read as a folder: gs://b/p reads
// the object p if there is one, and every object under p/. The client
// honours STORAGE_EMULATOR_HOST.
type GCSExport struct {
	Client *storage.Client
	URLs   []string
	// Workers bounds concurrent decoding; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called after each object with the lines read
	// so far.
	Progress func(object string, lines int)
}

// Objects lists the objects the URLs name, sorted by name within each URL.
// A URL that names no object is an error, as a missing local file is.
func (g *GCSExport) Objects(ctx context.Context) ([]GCSObject, error) {
	var out []GCSObject
	for _, u := range g.URLs {
		bucket, prefix, err := ParseGCS(u)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", u, err)
		}
		dir := prefix
		if dir != "" && !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		q := &storage.Query{Prefix: prefix}
		if err := q.SetAttrSelection([]string{"Name", "Size"}); err != nil {
			return nil, err
		}
		before := len(out)
		it := g.Client.Bucket(bucket).Objects(ctx, q)
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("listing export %s: %w", u, err)
			}
			// gs://b/exports must not pick up gs://b/exports-old/…;
			// folder placeholders ("…/") hold nothing.
			if attrs.Name != prefix && !strings.HasPrefix(attrs.Name, dir) || strings.HasSuffix(attrs.Name, "/") {
				continue
			}
			out = append(out, GCSObject{Bucket: bucket, Name: attrs.Name, Size: attrs.Size})
		}
		if len(out) == before {
			return nil, fmt.Errorf("export %s: %w under the prefix", u, ErrNoInput)
		}
		sort.Slice(out[before:], func(i, j int) bool { return out[before+i].Name < out[before+j].Name })
	}
	return out, nil
}

// Collect reads every object into b. An object that cannot be read, or
// holds malformed lines, is a gap; the rest is still read.
func (g *GCSExport) Collect(ctx context.Context, b *inventory.Builder) error {
	objs, err := g.Objects(ctx)
	if err != nil {
		return err
	}
	total := 0
	for i, o := range objs {
		n, err := g.read(ctx, o, b)
		total += n
		if ctx.Err() != nil {
			var unread []string
			for _, u := range objs[i:] {
				unread = append(unread, u.URL())
			}
			Interrupted(ctx, b, unread)
			return nil
		}
		if err != nil {
			b.Gap(inventory.Gap{Scope: o.URL(), Reason: err.Error()})
		}
		if g.Progress != nil {
			g.Progress(o.URL(), total)
		}
	}
	return nil
}

func (g *GCSExport) read(ctx context.Context, o GCSObject, b *inventory.Builder) (int, error) {
	r, err := g.Client.Bucket(o.Bucket).Object(o.Name).NewReader(ctx)
	if err != nil {
		return 0, fmt.Errorf("opening %s: %w", o.URL(), err)
	}
	defer r.Close()
	return ReadExport(ctx, o.URL(), r, b, g.Workers)
}
