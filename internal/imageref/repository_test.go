package imageref

import (
	"strings"
	"testing"
)

func TestCheckRepositoryID(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"app", false},
		{"a", false},
		{"my-repo-1", false},
		{strings.Repeat("r", 63), false},
		{"gcr.io", false},
		{"us.gcr.io", false},
		{"eu.gcr.io", false},
		{"asia.gcr.io", false},
		{strings.Repeat("r", 64), true},
		{"mirror.gcr.io", true},
		{"1app", true},
		{"app-", true},
		{"my_repo", true},
		{"my.repo", true},
		{"", true},
	}
	for _, tt := range tests {
		if err := checkRepositoryID(tt.in); (err != nil) != tt.wantErr {
			t.Errorf("checkRepositoryID(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestRepositoryName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"us-central1-docker.pkg.dev/my-proj/app/team/checkout:v1", "projects/my-proj/locations/us-central1/repositories/app"},
		{"us-docker.pkg.dev/example.com/my-proj/app/img", "projects/example.com:my-proj/locations/us/repositories/app"},
		{"us-docker.pkg.dev/my-proj/gcr.io/img", "projects/my-proj/locations/us/repositories/gcr.io"},
		{"gcr.io/my-proj/img", "projects/my-proj/locations/us/repositories/gcr.io"},
		{"us.gcr.io/my-proj/img", "projects/my-proj/locations/us/repositories/us.gcr.io"},
		{"eu.gcr.io/my-proj/img", "projects/my-proj/locations/europe/repositories/eu.gcr.io"},
		{"asia.gcr.io/my-proj/img", "projects/my-proj/locations/asia/repositories/asia.gcr.io"},
		{"gcr.io/example.com/my-proj/img@" + sha256A, "projects/example.com:my-proj/locations/us/repositories/gcr.io"},
		{"nginx", ""},
		{"mirror.gcr.io/library/nginx", ""},
		{"ghcr.io/o/a", ""},
		{"localhost:5000/a", ""},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := r.RepositoryName(); got != tt.want {
			t.Errorf("Parse(%q).RepositoryName() = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (Ref{}).RepositoryName(); got != "" {
		t.Errorf("zero Ref RepositoryName() = %q, want \"\"", got)
	}
}
