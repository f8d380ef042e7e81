package scan_test

import (
	"bytes"
	"context"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// benchOrg is a synthetic organization of 1,000 projects: 5,000 services
// and jobs, about 50,000 bindings, 13,000 assets. docs/scale.md scales
// the same shape to 20,000 projects.
func benchOrg(b *testing.B) (res, iam []byte, st synthorg.Stats) {
	b.Helper()
	var r, i bytes.Buffer
	_, st, err := synthorg.Generate(synthorg.Config{
		Seed: 1, Org: "100000000001", Projects: 1000, Folders: 20, Services: 4, Jobs: 1, Repos: 1,
		ProjectBindings: 20, ResourceBindings: 6, CrossProject: 0.3, RemoteRepos: 0.05, Findings: 0.01,
	}, &r, &i)
	if err != nil {
		b.Fatal(err)
	}
	return r.Bytes(), i.Bytes(), st
}

// BenchmarkReadExport decodes a whole organization's export into an
// inventory, as --export does.
func BenchmarkReadExport(b *testing.B) {
	res, iam, st := benchOrg(b)
	b.SetBytes(int64(len(res) + len(iam)))
	b.ReportAllocs()
	for b.Loop() {
		bl := inventory.NewBuilder()
		for _, data := range [][]byte{res, iam} {
			if _, err := scan.ReadExport(context.Background(), "org", bytes.NewReader(data), bl, 0); err != nil {
				b.Fatal(err)
			}
		}
		if inv := bl.Finish(); len(inv.Runs) != st.Services+st.Jobs {
			b.Fatalf("read %d runs", len(inv.Runs))
		}
	}
	b.ReportMetric(float64(st.Assets)*float64(b.N)/b.Elapsed().Seconds(), "assets/s")
}

// BenchmarkLiveCollect reads the same organization through the real asset
// client from the fake server, without latency or quota: the client-side
// cost of the live path, and its API calls per service.
func BenchmarkLiveCollect(b *testing.B) {
	res, iam, st := benchOrg(b)
	var assets []*assetpb.Asset
	for _, data := range [][]byte{res, iam} {
		as, err := caifake.Load(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		assets = append(assets, as...)
	}
	_, cl, pacer := serve(b, assets, 0)
	b.ReportAllocs()
	for b.Loop() {
		bl := inventory.NewBuilder()
		if err := (&scan.Live{Client: cl, Scope: "organizations/100000000001"}).Collect(context.Background(), bl); err != nil {
			b.Fatal(err)
		}
		if inv := bl.Finish(); len(inv.Runs) != st.Services+st.Jobs || len(inv.Gaps) > 0 {
			b.Fatalf("read %d runs, gaps %v", len(inv.Runs), inv.Gaps)
		}
	}
	calls := float64(pacer.Calls()) / float64(b.N)
	b.ReportMetric(calls, "calls/op")
	b.ReportMetric(calls/float64(st.Services+st.Jobs), "calls/service")
	b.ReportMetric(float64(st.Assets)*float64(b.N)/b.Elapsed().Seconds(), "assets/s")
}
