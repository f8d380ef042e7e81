package inventory

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

// Strings keeps one copy of each value, from strings or bytes, under
// concurrent use, and stays usable once released.
func TestStrings(t *testing.T) {
	s := NewStrings()
	first := make([]string, 1000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range first {
				v := fmt.Sprintf("user:u%d@example.com", i)
				var got string
				if (i+w)%2 == 0 {
					got = s.Intern(v)
				} else {
					got = s.InternBytes([]byte(v))
				}
				if got != v {
					t.Errorf("interned %q as %q", v, got)
				}
			}
		})
	}
	wg.Wait()
	for i := range first {
		first[i] = s.Intern(fmt.Sprintf("user:u%d@example.com", i))
	}
	for i := range first {
		again := s.InternBytes(fmt.Appendf(nil, "user:u%d@example.com", i))
		if unsafe.StringData(again) != unsafe.StringData(first[i]) {
			t.Fatalf("%q held twice", again)
		}
	}
	s.Release()
	if got := s.Intern("roles/run.admin"); got != "roles/run.admin" {
		t.Errorf("after Release, Intern gave %q", got)
	}
	if got := s.InternBytes([]byte("user:u1@example.com")); got != "user:u1@example.com" {
		t.Errorf("after Release, InternBytes gave %q", got)
	}
}
