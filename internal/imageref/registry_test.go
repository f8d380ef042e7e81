package imageref

import "testing"

func TestLowerHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GCR.IO/Proj/Img:TAG", "gcr.io/Proj/Img:TAG"}, // only the host
		{"LocalHost/Img", "localhost/Img"},
		{"Reg:5000/Img", "reg:5000/Img"},
		{"Library/Nginx", "Library/Nginx"}, // no '.', ':' or localhost: a path, left for the parser to reject
		{"NGINX:V1", "NGINX:V1"},           // no '/': no host
		{"nginx", "nginx"},
	}
	for _, tt := range tests {
		if got := lowerHost(tt.in); got != tt.want {
			t.Errorf("lowerHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitHost(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"gcr.io", "gcr.io", false},
		{"gcr.io:443", "gcr.io", false},
		{"localhost:5000", "localhost", false},
		{"10.0.0.1:5000", "10.0.0.1", false},
		{"[::1]:5000", "[::1]", false},
		{"[fe80::1]", "[fe80::1]", false},
		{"us-central1-docker.pkg.dev", "us-central1-docker.pkg.dev", false},
		{"gcr.io:", "", true},
		{"gcr.io:123456", "", true},
		{"gcr.io:x", "", true},
		{"a..b", "", true},
		{".a", "", true},
		{"a-.com", "", true},
		{"-a.com", "", true},
		{"a_b.com", "", true},
		{"GCR.IO", "", true}, // callers lowercase first
		{"[::1", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := splitHost(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitHost(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("splitHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
