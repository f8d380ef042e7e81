package scan

import (
	"fmt"
	"testing"
)

func TestShardType(t *testing.T) {
	for _, tc := range []struct{ prefix, uri, want string }{
		{"gs://b/p/run/resource", "gs://b/p/run/resource/run.googleapis.com/Service/3", "run.googleapis.com/Service"},
		{"gs://b/p/run/resource", "gs://b/p/run/resource/cloudresourcemanager.googleapis.com/Project/0", "cloudresourcemanager.googleapis.com/Project"},
		{"gs://b/p/run/resource", "gs://b/elsewhere/run.googleapis.com/Service/3", ""},
		{"gs://b/p", "gs://b/p/shard", ""},
	} {
		if got := shardType(tc.prefix, tc.uri); got != tc.want {
			t.Errorf("shardType(%q, %q) = %q, want %q", tc.prefix, tc.uri, got, tc.want)
		}
	}
}

// One export per content type, over exactly the types the ListAssets
// streams read.
func TestExportSets(t *testing.T) {
	for _, tc := range []struct {
		scope string
		want  string
	}{
		{"organizations/1", "[RESOURCE:9 IAM_POLICY:8]"},
		{"folders/2", "[RESOURCE:8 IAM_POLICY:7]"},
		{"projects/p-123456", "[RESOURCE:7 IAM_POLICY:6]"},
	} {
		var got []string
		streams := 0
		for _, s := range exportSets(tc.scope) {
			got = append(got, fmt.Sprintf("%s:%d", s.content, len(s.types)))
			streams += len(s.types)
		}
		if fmt.Sprint(got) != tc.want || streams != len(scopeStreams(tc.scope)) {
			t.Errorf("%s: %v, want %s covering all %d streams", tc.scope, got, tc.want, len(scopeStreams(tc.scope)))
		}
	}
}
