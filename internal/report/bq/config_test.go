package bq

import (
	"context"
	"strings"
	"testing"
)

func TestParseDataset(t *testing.T) {
	tests := []struct {
		in, project, dataset, err string
	}{
		{in: "my-project.runaudit", project: "my-project", dataset: "runaudit"},
		{in: "example.com:my-project.audit_2", project: "example.com:my-project", dataset: "audit_2"},
		{in: "test.ds", project: "test", dataset: "ds"},
		{in: "runaudit", err: "want PROJECT.DATASET"},
		{in: "my-project.", err: "only letters, digits and underscores"},
		{in: ".ds", err: "not a project id"},
		{in: "My-Project.ds", err: "not a project id"},
		{in: "p.ds-with-dash", err: "only letters, digits and underscores"},
		{in: "p`x.ds", err: "not a project id"},
		{in: "p.ds`; DROP TABLE x", err: "only letters"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, d, err := ParseDataset(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDataset(%q) = %q, %q, %v; want error containing %q", tt.in, p, d, err, tt.err)
				}
				return
			}
			if err != nil || p != tt.project || d != tt.dataset {
				t.Fatalf("ParseDataset(%q) = %q, %q, %v; want %q, %q", tt.in, p, d, err, tt.project, tt.dataset)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"no project", Config{Dataset: "d"}, "not a project id"},
		{"bad dataset", Config{Project: "p", Dataset: "a.b"}, "only letters"},
		{"endpoint without scheme", Config{Project: "p", Dataset: "d", Endpoint: "localhost:9050"}, "want http://HOST:PORT"},
		{"endpoint ftp", Config{Project: "p", Dataset: "d", Endpoint: "ftp://x"}, "want http://HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("New: %v; want error containing %q", err, tt.err)
			}
		})
	}
}
