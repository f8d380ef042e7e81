package inventory

import (
	"hash/maphash"
	"sync"
)

// Strings holds one copy of each distinct string: an organization binds a
// few dozen roles and far fewer members than bindings. The export's
// decoders, which run concurrently, and the Builder share one, so that a
// member is copied out of the input once, however many bindings name it.
// It is safe for concurrent use.
type Strings struct {
	seed   maphash.Seed
	shards [64]stringShard
}

type stringShard struct {
	mu sync.Mutex
	m  map[string]string
	_  [48]byte // a shard to a cache line: the decoders contend less
}

// NewStrings returns an empty Strings.
func NewStrings() *Strings {
	s := &Strings{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = map[string]string{}
	}
	return s
}

// Intern returns the one copy of v.
func (s *Strings) Intern(v string) string {
	sh := &s.shards[maphash.String(s.seed, v)%uint64(len(s.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c, ok := sh.m[v]; ok {
		return c
	}
	sh.m[v] = v
	return v
}

// InternBytes returns the one copy of string(b), copying b only when it
// is new.
func (s *Strings) InternBytes(b []byte) string {
	sh := &s.shards[maphash.Bytes(s.seed, b)%uint64(len(s.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c, ok := sh.m[string(b)]; ok {
		return c
	}
	c := string(b)
	sh.m[c] = c
	return c
}

// Release empties s, keeping it usable: once an inventory is built its
// strings are held by the inventory itself, and the set's maps are
// garbage, but a decoder pooled by the JSON package may still refer to the
// set until the collector clears the pool.
func (s *Strings) Release() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.m = map[string]string{}
		sh.mu.Unlock()
	}
}
