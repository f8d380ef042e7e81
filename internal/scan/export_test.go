package scan_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// write creates files under dir from a map of slash-separated relative
// paths to contents.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExportFiles(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"single.ndjson":                  "",
		"org/resources.ndjson":           "",
		"org/b/policies.ndjson.gz":       "",
		"org/a/deeper/roles.json":        "",
		"org/.partial.ndjson":            "",
		"org/.git/objects/x":             "",
		"org/a/.tmp/leftover.ndjson":     "",
		".exports/run.ndjson":            "",
		"only-hidden/.hidden.ndjson":     "",
		"only-hidden/.d/inside.ndjson":   "",
		"explicit/.hidden-but-named.gz":  "",
		"explicit/ordinary.ndjson":       "",
		"explicit/zz-last/first.ndjson":  "",
		"explicit/aa-first/last.ndjson":  "",
		"explicit/aa-first/.skip.ndjson": "",
	})
	if err := os.MkdirAll(filepath.Join(root, "empty", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"a file", []string{"single.ndjson"}, []string{"single.ndjson"}},
		{"a directory, recursively, sorted, hidden files and directories skipped", []string{"org"},
			[]string{"org/a/deeper/roles.json", "org/b/policies.ndjson.gz", "org/resources.ndjson"}},
		{"a hidden directory given by name is read", []string{".exports"}, []string{".exports/run.ndjson"}},
		{"a hidden file given by name is read", []string{"explicit/.hidden-but-named.gz"}, []string{"explicit/.hidden-but-named.gz"}},
		{"paths keep their order; each directory is sorted", []string{"single.ndjson", "explicit", "org/resources.ndjson"},
			[]string{"single.ndjson", "explicit/aa-first/last.ndjson", "explicit/ordinary.ndjson", "explicit/zz-last/first.ndjson", "org/resources.ndjson"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in, want []string
			for _, x := range tc.paths {
				in = append(in, p(x))
			}
			for _, x := range tc.want {
				want = append(want, p(x))
			}
			got, err := scan.ExportFiles(in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ExportFiles(%v):\ngot  %v\nwant %v", tc.paths, got, want)
			}
		})
	}

	errTests := []struct {
		name  string
		paths []string
		is    error
		names string
	}{
		{"empty directory", []string{"single.ndjson", "empty"}, scan.ErrNoInput, p("empty")},
		{"directory with only hidden files", []string{"only-hidden"}, scan.ErrNoInput, p("only-hidden")},
		{"missing path", []string{"org", "nope.ndjson"}, fs.ErrNotExist, p("nope.ndjson")},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			var in []string
			for _, x := range tc.paths {
				in = append(in, p(x))
			}
			got, err := scan.ExportFiles(in)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.names) {
				t.Errorf("ExportFiles(%v) = %v, %v; want an error wrapping %v that names %s", tc.paths, got, err, tc.is, tc.names)
			}
		})
	}
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// summary is what an inventory holds, in a comparable form.
func summary(inv *inventory.Inventory) string {
	var out []string
	for k, n := range inv.Nodes {
		out = append(out, fmt.Sprintf("node %s policy=%v bindings=%d", k, n.HasPolicy, len(n.Bindings)))
	}
	for _, r := range inv.Runs {
		out = append(out, fmt.Sprintf("run %s %v", r.Node.Key, r.Containers))
	}
	for k, r := range inv.Repositories {
		out = append(out, fmt.Sprintf("repo %s %s %s", k, r.Mode, r.UpstreamSecret))
	}
	for k, v := range inv.Counts {
		out = append(out, fmt.Sprintf("count %s=%d", k, v))
	}
	for _, s := range inv.Skipped {
		out = append(out, "skip "+s.Where+": "+s.Reason)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// Compression is told by content, so a misnamed file still reads; plain
// and gzip give the same inventory.
func TestReadExportCompression(t *testing.T) {
	plain := readFile(t, "snake.ndjson")
	read := func(name string, data []byte, lines int) string {
		b := inventory.NewBuilder()
		n, err := scan.ReadExport(context.Background(), name, bytes.NewReader(data), b, 2)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != lines {
			t.Errorf("%s: %d lines read, want %d", name, n, lines)
		}
		inv := b.Finish()
		if len(inv.Runs) != 1 || len(inv.Repositories) != 1 || inv.SkippedTotal != 0 {
			t.Errorf("%s: runs %d repositories %d skipped %v", name, len(inv.Runs), len(inv.Repositories), inv.Skipped)
		}
		return summary(inv)
	}
	want := read("plain.ndjson", plain, 4)
	tests := []struct {
		name  string
		data  []byte
		lines int
	}{
		{"export.ndjson.gz", gz(t, plain), 4},
		{"export.ndjson", gz(t, plain), 4},
		{"plain-named.ndjson.gz", plain, 4},
		{"no-final-newline.ndjson", bytes.TrimSuffix(plain, []byte("\n")), 4},
		{"gzip-no-final-newline.ndjson", gz(t, bytes.TrimSuffix(plain, []byte("\n"))), 4},
		{"crlf.ndjson", bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n")), 4},
		// Blank lines count as lines (so that numbers match an editor's)
		// and hold no asset.
		{"blank-lines.ndjson", append([]byte("\n\n"), bytes.ReplaceAll(plain, []byte("\n"), []byte("\n\n  \n"))...), 2 + 4*3},
	}
	for _, tc := range tests {
		if got := read(tc.name, tc.data, tc.lines); got != want {
			t.Errorf("%s reads differently from the plain file:\n%s\nwant\n%s", tc.name, got, want)
		}
	}
}

// The export's snake_case and the API's camelCase decode to the same asset.
func TestDecodeAssetFieldStyles(t *testing.T) {
	snake := bytes.Split(bytes.TrimSpace(readFile(t, "snake.ndjson")), []byte("\n"))
	camel := bytes.Split(bytes.TrimSpace(readFile(t, "camel.ndjson")), []byte("\n"))
	if len(snake) != len(camel) || len(snake) != 4 {
		t.Fatalf("fixtures hold %d and %d lines, want 4 each", len(snake), len(camel))
	}
	for i := range snake {
		if bytes.Equal(snake[i], camel[i]) {
			t.Fatalf("line %d is the same in both fixtures: the test would prove nothing", i+1)
		}
		a, err := scan.DecodeAsset(snake[i])
		if err != nil {
			t.Fatalf("snake line %d: %v", i+1, err)
		}
		b, err := scan.DecodeAsset(camel[i])
		if err != nil {
			t.Fatalf("camel line %d: %v", i+1, err)
		}
		if !proto.Equal(a, b) {
			t.Errorf("line %d decodes differently:\nsnake %v\ncamel %v", i+1, a, b)
		}
		if a.GetAssetType() == "" || (a.GetResource() == nil && a.GetIamPolicy() == nil) {
			t.Errorf("line %d decoded without its fields: %v", i+1, a)
		}
	}
	// Through the whole reader too.
	read := func(name string) string {
		b := inventory.NewBuilder()
		if _, err := scan.ReadExport(context.Background(), "x", bytes.NewReader(readFile(t, name)), b, 1); err != nil {
			t.Fatal(err)
		}
		return summary(b.Finish())
	}
	if s, c := read("snake.ndjson"), read("camel.ndjson"); s != c {
		t.Errorf("inventories differ:\nsnake\n%s\ncamel\n%s", s, c)
	}
}

func TestDecodeAssetErrors(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"not JSON", "nope", ""},
		{"truncated", `{"name":"//x","asset_type":`, ""},
		{"no name", `{"asset_type":"run.googleapis.com/Service"}`, "no name or asset_type"},
		{"no asset type", `{"name":"//run.googleapis.com/projects/p/locations/l/services/s"}`, "no name or asset_type"},
		{"wrong type for a field", `{"name":"//x","asset_type":"t","ancestors":"projects/1"}`, ""},
		{"an array", `[]`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := scan.DecodeAsset([]byte(tc.line))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeAsset(%s) = %v, %v; want an error containing %q", tc.line, a, err, tc.want)
			}
		})
	}
	// Fields newer than the compiled assetpb are ignored, not an error.
	if _, err := scan.DecodeAsset([]byte(`{"name":"//x/y","asset_type":"t","brand_new_field":{"a":1}}`)); err != nil {
		t.Errorf("unknown field: %v", err)
	}
}

// A malformed line is skipped with its file and line and the stream reads
// on. A line that still names its asset (line 2, cut off) leaves a gap for
// that asset alone; the error counts the lines that name nothing, which may
// have held anything, and names the first of them.
func TestReadExportMalformed(t *testing.T) {
	data := readFile(t, "malformed.ndjson")
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			b := inventory.NewBuilder()
			n, err := scan.ReadExport(context.Background(), "malformed.ndjson", bytes.NewReader(data), b, workers)
			if n != 10 {
				t.Errorf("lines = %d, want 10", n)
			}
			if err == nil || err.Error() != "2 malformed line(s) that name no asset, the first at malformed.ndjson:4; see skipped" {
				t.Errorf("error = %v, want 2 malformed lines naming no asset, the first at line 4", err)
			}
			inv := b.Finish()
			want := inventory.Gap{Scope: "malformed.ndjson:2", AssetType: "run.googleapis.com/Service",
				Asset: "//run.googleapis.com/projects/acme-payments/locations/l/services/broken"}
			if len(inv.Gaps) != 1 || inv.Gaps[0].Scope != want.Scope || inv.Gaps[0].Asset != want.Asset || inv.Gaps[0].AssetType != want.AssetType || inv.Gaps[0].ContentType != "" {
				t.Errorf("gaps = %+v, want one for line 2's service, either content", inv.Gaps)
			}
			var wheres []string
			for _, s := range inv.Skipped {
				wheres = append(wheres, s.Where)
				if !strings.HasPrefix(s.Reason, "malformed asset: ") && s.Where != "malformed.ndjson:9" {
					t.Errorf("skip %+v: reason does not say the line is malformed", s)
				}
			}
			slices.Sort(wheres)
			// Line 9 decodes; its service has no containers, which is
			// listed and kept as unverifiable.
			if want := []string{"malformed.ndjson:2", "malformed.ndjson:4", "malformed.ndjson:8", "malformed.ndjson:9"}; !slices.Equal(wheres, want) {
				t.Errorf("skipped at %v, want %v", wheres, want)
			}
			// The good lines around the bad ones were read: the project,
			// the ledger service, the ignored instance, the service without
			// containers, the repository on the last line (no newline).
			if inv.Counts["assets_read"] != 5 || inv.Counts["assets_ignored"] != 1 || len(inv.Runs) != 2 || inv.Counts["containers_without_image"] != 1 || len(inv.Repositories) != 1 || inv.Project("acme-payments") == nil {
				t.Errorf("good lines not all read: counts %v, runs %d, repositories %d", inv.Counts, len(inv.Runs), len(inv.Repositories))
			}
		})
	}
}

// Line numbers stay right across the reader's batches, whatever the
// number of workers.
func TestReadExportLineNumbers(t *testing.T) {
	good := bytes.TrimSpace(bytes.SplitN(readFile(t, "snake.ndjson"), []byte("\n"), 2)[0])
	bad := map[int]bool{1: true, 255: true, 256: true, 257: true, 300: true, 512: true, 513: true, 1000: true}
	var buf bytes.Buffer
	for i := 1; i <= 1000; i++ {
		if bad[i] {
			fmt.Fprintf(&buf, "{broken %d\n", i)
		} else {
			buf.Write(good)
			buf.WriteByte('\n')
		}
	}
	for _, workers := range []int{1, 2, 7} {
		b := inventory.NewBuilder()
		n, err := scan.ReadExport(context.Background(), "big.ndjson", bytes.NewReader(buf.Bytes()), b, workers)
		if n != 1000 || err == nil || !strings.Contains(err.Error(), "8 malformed line(s) that name no asset, the first at big.ndjson:1;") {
			t.Errorf("workers=%d: %d lines, error %v", workers, n, err)
		}
		inv := b.Finish()
		got := map[int]bool{}
		for _, s := range inv.Skipped {
			var line int
			if _, err := fmt.Sscanf(s.Where, "big.ndjson:%d", &line); err != nil {
				t.Fatalf("skip where %q", s.Where)
			}
			got[line] = true
		}
		if len(got) != len(bad) {
			t.Errorf("workers=%d: skipped lines %v, want %v", workers, got, bad)
		}
		for l := range bad {
			if !got[l] {
				t.Errorf("workers=%d: line %d not reported", workers, l)
			}
		}
		if inv.Counts["assets_read"] != 992 {
			t.Errorf("workers=%d: assets read %d, want 992", workers, inv.Counts["assets_read"])
		}
	}
}

// A resource can be larger than any line buffer: a service with a 3 MiB
// annotation reads like any other.
func TestReadExportLongLine(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	line := fmt.Sprintf(`{"name":"//run.googleapis.com/projects/987654321098/locations/l/services/big","asset_type":"run.googleapis.com/Service","resource":{"location":"l","data":{"annotations":{"huge":%q},"template":{"containers":[{"image":"gcr.io/p/big"}]}}},"ancestors":["projects/987654321098"]}`, long)
	data := []byte(string(readFile(t, "snake.ndjson")) + line + "\n" + line[:len(line)/2] + "\n" + string(readFile(t, "snake.ndjson")))
	for name, in := range map[string][]byte{"plain": data, "gzip": gz(t, data)} {
		b := inventory.NewBuilder()
		n, err := scan.ReadExport(context.Background(), name, bytes.NewReader(in), b, 2)
		if n != 10 {
			t.Errorf("%s: %d lines, want 10", name, n)
		}
		if err != nil {
			t.Errorf("%s: error = %v, want none: the cut line still names its asset", name, err)
		}
		inv := b.Finish()
		if len(inv.Gaps) != 1 || inv.Gaps[0].Scope != name+":6" || inv.Gaps[0].Asset != "//run.googleapis.com/projects/987654321098/locations/l/services/big" {
			t.Errorf("%s: gaps = %+v, want the cut line 6 as a gap for its service", name, inv.Gaps)
		}
		var found bool
		for _, r := range inv.Runs {
			found = found || r.Name == "big"
		}
		if !found || inv.Counts["assets_read"] != 9 {
			t.Errorf("%s: long line not read (runs %d, assets read %d)", name, len(inv.Runs), inv.Counts["assets_read"])
		}
	}
}

// A stream that breaks off is an error naming the file and how far it
// got; what was read before stays in the inventory.
func TestReadExportBrokenStream(t *testing.T) {
	plain := readFile(t, "snake.ndjson")
	var many []byte
	for range 200 {
		many = append(many, plain...)
	}
	compressed := gz(t, many)
	tests := []struct {
		name, want string
		data       []byte
		someRead   bool
	}{
		{"truncated gzip", "reading cut.ndjson.gz after line", compressed[:len(compressed)*2/3], true},
		{"gzip magic, no gzip", "reading cut.ndjson.gz: ", append([]byte{0x1f, 0x8b}, []byte("not really gzip at all")...), false},
		{"corrupt gzip body", "reading cut.ndjson.gz after line", corrupt(compressed), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := inventory.NewBuilder()
			_, err := scan.ReadExport(context.Background(), "cut.ndjson.gz", bytes.NewReader(tc.data), b, 2)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
			if inv := b.Finish(); tc.someRead && inv.Counts["assets_read"] == 0 {
				t.Error("nothing before the break was kept")
			}
		})
	}
}

// corrupt flips bytes in the middle of a gzip stream, past its header.
func corrupt(gz []byte) []byte {
	out := slices.Clone(gz)
	for i := len(out) / 2; i < len(out)/2+64 && i < len(out); i++ {
		out[i] ^= 0xff
	}
	return out
}

// Collect reads every file; one it cannot read is a gap, and the others
// are still read.
func TestCollect(t *testing.T) {
	dir := t.TempDir()
	snake := readFile(t, "snake.ndjson")
	write(t, dir, map[string]string{
		"1-resources.ndjson":    string(snake[:bytes.IndexByte(snake, '\n')+1]),
		"3-malformed.ndjson":    string(readFile(t, "malformed.ndjson")),
		"4-policies.ndjson.gz":  string(gz(t, snake)),
		"5-dir.ndjson/keep.txt": "",
	})
	files := []string{
		filepath.Join(dir, "1-resources.ndjson"),
		filepath.Join(dir, "2-vanished.ndjson"), // removed between listing and reading
		filepath.Join(dir, "3-malformed.ndjson"),
		filepath.Join(dir, "4-policies.ndjson.gz"),
		filepath.Join(dir, "5-dir.ndjson"), // opens, cannot be read
	}
	var progress []string
	e := &scan.Export{Files: files, Workers: 2, Progress: func(f string, lines int) {
		progress = append(progress, fmt.Sprintf("%s %d", filepath.Base(f), lines))
	}}
	b := inventory.NewBuilder()
	if err := e.Collect(context.Background(), b); err != nil {
		t.Fatalf("Collect = %v, want gaps, not an error", err)
	}
	inv := b.Finish()

	gaps := map[string]string{}
	for _, g := range inv.Gaps {
		gaps[filepath.Base(g.Scope)] = g.Reason
	}
	wantGaps := map[string]string{
		"2-vanished.ndjson":    "opening " + files[1],
		"3-malformed.ndjson:2": "malformed line: ",
		"3-malformed.ndjson":   "2 malformed line(s) that name no asset, the first at " + files[2] + ":4",
		"5-dir.ndjson":         "reading " + files[4],
	}
	if len(gaps) != len(wantGaps) {
		t.Errorf("gaps = %+v, want %d", inv.Gaps, len(wantGaps))
	}
	for f, want := range wantGaps {
		if !strings.Contains(gaps[f], want) {
			t.Errorf("gap for %s = %q, want one containing %q", f, gaps[f], want)
		}
	}
	if _, ok := gaps["1-resources.ndjson"]; ok {
		t.Error("a good file is a gap")
	}
	// The readable files were all read: 1 + 10 + 4 lines, of which the
	// malformed file's 3 undecodable and 2 blank lines add no asset.
	if inv.Counts["assets_read"] != 1+5+4 || len(inv.Runs) != 2 || inv.Nodes["projects/987654321098"] == nil || !inv.Nodes["projects/987654321098"].HasPolicy {
		t.Errorf("not every readable file was read: counts %v", inv.Counts)
	}
	if want := []string{"1-resources.ndjson 1", "2-vanished.ndjson 1", "3-malformed.ndjson 11", "4-policies.ndjson.gz 15", "5-dir.ndjson 15"}; !slices.Equal(progress, want) {
		t.Errorf("progress = %v, want %v", progress, want)
	}
}

// A cancelled collection (the run interrupted) stops, and every file not
// read whole is a gap saying so: never a scan presented as complete.
func TestCollectCancelled(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"a.ndjson": string(readFile(t, "snake.ndjson")), "b.ndjson": string(readFile(t, "snake.ndjson"))})
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("SIGTERM"))
	files := []string{filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.ndjson")}
	b := inventory.NewBuilder()
	if err := (&scan.Export{Files: files}).Collect(ctx, b); err != nil {
		t.Fatalf("Collect = %v, want the gaps recorded and no error", err)
	}
	inv := b.Finish()
	if len(inv.Gaps) != 2 {
		t.Fatalf("gaps = %+v, want one for each file", inv.Gaps)
	}
	for i, g := range inv.Gaps {
		if g.Scope != files[i] || !strings.Contains(g.Reason, "interrupted (SIGTERM)") {
			t.Errorf("gap %d = %+v, want %s interrupted by SIGTERM", i, g, files[i])
		}
	}
}

// A malformed line leaves unknown what it held: just its asset where the
// line still names it and its type, anything at all where it does not.
func TestMalformedLineGap(t *testing.T) {
	svc := "//run.googleapis.com/projects/p/locations/l/services/s"
	tests := []struct {
		name, line  string
		asset, kind string
		content     string
	}{
		{"bad field, resource", `{"name":"` + svc + `","asset_type":"run.googleapis.com/Service","resource":{"data":7}}`, svc, "run.googleapis.com/Service", "RESOURCE"},
		{"bad field, policy, camelCase", `{"name":"` + svc + `","assetType":"run.googleapis.com/Service","iamPolicy":{"bindings":"x"}}`, svc, "run.googleapis.com/Service", "IAM_POLICY"},
		{"cut off in its policy", `{"name":"` + svc + `","asset_type":"run.googleapis.com/Service","iam_policy":{"bindings":[{"ro`, svc, "run.googleapis.com/Service", "IAM_POLICY"},
		{"cut off in its resource: a policy may have followed", `{"name":"` + svc + `","asset_type":"run.googleapis.com/Service","resource":{"da`, svc, "run.googleapis.com/Service", ""},
		{"names no type", `{"name":"` + svc + `","resource":{"data":7}}`, "", "", ""},
		{"not an asset name", `{"name":"s","asset_type":"run.googleapis.com/Service","resource":{"data":7}}`, "", "", ""},
		{"not JSON", `not json`, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{"x.ndjson": tc.line + "\n"})
			b := inventory.NewBuilder()
			if err := (&scan.Export{Files: []string{filepath.Join(dir, "x.ndjson")}}).Collect(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			inv := b.Finish()
			if len(inv.Gaps) != 1 {
				t.Fatalf("gaps = %+v, want one", inv.Gaps)
			}
			g := inv.Gaps[0]
			wantScope := filepath.Join(dir, "x.ndjson:1")
			if tc.asset == "" {
				wantScope = filepath.Join(dir, "x.ndjson") // the whole file: anything may be missing
			}
			if g.Scope != wantScope || g.Asset != tc.asset || g.AssetType != tc.kind || g.ContentType != tc.content {
				t.Errorf("gap = %+v, want scope %s asset %q type %q content %q", g, wantScope, tc.asset, tc.kind, tc.content)
			}
		})
	}
}

// A UTF-8 byte-order mark before the first line is not part of the asset.
func TestReadExportByteOrderMark(t *testing.T) {
	data := append([]byte("\uFEFF"), readFile(t, "snake.ndjson")...)
	b := inventory.NewBuilder()
	if _, err := scan.ReadExport(context.Background(), "bom.ndjson", bytes.NewReader(data), b, 2); err != nil {
		t.Fatal(err)
	}
	if inv := b.Finish(); inv.SkippedTotal != 0 || len(inv.Gaps) != 0 {
		t.Errorf("skipped %+v, gaps %+v: the mark broke the first line", inv.Skipped, inv.Gaps)
	}
}
