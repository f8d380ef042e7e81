package bq

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests run the sink against goccy/bigquery-emulator: each test starts
// its own emulator process on free loopback ports (it is up in well under a
// second, and the emulator slows down as jobs accumulate in a project) and
// kills it when the test ends. BIGQUERY_EMULATOR_BIN names the binary
// (.ci/bigquery-emulator.sh builds it and prints its path). Without it the
// emulator tests skip, except under CI, where they fail.

const emulatorProject = "runaudit-test"

// emulator starts an emulator for t and returns its base URL. It marks t
// parallel: each test has its own emulator, and most of a test's time is
// spent waiting on the emulator's job polling.
func emulator(t *testing.T) string {
	t.Helper()
	t.Parallel()
	bin := os.Getenv("BIGQUERY_EMULATOR_BIN")
	if bin == "" {
		const msg = "BIGQUERY_EMULATOR_BIN is not set: build the emulator with .ci/bigquery-emulator.sh and export the path it prints"
		if inCI() {
			t.Fatalf("%s; CI is set, so the BigQuery emulator tests must run", msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("BIGQUERY_EMULATOR_BIN: %v", err)
	}
	var lastErr error
	// A free port can be taken between the check and the start: try again.
	for attempt := 0; attempt < 3; attempt++ {
		httpPort, grpcPort, err := freePorts()
		if err != nil {
			t.Fatal(err)
		}
		var log syncBuffer
		cmd := exec.Command(bin,
			"--project="+emulatorProject,
			"--host=127.0.0.1",
			fmt.Sprintf("--port=%d", httpPort),
			fmt.Sprintf("--grpc-port=%d", grpcPort),
			"--log-level=error",
		)
		cmd.Stdout = &log
		cmd.Stderr = &log
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		stop := func() {
			cmd.Process.Kill()
			<-done
		}
		endpoint := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
		if err := waitReady(endpoint, done); err != nil {
			stop()
			lastErr = fmt.Errorf("emulator %s did not come up: %v\n%s", bin, err, log.String())
			continue
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() && log.Len() > 0 {
				t.Logf("emulator output:\n%s", log.String())
			}
		})
		return endpoint
	}
	t.Fatal(lastErr)
	return ""
}

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// syncBuffer collects the emulator's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

func freePorts() (int, int, error) {
	var ports [2]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

// waitReady polls the emulator until it answers an API request.
func waitReady(endpoint string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := endpoint + "/bigquery/v2/projects/" + emulatorProject + "/datasets"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
