package scan_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

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

// The export's fast decoder (encoding/json into typed structs) and the
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
