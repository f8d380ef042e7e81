package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/scan"
)

func TestQuotaProjectFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
		err  string
	}{
		{"unset: ADC decides", nil, nil, "", ""},
		{"flag", []string{"--quota-project", "audit-billing"}, nil, "audit-billing", ""},
		{"env", nil, map[string]string{"AUDIT_QUOTA_PROJECT": "audit-billing"}, "audit-billing", ""},
		{"flag wins over env", []string{"--quota-project", "audit-billing"}, map[string]string{"AUDIT_QUOTA_PROJECT": "other-proj"}, "audit-billing", ""},
		{"project number", []string{"--quota-project", "123456789012"}, nil, "123456789012", ""},
		{"not a project id", []string{"--quota-project", "Audit Billing"}, nil, "", "--quota-project"},
		{"a resource name", []string{"--quota-project", "projects/x/y"}, nil, "", "--quota-project"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseConfig(append([]string{"--export", "x"}, tc.args...), func(k string) string { return tc.env[k] }, &stderr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want a usage error naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.QuotaProject != tc.want {
				t.Errorf("QuotaProject %q, want %q", cfg.QuotaProject, tc.want)
			}
			opts := cfg.googleOptions(apiAsset)
			if has := len(opts) == 1; has != (tc.want != "") {
				t.Errorf("client options %v: want WithQuotaProject only when a quota project is given", opts)
			}
		})
	}
}

// headers records the x-goog-user-project each fake API saw.
type headers struct {
	mu   sync.Mutex
	seen map[string]map[string]int // api → quota project → calls
}

func (h *headers) add(api, v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[api] == nil {
		h.seen[api] = map[string]int{}
	}
	h.seen[api][v]++
}

func (h *headers) get(api string) map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.seen[api])
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it:
// clients send credentials, and with them the quota project, only over
// TLS on gRPC.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// quotaFakes starts a fake for every API the run calls, each recording
// the quota project its calls carry, and points the run's clients at them
// with credentials (a static token). Cloud Asset Inventory serves the
// example organization; the others refuse every call with
// PERMISSION_DENIED, which the run survives as gaps, UNKNOWN verdicts or
// a failed sink, after having sent the call.
func quotaFakes(t *testing.T) (*caifake.Server, *headers) {
	t.Helper()
	h := &headers{seen: map[string]map[string]int{}}
	cert, pool := selfSigned(t)
	creds := credentials.NewServerTLSFromCert(&cert)

	cai, _ := acmeFake(t) // its plaintext listener is not used
	gs := grpc.NewServer(grpc.Creds(creds))
	assetpb.RegisterAssetServiceServer(gs, cai)
	caiAddr := serveGRPC(t, gs)

	// IAM v2 and Policy Troubleshooter: any method is recorded, then refused.
	other := grpc.NewServer(grpc.Creds(creds), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		api := apiIAM
		if strings.Contains(method, "policytroubleshooter") {
			api = apiTroubleshooter
		}
		md, _ := metadata.FromIncomingContext(stream.Context())
		for _, v := range md.Get("x-goog-user-project") {
			h.add(api, v)
		}
		if len(md.Get("x-goog-user-project")) == 0 {
			h.add(api, "")
		}
		return status.Error(codes.PermissionDenied, "fake: refused")
	}))
	otherAddr := serveGRPC(t, other)

	rest := map[string]*httptest.Server{}
	for _, api := range []string{apiCloudIdentity, apiBigQuery, apiStorage} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.add(api, r.Header.Get("X-Goog-User-Project"))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":403,"message":"fake: refused","status":"PERMISSION_DENIED"}}`))
		}))
		t.Cleanup(srv.Close)
		rest[api] = srv
	}

	token := option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "fake-token"}))
	tlsDial := option.WithGRPCDialOption(grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
	testClientOptions = func(api string) []option.ClientOption {
		switch api {
		case apiAsset:
			return []option.ClientOption{option.WithEndpoint(caiAddr), tlsDial, token}
		case apiIAM, apiTroubleshooter:
			return []option.ClientOption{option.WithEndpoint(otherAddr), tlsDial, token}
		case apiStorage:
			return []option.ClientOption{option.WithEndpoint(rest[api].URL + "/storage/v1/"), token}
		default:
			return []option.ClientOption{option.WithEndpoint(rest[api].URL + "/"), token}
		}
	}
	t.Cleanup(func() { testClientOptions = nil })

	// Preflight wants Application Default Credentials for the real APIs;
	// the clients use the token above instead.
	key := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(key, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", key)
	t.Setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "")
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	return cai, h
}

func serveGRPC(t *testing.T, s *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// TestQuotaProjectReachesEveryAPI runs the job live, with every API it
// can call turned on, and requires each call to bill the quota project
// given: --quota-project, or else the one Application Default Credentials
// name (GOOGLE_CLOUD_QUOTA_PROJECT here), never a mix.
func TestQuotaProjectReachesEveryAPI(t *testing.T) {
	live := []string{"--org", "123456789012", "--at", "2026-11-01T00:00:00Z", "--log-format", "json",
		"--resolve-groups", "--groups-qps", "1000", "--read-deny-policies", "--deny-policies-rate", "60000",
		"--confirm", "--confirm-rate", "60000", "--report-uri", "gs://audit-reports/runs/", "--bq-dataset", "audit-proj.runaudit",
		// The Logging API has no fake here; its client takes the same
		// googleOptions as the others.
		"--audit-logs=false"}
	apis := []string{apiAsset, apiCloudIdentity, apiIAM, apiTroubleshooter, apiBigQuery, apiStorage}

	t.Run("flag, at the default ListAssets pace", func(t *testing.T) {
		cai, h := quotaFakes(t)
		t.Setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "adc-proj") // the flag wins
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(context.Background(), append(live, "--out", t.TempDir(), "--quota-project", "audit-billing"), noEnv, &stdout, &stderr)
		took := time.Since(start)
		if code != exitFailed { // the sinks were refused
			t.Errorf("exit %d, want %d (BigQuery and the upload refused); stderr:\n%s", code, exitFailed, stderr.String())
		}
		calls := cai.Stats().Calls
		if got := cai.Metadata("x-goog-user-project"); !maps.Equal(got, map[string]int{"audit-billing": calls}) || calls == 0 {
			t.Errorf("Cloud Asset Inventory: %d calls, quota projects %v; want every call to bill audit-billing", calls, got)
		}
		for _, api := range apis[1:] {
			if got := h.get(api); len(got) != 1 || got["audit-billing"] == 0 {
				t.Errorf("%s: quota projects %v, want only audit-billing", api, got)
			}
		}
		// Paced at the default: a burst of one, then the rest at the
		// default rate, which leaves the quota project's 100 a minute
		// headroom (internal/scan's TestDefaultPacingFitsProjectQuota).
		perSecond := float64(scan.DefaultListAssetsPerMinute-1) / 60
		if least := time.Duration(float64(calls-1) / perSecond * float64(time.Second)); took < least {
			t.Errorf("%d ListAssets calls took %v, want at least %v at the default %d a minute", calls, took, least, scan.DefaultListAssetsPerMinute)
		}
	})

	t.Run("ADC's quota project", func(t *testing.T) {
		cai, h := quotaFakes(t)
		t.Setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "adc-proj")
		var stdout, stderr bytes.Buffer
		run(context.Background(), append(live, "--out", t.TempDir(), "--list-assets-qpm", "0"), noEnv, &stdout, &stderr)
		calls := cai.Stats().Calls
		if got := cai.Metadata("x-goog-user-project"); !maps.Equal(got, map[string]int{"adc-proj": calls}) || calls == 0 {
			t.Errorf("Cloud Asset Inventory: %d calls, quota projects %v; want every call to bill adc-proj", calls, got)
		}
		for _, api := range apis[1:] {
			if got := h.get(api); len(got) != 1 || got["adc-proj"] == 0 {
				t.Errorf("%s: quota projects %v, want only adc-proj", api, got)
			}
		}
	})

	t.Run("reading an export from Cloud Storage", func(t *testing.T) {
		_, h := quotaFakes(t)
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--export", "gs://exports/acme/", "--out", t.TempDir(), "--quota-project", "audit-billing", "--log-format", "json"}, noEnv, &stdout, &stderr)
		if code == exitOK {
			t.Errorf("exit 0 from a refused bucket")
		}
		if got := h.get(apiStorage); len(got) != 1 || got["audit-billing"] == 0 {
			t.Errorf("storage: quota projects %v, want only audit-billing; stderr:\n%s", got, stderr.String())
		}
	})
}
