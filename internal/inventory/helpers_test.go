package inventory_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/runaudit/runaudit/internal/inventory"
)

// line is one asset of a fixture with where it came from.
type line struct {
	where string
	asset *assetpb.Asset
}

// decode parses one CAI asset in export (snake_case) or API (camelCase)
// form.
func decode(t *testing.T, js string) *assetpb.Asset {
	t.Helper()
	a := &assetpb.Asset{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(js), a); err != nil {
		t.Fatalf("fixture asset does not decode: %v\n%s", err, js)
	}
	return a
}

// readFixture reads testdata/NAME, one asset per line.
func readFixture(t *testing.T, name string) []line {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		out = append(out, line{fmt.Sprintf("%s:%d", name, n), decode(t, sc.Text())})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// buildFrom adds assets given as JSON in order, each named "case:N".
func buildFrom(t *testing.T, assets ...string) *inventory.Inventory {
	t.Helper()
	b := inventory.NewBuilder()
	for i, js := range assets {
		b.Add(decode(t, js), fmt.Sprintf("case:%d", i+1))
	}
	return b.Finish()
}

// dump prints an inventory in a stable text form for golden files and
// comparisons, and checks that every model object points at the node the
// inventory holds under its key.
func dump(t *testing.T, inv *inventory.Inventory) string {
	t.Helper()
	var w strings.Builder
	fmt.Fprintf(&w, "organization %q\n", inv.Organization)

	nodeKeys := sortedKeys(inv.Nodes)
	for _, k := range nodeKeys {
		n := inv.Nodes[k]
		if n.Key != k {
			t.Errorf("node under %s has key %s", k, n.Key)
		}
		parent := "-"
		if n.Parent != nil {
			parent = n.Parent.Key
			if inv.Nodes[parent] != n.Parent {
				t.Errorf("%s: parent %s is not the inventory's node", k, parent)
			}
		}
		fmt.Fprintf(&w, "node %s %s parent=%s policy=%v\n", k, n.Kind, parent, n.HasPolicy)
		for _, b := range n.Bindings {
			fmt.Fprintf(&w, "  bind %s %s", b.Role, strings.Join(b.Members, " "))
			if c := b.Condition; c != nil {
				fmt.Fprintf(&w, " if %q (%q) %q", c.Title, c.Description, c.Expression)
			}
			w.WriteString("\n")
		}
	}
	for _, num := range sortedKeys(inv.Projects) {
		p := inv.Projects[num]
		if p.Number != num || p.Node == nil || inv.Nodes[p.Node.Key] != p.Node || p.Node.Key != "projects/"+num {
			t.Errorf("project %s: number %s, node %v", num, p.Number, p.Node)
		}
		fmt.Fprintf(&w, "project %s id=%q scanned=%v folders=%v organization=%q\n", num, p.ID, p.Scanned, p.Folders, p.Organization)
	}
	for _, id := range sortedKeys(inv.ProjectIDs) {
		fmt.Fprintf(&w, "project id %s = %s\n", id, inv.ProjectIDs[id])
	}
	for _, r := range inv.Runs {
		if inv.Nodes[r.Node.Key] != r.Node || r.Node.Kind != r.Kind {
			t.Errorf("run %s: node not the inventory's or of another kind", r.Node.Key)
		}
		fmt.Fprintf(&w, "run %s %s shape=%s project=%s location=%s name=%s sa=%q creator=%q lastModifier=%q\n",
			r.Node.Key, r.Kind, r.Shape, r.ProjectNumber, r.Location, r.Name, r.ServiceAccount, r.Creator, r.LastModifier)
		for _, c := range r.Containers {
			fmt.Fprintf(&w, "  container %q %s\n", c.Name, c.Image)
		}
	}
	for _, k := range sortedKeys(inv.Repositories) {
		r := inv.Repositories[k]
		if inv.Nodes[k] != r.Node {
			t.Errorf("repository %s: node not the inventory's", k)
		}
		fmt.Fprintf(&w, "repository %s project=%s location=%s name=%s format=%s mode=%s upstream=%q\n", k, r.ProjectNumber, r.Location, r.Name, r.Format, r.Mode, r.UpstreamSecret)
	}
	for _, k := range sortedKeys(inv.Secrets) {
		s := inv.Secrets[k]
		if inv.Nodes[k] != s.Node {
			t.Errorf("secret %s: node not the inventory's", k)
		}
		fmt.Fprintf(&w, "secret %s project=%s name=%s\n", k, s.ProjectNumber, s.Name)
	}
	for _, k := range sortedKeys(inv.CustomRoles) {
		r := inv.CustomRoles[k]
		if r.Key != k {
			t.Errorf("custom role under %s has key %s", k, r.Key)
		}
		fmt.Fprintf(&w, "role %s stage=%s deleted=%v perms=%v\n", k, r.Stage, r.Deleted, r.Permissions)
	}
	for _, k := range sortedKeys(inv.Counts) {
		fmt.Fprintf(&w, "count %s=%d\n", k, inv.Counts[k])
	}
	var skips []string
	for _, s := range inv.Skipped {
		skips = append(skips, fmt.Sprintf("skipped %s: %s\n", s.Where, s.Reason))
	}
	sort.Strings(skips)
	w.WriteString(strings.Join(skips, ""))
	fmt.Fprintf(&w, "skipped total %d\n", inv.SkippedTotal)
	for _, g := range inv.Gaps {
		fmt.Fprintf(&w, "gap %s %s: %s\n", g.Scope, g.AssetType, g.Reason)
	}
	return w.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
