package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// The bound decodes every line and predicts exactly the ListAssets calls
// the live mode makes over the same organization.
func TestBoundCountsAndPredictsListAssetsCalls(t *testing.T) {
	dir := t.TempDir()
	var r, i bytes.Buffer
	_, st, err := synthorg.Generate(synthorg.Config{
		Seed: 1, Org: "100000000001", Projects: 300, Folders: 6, Services: 4, Jobs: 1, Repos: 1,
		ProjectBindings: 3, ResourceBindings: 1, CrossProject: 0.3, RemoteRepos: 0.05, Findings: 0.01,
	}, &r, &i)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"resources.ndjson": r.Bytes(), "iam.ndjson": i.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"-workers", "3", dir}, &out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Assets          int `json:"assets"`
		Bindings        int `json:"bindings"`
		ListAssetsCalls int `json:"list_assets_calls"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if got.Assets != st.Assets || got.Bindings != st.Bindings {
		t.Errorf("counted %d assets, %d bindings; the generator wrote %d and %d", got.Assets, got.Bindings, st.Assets, st.Bindings)
	}

	var assets []*assetpb.Asset
	for _, b := range [][]byte{r.Bytes(), i.Bytes()} {
		as, err := caifake.Load(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		assets = append(assets, as...)
	}
	srv := caifake.New(assets)
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cl, err := scan.NewAssetClient(context.Background(), scan.ClientConfig{EmulatorHost: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := (&scan.Live{Client: cl, Scope: "organizations/100000000001"}).Collect(context.Background(), inventory.NewBuilder()); err != nil {
		t.Fatal(err)
	}
	if calls := srv.Stats().Calls; got.ListAssetsCalls != calls || calls <= 15 {
		t.Errorf("predicted %d ListAssets calls, the live mode made %d (want more than one a stream)", got.ListAssetsCalls, calls)
	}
}

func TestBoundRejects(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.ndjson"), []byte("{\"name\":\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"/nonexistent"}, {dir}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
