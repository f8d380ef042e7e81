package scan_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// assetFixtures are every CAI export fixture in the repository (files
// that hold assets; the BigQuery sink's row samples do not), the shared
// format sample, and synthetic organizations of several seeds.
func assetFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pattern := range []string{
		"../../examples/*/*.ndjson", "../*/testdata/*.ndjson", "testdata/*.ndjson",
		"../../cmd/audit/testdata/*/*.ndjson", "../../../shared/cai-format/*.ndjson",
	} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if filepath.Base(filepath.Dir(p)) == "testdata" && filepath.Base(filepath.Dir(filepath.Dir(p))) == "bq" {
				continue // rows, not assets
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = b
		}
	}
	for _, seed := range []uint64{1, 2, 3} {
		var res, iam bytes.Buffer
		cfg := synthorg.Config{Seed: seed, Org: "100000000001", Projects: 30, Folders: 4, Services: 2, Jobs: 2, WorkerPools: 1, Repos: 2,
			ProjectBindings: 8, ResourceBindings: 3, CrossProject: 0.5, RemoteRepos: 0.5, VirtualRepos: 0.4, Functions: 0.3, Findings: 0.3, Inherited: true}
		if _, _, err := synthorg.Generate(cfg, &res, &iam); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("synthorg seed %d", seed)] = append(res.Bytes(), iam.Bytes()...)
	}
	return out
}

// The export's fast decoder (encoding/json v2 into typed structs) and the
// protojson decoder the live path shares give the same inventory, line for
// line: the same lines decode or fail, and the inventories built from what
// decodes are identical.
func TestDecodersGiveTheSameInventory(t *testing.T) {
	fixtures := assetFixtures(t)
	if len(fixtures) < 10 {
		t.Fatalf("only %d fixtures found: the globs are wrong", len(fixtures))
	}
	assetFiles := 0
	defer func() {
		if assetFiles < 10 {
			t.Errorf("only %d fixtures held assets: the comparison proves little", assetFiles)
		}
	}()
	for name, data := range fixtures {
		t.Run(name, func(t *testing.T) {
			proto, typed := inventory.NewBuilder(), inventory.NewBuilder()
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 8<<20)
			lines, decoded := 0, 0
			for sc.Scan() {
				lines++
				l := bytes.TrimSpace(sc.Bytes())
				if len(l) == 0 {
					continue
				}
				where := fmt.Sprintf("%s:%d", name, lines)
				a, perr := scan.DecodeAsset(l)
				r, terr := scan.DecodeRecord(l)
				if (perr == nil) != (terr == nil) {
					t.Errorf("%s: protojson error %v, typed error %v", where, perr, terr)
					continue
				}
				if perr != nil {
					continue
				}
				decoded++
				proto.Add(a, where)
				typed.AddRecord(r, where)
			}
			if decoded == 0 {
				return // not an asset file (deny policies): both decoders refuse every line
			}
			assetFiles++
			if p, q := digest(proto.Finish()), digest(typed.Finish()); p != q {
				t.Errorf("inventories differ:\n%s", firstDifference(p, q))
			}
		})
	}
}

func firstDifference(a, b string) string {
	al, bl := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("protojson: %s\ntyped:     %s", al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines vs %d", len(al), len(bl))
}

// decoderEdgeCases are export lines on which a JSON decoder's choices
// show: duplicate names, both spellings of a key, names in another case,
// invalid UTF-8, escapes, nulls and numbers where strings belong.
var decoderEdgeCases = []string{
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectNumber":"12"}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectNumber":12}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectNumber":null}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectId":"q","projectNumber":"12"}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","name":"//cloudresourcemanager.googleapis.com/projects/q","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectNumber":"12"}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","assetType":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectNumber":"12"}}}`,
	`{"NAME":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p","projectNumber":"12"}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"ProjectId":"p","projectNumber":"12"}}}`,
	"{\"name\":\"//cloudresourcemanager.googleapis.com/projects/p\xff\",\"asset_type\":\"cloudresourcemanager.googleapis.com/Project\",\"resource\":{\"data\":{\"projectId\":\"p\",\"projectNumber\":\"12\"}}}",
	`{"name":"//cloudresourcemanager.googleapis.com/projects/p\u0070","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p\ud800","projectNumber":"12"}}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/12","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[{"role":"roles/run.admin","members":["user:a@x.com","user:a@x.com"]},{"Role":"roles/run.admin","members":["user:b@x.com"]}]}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/12","asset_type":"cloudresourcemanager.googleapis.com/Project","iamPolicy":{"bindings":[{"role":"roles/run.admin","members":["user:a@x.com"],"condition":{"title":"t","expression":"true"}},{"role":"roles/run.admin","members":null,"condition":{}}]}}`,
	`{"name":"//cloudresourcemanager.googleapis.com/projects/12","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[{"role":"roles/run.admin","role":"roles/owner","members":["user:a@x.com"]}]}}`,
	`{"name":"//run.googleapis.com/projects/p/locations/l/services/s","asset_type":"run.googleapis.com/Service","ancestors":["projects/12"],"resource":{"location":"l","data":{"template":{"containers":[{"image":"l-docker.pkg.dev/p/r/i"}],"Containers":[]},"labels":{"a":"b","a":"c"}}}}`,
	`{"name":"//run.googleapis.com/projects/p/locations/l/services/s","asset_type":"run.googleapis.com/Service","ancestors":["projects/12"],"resource":{"location":"l","data":{"apiVersion":"serving.knative.dev/v1","spec":{"template":{"spec":{"containers":[{"image":"gcr.io/p/i"}]}}}}}}`,
	`{"name":"//run.googleapis.com/projects/p/locations/l/services/s","asset_type":"run.googleapis.com/Service","ancestors":["projects/12"],"resource":{"location":"l","data":{"template":{"containers":[{"image":7}]}}}}`,
	`{"name":"//iam.googleapis.com/projects/p/roles/r","asset_type":"iam.googleapis.com/Role","ancestors":["projects/12"],"resource":{"data":{"stage":"GA","deleted":"true","includedPermissions":["run.services.update"]}}}`,
	`{"name":"//iam.googleapis.com/projects/p/roles/r","asset_type":"iam.googleapis.com/Role","ancestors":["projects/12"],"resource":{"data":{"stage":"GA","deleted":false,"includedPermissions":["run.services.update"]}}} `,
	`{"name":"//iam.googleapis.com/projects/p/roles/r","asset_type":"iam.googleapis.com/Role"} {}`,
	`{"name":"x","asset_type":"t","unknown":{"deep":[1,2,{"x":null}]},"update_time":"2024-01-01T00:00:00Z"}`,
	`[]`, `null`, `{}`, `{"name":1}`,
}

// FuzzDecodersAgree holds the export's fast decoder to protojson's on any
// line. Where both accept it, they build the same inventory. The fast
// decoder reads only the fields the audit reads and skips the rest unread,
// so where it accepts a line protojson refuses, protojson must accept the
// line cut down to those fields and build the same inventory from it. It
// refuses duplicate names anywhere in a line, where protojson refuses them
// only in the fields it decodes: that is the one refusal protojson need not
// share. And it accepts, unread, a number beyond float64 or nesting past
// protojson's recursion limit in resource.data, which protojson refuses. Its seeds are every line of the fixtures and the edge cases above,
// so `go test` checks those; `go test -fuzz FuzzDecodersAgree` searches
// further.
func FuzzDecodersAgree(f *testing.F) {
	for _, line := range decoderEdgeCases {
		f.Add([]byte(line))
	}
	for name, data := range assetFixtures(&testing.T{}) {
		if strings.HasPrefix(name, "synthorg") {
			continue // the fixture files cover the same shapes
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				f.Add(l)
			}
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		a, perr := scan.DecodeAsset(line)
		r, terr := scan.DecodeRecord(line)
		switch {
		case perr != nil && terr != nil:
			return
		case perr == nil && terr != nil:
			if jsontext.Value(line).IsValid() {
				t.Fatalf("%q: protojson accepts it, the typed decoder refuses it: %v", line, terr)
			}
			return // duplicate names (or invalid UTF-8) where protojson does not look
		case perr != nil && terr == nil:
			cut, err := specAuditedCut(line)
			if err != nil {
				t.Fatalf("%q: the typed decoder accepts it, but it cannot be cut down: %v", line, err)
			}
			if a, perr = scan.DecodeAsset(cut); perr != nil && beyondProtojson(cut) {
				return // DecodeRecord's documented exceptions
			}
			if perr != nil {
				t.Fatalf("%q: the typed decoder accepts it, protojson refuses it (%v) and its audited fields %s (%v)", line, err, cut, perr)
			}
		}
		proto, typed := inventory.NewBuilder(), inventory.NewBuilder()
		proto.Add(a, "line:1")
		typed.AddRecord(r, "line:1")
		p, q := proto.Finish(), typed.Finish()
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%q: inventories differ:\n%s", line, firstDifference(digest(p), digest(q)))
		}
		// The export reader's way: bindings of roles the audit does not
		// keep are dropped as they are read, the rest interned. (It reads
		// lines, so a value spread over several, or after a byte order
		// mark, is another matter.)
		if bytes.IndexByte(line, '\n') >= 0 || bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
			return
		}
		proto, read := inventory.NewBuilder(), inventory.NewBuilder()
		proto.KeepRoles(access.Predefined().MayGrant)
		read.KeepRoles(access.Predefined().MayGrant)
		proto.Add(a, "line:1")
		if _, err := scan.ReadExport(context.Background(), "line", bytes.NewReader(line), read, 1); err != nil {
			t.Fatal(err)
		}
		if p, q := proto.Finish(), read.Finish(); !reflect.DeepEqual(p, q) {
			t.Fatalf("%q: with KeepRoles, inventories differ:\n%s", line, firstDifference(digest(p), digest(q)))
		}
	})
}

// beyondProtojson reports whether a line holds what DecodeRecord accepts
// unread and protojson refuses in resource.data, DecodeRecord's documented
// exceptions: a number beyond float64, or nesting past protojson's
// recursion limit.
func beyondProtojson(line []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(line))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if dec.StackDepth() > 9000 {
			return true
		}
		if tok.Kind() == '0' {
			if _, err := strconv.ParseFloat(tok.String(), 64); err != nil {
				return true
			}
		}
	}
}

// A refused line's error says where in the line, and what was wrong, in
// JSON's words rather than the decoder's Go types.
func TestDecodeRecordErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"name":5,"asset_type":"t"}`, "at /name: a number where a string belongs"},
		{`{"name":"n","asset_type":"t","ancestors":"projects/1"}`, "at /ancestors: the value is a string, want an array of strings"},
		{`{"name":"n","asset_type":"t","ancestors":[null,"projects/1"]}`, "at /ancestors: an element is null, want a string"},
		{`{"name":"n","asset_type":"t","iam_policy":{"bindings":{}}}`, "at /iam_policy/bindings: the value is an object, want an array of bindings"},
		{`{"name":"n","asset_type":"t","iam_policy":{"bindings":[{"role":"r","members":[7]}]}}`, "at /iam_policy/bindings/0/members: a member is a number, want a string"},
		{`{"name":"n","asset_type":"t","iam_policy":{"bindings":[{"condition":{"title":5}}]}}`, "at /iam_policy/bindings/0/condition/title: a number where a string belongs"},
		{`{"name":"n","asset_type":"t","resource":{"data":{"a":1,"a":2}}}`, `duplicate object member name "a"`},
		{`{"name":"n","asset_type":"t","assetType":"t"}`, `duplicate field "assetType"`},
		{`{"name":"n","asset_type":"t"`, "unexpected EOF"},
		// A syntax error where a shape is checked is reported as one.
		{`{"name":"n","asset_type":"t","iam_policy":{"bindings":x}}`, "invalid character 'x'"},
		{`{"name":"n","asset_type":"t","iam_policy":{"bindings":[{"members":x}]}}`, "invalid character 'x'"},
		{`{"name":"n","asset_type":"t","ancestors":x}`, "invalid character 'x'"},
		{`{"name":"n","asset_type":"t","ancestors":[x]}`, "invalid character 'x'"},
		{"{\"name\":\"n\xff\",\"asset_type\":\"t\"}", "invalid UTF-8"},
	} {
		_, err := scan.DecodeRecord([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeRecord(%s) error %v, want one containing %q", tc.line, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Go ") {
			t.Errorf("DecodeRecord(%s) error %q names a Go type", tc.line, err)
		}
	}
}

// The export reader copies a member out of the input once however many
// bindings name it, and drops the bindings of roles the Builder does not
// keep as it reads them, still counting them.
func TestReadExportInternsAndDrops(t *testing.T) {
	export := `{"name":"//cloudresourcemanager.googleapis.com/projects/1","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[{"role":"roles/logging.viewer","members":["user:a@x.com"]},{"role":"roles/run.developer","members":["user:a@x.com","group:g@x.com"]}]}}
{"name":"//cloudresourcemanager.googleapis.com/projects/2","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[{"members":["user:a@x.com"],"role":"roles/artifactregistry.reader"},{"members":["user:b@x.com"],"role":"roles/browser"}]}}
`
	b := inventory.NewBuilder()
	b.KeepRoles(access.Predefined().MayGrant)
	if _, err := scan.ReadExport(context.Background(), "x", strings.NewReader(export), b, 2); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if got := inv.Counts["bindings"]; got != 4 {
		t.Errorf("Counts[bindings] = %d, want 4 (kept or not)", got)
	}
	p1, p2 := inv.Nodes["projects/1"], inv.Nodes["projects/2"]
	if p1 == nil || p2 == nil || len(p1.Bindings) != 1 || len(p2.Bindings) != 1 {
		t.Fatalf("kept bindings: %+v, %+v; want roles/run.developer and roles/artifactregistry.reader only", p1, p2)
	}
	if p1.Bindings[0].Role != "roles/run.developer" || p2.Bindings[0].Role != "roles/artifactregistry.reader" {
		t.Fatalf("kept %s and %s", p1.Bindings[0].Role, p2.Bindings[0].Role)
	}
	a1, a2 := p1.Bindings[0].Members[0], p2.Bindings[0].Members[0]
	if a1 != "user:a@x.com" || unsafe.StringData(a1) != unsafe.StringData(a2) {
		t.Errorf("user:a@x.com held twice (%p, %p): not interned", unsafe.StringData(a1), unsafe.StringData(a2))
	}
}

// The Builder takes an export's lines in the order they were read, however
// the decoding workers are scheduled: of one asset read twice, the later
// line wins even across the boundary of two batches decoded at once, and
// skipped lines are listed in line order.
func TestReadExportKeepsLineOrder(t *testing.T) {
	policy := func(project int, role, member string) string {
		return fmt.Sprintf(`{"name":"//cloudresourcemanager.googleapis.com/projects/%d","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[{"role":%q,"members":[%q]}]}}`, project, role, member)
	}
	var export strings.Builder
	for i := range 255 { // the reader's batches hold 256 lines
		export.WriteString(policy(1000+i, "roles/run.admin", "user:filler@example.com") + "\n")
	}
	export.WriteString(policy(7, "roles/run.admin", "user:earlier@example.com") + "\n")   // line 256
	export.WriteString(policy(7, "roles/run.developer", "user:later@example.com") + "\n") // line 257
	for i := range 2000 {
		if i%37 == 0 {
			export.WriteString("{not json\n")
			continue
		}
		export.WriteString(policy(5000+i, "roles/run.admin", "user:x@example.com") + "\n")
	}
	for run := range 40 {
		workers := []int{2, 8}[run%2]
		b := inventory.NewBuilder()
		if _, err := scan.ReadExport(context.Background(), "x", strings.NewReader(export.String()), b, workers); err == nil {
			t.Fatal("no error for the malformed lines that name no asset")
		}
		inv := b.Finish()
		n := inv.Nodes["projects/7"]
		if n == nil || len(n.Bindings) != 1 || n.Bindings[0].Role != "roles/run.developer" {
			t.Fatalf("workers=%d: projects/7 holds %+v, want line 257's policy (roles/run.developer)", workers, n)
		}
		if inv.Counts["duplicate_policies"] != 1 {
			t.Errorf("workers=%d: duplicate_policies = %d, want 1", workers, inv.Counts["duplicate_policies"])
		}
		last := 0
		for _, s := range inv.Skipped {
			line, err := strconv.Atoi(strings.TrimPrefix(s.Where, "x:"))
			if err != nil || line <= last {
				t.Fatalf("workers=%d: skipped %q after line %d: not in line order", workers, s.Where, last)
			}
			last = line
		}
		if len(inv.Skipped) != 55 {
			t.Errorf("workers=%d: %d lines skipped, want 55", workers, len(inv.Skipped))
		}
	}
}
