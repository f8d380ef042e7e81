package imageprobe

import (
	"net/http"
)

// EmulatorHostEnv names the environment variable that, when set to
// host:port, sends every registry request of the probe to that address in
// plaintext whatever registry an image names: for tests and local fakes,
// as CLOUDASSET_EMULATOR_HOST does for Cloud Asset Inventory.
const EmulatorHostEnv = "REGISTRY_EMULATOR_HOST"

// Emulator returns a transport that sends every request to host (host:port)
// over plain HTTP through next (nil: http.DefaultTransport). The registry
// an image names stays in the image reference and the Host header; only the
// connection moves.
func Emulator(host string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &emulator{host: host, next: next}
}

type emulator struct {
	host string
	next http.RoundTripper
}

func (e *emulator) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	// The Host header keeps the registry's name, so that the server's
	// token realm names it too and comes back here.
	r.Host = req.URL.Host
	r.URL.Scheme, r.URL.Host = "http", e.host
	resp, err := e.next.RoundTrip(r)
	if resp != nil {
		// Relative Locations resolve against the registry, not here.
		resp.Request = req
	}
	return resp, err
}
