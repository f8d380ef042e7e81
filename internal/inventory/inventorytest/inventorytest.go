// Package inventorytest holds checks that tests of several packages make
// on an inventory.
package inventorytest

import (
	"reflect"
	"testing"

	"github.com/runaudit/runaudit/internal/inventory"
)

// CheckRepositories reports every repository of want (by key) that inv
// lacks or holds otherwise; Node is not compared, and no upstreams equal
// an empty list. Repositories beyond want are the caller's to count.
func CheckRepositories(t testing.TB, inv *inventory.Inventory, want map[string]inventory.Repository) {
	t.Helper()
	for k, w := range want {
		r := inv.Repositories[k]
		if r == nil {
			t.Errorf("no repository %s", k)
			continue
		}
		got := *r
		got.Node = nil
		if len(got.Upstreams) == 0 {
			got.Upstreams = nil
		}
		if len(w.Upstreams) == 0 {
			w.Upstreams = nil
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", k, got, w)
		}
	}
}
