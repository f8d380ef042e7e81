package imageref

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		host     string
		class    Class
		location string
		wantErr  bool
	}{
		{"gcr.io", ContainerRegistry, "us", false},
		{"us.gcr.io", ContainerRegistry, "us", false},
		{"eu.gcr.io", ContainerRegistry, "europe", false},
		{"asia.gcr.io", ContainerRegistry, "asia", false},
		{"mirror.gcr.io", Public, "", false},
		{"k8s.gcr.io", Public, "", false},
		{"marketplace.gcr.io", Public, "", false},
		{"staging-k8s.gcr.io", Public, "", false},
		{"europe.gcr.io", Public, "", false}, // not one of the four
		{"us-docker.pkg.dev", ArtifactRegistry, "us", false},
		{"europe-docker.pkg.dev", ArtifactRegistry, "europe", false},
		{"asia-docker.pkg.dev", ArtifactRegistry, "asia", false},
		{"us-central1-docker.pkg.dev", ArtifactRegistry, "us-central1", false},
		{"asia-northeast1-docker.pkg.dev", ArtifactRegistry, "asia-northeast1", false},
		{"me-central2-docker.pkg.dev", ArtifactRegistry, "me-central2", false},
		{"us-python.pkg.dev", "", "", true},
		{"us-npm.pkg.dev", "", "", true},
		{"europe-maven.pkg.dev", "", "", true},
		{"docker.pkg.dev", "", "", true},
		{"pkg.dev", "", "", true},
		{"-docker.pkg.dev", "", "", true},
		{"1us-docker.pkg.dev", "", "", true},
		{"us--docker.pkg.dev", "", "", true},
		{"index.docker.io", Public, "", false},
		{"ghcr.io", Public, "", false},
		{"quay.io", Public, "", false},
		{"registry.k8s.io", Public, "", false},
		{"localhost", Public, "", false},
		{"pkg.dev.example.com", Public, "", false},
		{"docker.pkg.dev.example.com", Public, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			class, loc, err := classify(tt.host)
			if (err != nil) != tt.wantErr {
				t.Fatalf("classify(%q) error = %v, wantErr %v", tt.host, err, tt.wantErr)
			}
			if class != tt.class || loc != tt.location {
				t.Errorf("classify(%q) = %q, %q; want %q, %q", tt.host, class, loc, tt.class, tt.location)
			}
		})
	}
}
