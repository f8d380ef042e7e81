// Command caifake serves Cloud Asset Inventory export files, given as
// arguments, through a fake AssetService (internal/caifake), so that the
// live collection can be run by hand and measured, and can inject the
// faults the tests inject:
//
//	caifake --listen 127.0.0.1:8087 --latency 100ms /tmp/org/export &
//	CLOUDASSET_EMULATOR_HOST=127.0.0.1:8087 audit --org 100000000001 --out /tmp/out
//
// It prints its statistics when stopped (SIGINT or SIGTERM). caifake
// --help lists the faults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/scan"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintf(os.Stderr, "caifake: %v (see caifake --help)\n", err)
		os.Exit(2)
	}
}

// faultKinds maps each fault a --fault names to the status the fake
// answers with; OK with a delay slows calls down instead.
var faultKinds = []struct {
	name string
	code codes.Code
	what string
}{
	{"refused", codes.PermissionDenied, "PERMISSION_DENIED, as for a caller without cloudasset.assets.list*"},
	{"unavailable", codes.Unavailable, "UNAVAILABLE, which the client retries"},
	{"quota", codes.ResourceExhausted, "RESOURCE_EXHAUSTED, a quota exceeded"},
	{"deadline", codes.DeadlineExceeded, "DEADLINE_EXCEEDED, the service's own timeout"},
	{"slow", codes.OK, "no error: with delay=D, answers late"},
}

const usage = `Usage: caifake [flags] EXPORT...

Serves the Cloud Asset Inventory export files given as arguments (NDJSON,
.gz allowed, or directories of them; resource and IAM-policy exports mixed)
through a fake AssetService over gRPC: ListAssets with real paging by
page_token, filtering by parent, asset_types and content_type. Point the
audit at it with CLOUDASSET_EMULATOR_HOST=ADDRESS (printed on start); the
statistics are printed when caifake is stopped (Ctrl-C, SIGTERM).

Flags:
  --listen HOST:PORT
      address to serve on [default 127.0.0.1:8087]
  --latency DURATION
      delay added to every ListAssets call [default 0]
  --deny ASSET_TYPE[:CONTENT_TYPE]
      answer PERMISSION_DENIED for that stream; repeatable
      (short for --fault refused:ASSET_TYPE[:CONTENT_TYPE])
  --fault KIND[:ASSET_TYPE[:CONTENT_TYPE]][,after=N][,times=N][,delay=D][,parent=P]
      inject a fault into the matching ListAssets calls; repeatable, tried
      in order. Without an asset type every stream matches; CONTENT_TYPE is
      RESOURCE or IAM_POLICY.
        KIND is one of:
%s        after=N   cut the stream after N pages: the first N pages are
                  served, the calls for later ones fail
        times=N   fail only the first N matching calls (a burst), then
                  serve; default every call
        delay=D   hold each matching call D before answering (e.g. 30s)
        parent=P  only calls for this parent (organizations/N, folders/N,
                  projects/P)

Examples:
  caifake examples/acme
  caifake --deny artifactregistry.googleapis.com/Repository:IAM_POLICY examples/acme
  caifake --fault quota,times=3 --fault unavailable:run.googleapis.com/Service,after=1 /tmp/org/export
  caifake --fault deadline:cloudresourcemanager.googleapis.com/Folder,delay=2s examples/acme
`

func writeUsage(w io.Writer) {
	var kinds strings.Builder
	for _, k := range faultKinds {
		fmt.Fprintf(&kinds, "          %-12s%s\n", k.name, k.what)
	}
	fmt.Fprintf(w, usage, kinds.String())
}

// faultFlag collects --fault and --deny values.
type faultFlag []caifake.Fault

func (d *faultFlag) String() string { return fmt.Sprint(len(*d)) }

func (d *faultFlag) Set(s string) error {
	f, err := parseFault(s)
	if err != nil {
		return err
	}
	*d = append(*d, f)
	return nil
}

// denyFlag is --deny: a refused stream.
type denyFlag struct{ *faultFlag }

func (d denyFlag) Set(s string) error { return d.faultFlag.Set("refused:" + s) }

// parseFault reads KIND[:ASSET_TYPE[:CONTENT_TYPE]][,key=value…].
func parseFault(s string) (caifake.Fault, error) {
	spec, opts, _ := strings.Cut(s, ",")
	kind, stream, _ := strings.Cut(spec, ":")
	var f caifake.Fault
	found := false
	var names []string
	for _, k := range faultKinds {
		names = append(names, k.name)
		if k.name == kind {
			f.Code, found = k.code, true
		}
	}
	if !found {
		return f, fmt.Errorf("fault %q: unknown kind %q; want one of %s", s, kind, strings.Join(names, ", "))
	}
	if stream != "" {
		t, content, _ := strings.Cut(stream, ":")
		f.AssetType = t
		if content != "" {
			v, ok := assetpb.ContentType_value[content]
			if !ok || v == 0 {
				return f, fmt.Errorf("fault %q: unknown content type %q; want RESOURCE or IAM_POLICY", s, content)
			}
			f.ContentType = assetpb.ContentType(v)
		}
	}
	if opts == "" {
		if kind == "slow" {
			return f, fmt.Errorf("fault %q: slow needs delay=D", s)
		}
		return f, nil
	}
	for _, opt := range strings.Split(opts, ",") {
		key, val, ok := strings.Cut(opt, "=")
		if !ok {
			return f, fmt.Errorf("fault %q: option %q is not key=value", s, opt)
		}
		var err error
		switch key {
		case "after":
			f.AfterPages, err = count(val)
		case "times":
			f.Times, err = count(val)
		case "delay":
			f.Delay, err = time.ParseDuration(val)
			if err == nil && f.Delay < 0 {
				err = errors.New("negative")
			}
		case "parent":
			f.Parent = val
		default:
			return f, fmt.Errorf("fault %q: unknown option %q; want after, times, delay or parent", s, key)
		}
		if err != nil {
			return f, fmt.Errorf("fault %q: bad %s=%s: %v", s, key, val, err)
		}
	}
	if kind == "slow" && f.Delay == 0 {
		return f, fmt.Errorf("fault %q: slow needs delay=D", s)
	}
	return f, nil
}

func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number ≥ 0")
	}
	return n, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("caifake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:8087", "address to serve on")
	latency := fs.Duration("latency", 0, "delay added to every ListAssets call")
	var faults faultFlag
	fs.Var(&faults, "fault", "inject a fault; repeatable")
	fs.Var(denyFlag{&faults}, "deny", "answer PERMISSION_DENIED for ASSET_TYPE[:CONTENT_TYPE]; repeatable")
	exp := defineExportFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(stdout)
			return err
		}
		// The fault parser's own message names the flag's value already.
		msg := err.Error()
		if i := strings.Index(msg, ": fault "); i >= 0 {
			msg = msg[i+2:]
		}
		return errors.New(msg)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("give export files or directories to serve")
	}
	files, err := scan.ExportFiles(fs.Args())
	if err != nil {
		return err
	}
	start := time.Now()
	var assets []*assetpb.Asset
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		as, err := caifake.Load(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		assets = append(assets, as...)
	}
	srv := caifake.New(assets)
	srv.SetLatency(*latency)
	for _, f := range faults {
		srv.Inject(f)
	}
	addr, err := srv.Start(*listen)
	if err != nil {
		return err
	}
	stopExport, err := exp.start(srv, stdout)
	if err != nil {
		srv.Stop()
		return err
	}
	fmt.Fprintf(stdout, "caifake: serving %d assets from %d file(s) on %s (loaded in %s, %d fault(s)); CLOUDASSET_EMULATOR_HOST=%s\n",
		len(assets), len(files), addr, time.Since(start).Round(time.Millisecond), len(faults), addr)
	<-ctx.Done()
	srv.Stop()
	stopExport()
	st := srv.Stats()
	fmt.Fprintf(stdout, "caifake: %d calls, %d pages, %d assets served, failed %v\n", st.Calls, st.Pages, st.Assets, st.Failed)
	return nil
}
