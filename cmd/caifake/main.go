// Command caifake serves CAI export NDJSON files through a fake Cloud Asset
// Inventory AssetService (internal/caifake), so that the live collection
// can be run by hand and measured:
//
//	caifake --listen 127.0.0.1:8087 --latency 100ms /tmp/org/export &
//	CLOUDASSET_EMULATOR_HOST=127.0.0.1:8087 audit --org 100000000001 --out /tmp/out
//
// --deny TYPE[:CONTENT] makes a stream answer PERMISSION_DENIED, to see how
// a run reports what it could not read. It prints its statistics when
// stopped (SIGINT or SIGTERM).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "caifake:", err)
		os.Exit(1)
	}
}

type denyFlag []caifake.Fault

func (d *denyFlag) String() string { return fmt.Sprint(len(*d)) }

func (d *denyFlag) Set(s string) error {
	t, content, _ := strings.Cut(s, ":")
	f := caifake.Fault{AssetType: t, Code: codes.PermissionDenied}
	if content != "" {
		v, ok := assetpb.ContentType_value[content]
		if !ok {
			return fmt.Errorf("unknown content type %q (RESOURCE, IAM_POLICY)", content)
		}
		f.ContentType = assetpb.ContentType(v)
	}
	*d = append(*d, f)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("caifake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8087", "address to serve on")
	latency := fs.Duration("latency", 0, "delay added to every ListAssets call")
	var deny denyFlag
	fs.Var(&deny, "deny", "answer PERMISSION_DENIED for ASSET_TYPE[:CONTENT_TYPE]; repeatable")
	exp := defineExportFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
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
	for _, f := range deny {
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
	fmt.Fprintf(stdout, "caifake: serving %d assets from %d file(s) on %s (loaded in %s); CLOUDASSET_EMULATOR_HOST=%s\n",
		len(assets), len(files), addr, time.Since(start).Round(time.Millisecond), addr)
	<-ctx.Done()
	srv.Stop()
	stopExport()
	st := srv.Stats()
	fmt.Fprintf(stdout, "caifake: %d calls, %d pages, %d assets served, failed %v\n", st.Calls, st.Pages, st.Assets, st.Failed)
	return nil
}
