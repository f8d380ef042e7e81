package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/caifake"
)

// exportOptions serve ExportAssets: an in-process fake-gcs-server holds
// the staging bucket the exports are written to.
type exportOptions struct {
	gcsListen string
	bucket    string
	latency   time.Duration
	shard     int
	refuse    []string
}

type contentList struct{ v *[]string }

func (c contentList) String() string {
	if c.v == nil {
		return ""
	}
	return strings.Join(*c.v, ",")
}

func (c contentList) Set(s string) error {
	if _, ok := assetpb.ContentType_value[s]; !ok {
		return fmt.Errorf("unknown content type %q (RESOURCE, IAM_POLICY)", s)
	}
	*c.v = append(*c.v, s)
	return nil
}

func defineExportFlags(fs *flag.FlagSet) *exportOptions {
	o := &exportOptions{}
	fs.StringVar(&o.gcsListen, "gcs-listen", "", "also answer ExportAssets, writing into a fake Cloud Storage served at this host:port (STORAGE_EMULATOR_HOST for the audit)")
	fs.StringVar(&o.bucket, "export-bucket", "runaudit-staging", "with --gcs-listen: the bucket created for the exports")
	fs.DurationVar(&o.latency, "export-latency", 0, "with --gcs-listen: how long each export operation runs before it writes")
	fs.IntVar(&o.shard, "export-shard-assets", caifake.DefaultShardAssets, "with --gcs-listen: assets per export shard")
	fs.Var(contentList{&o.refuse}, "export-refuse", "with --gcs-listen: refuse ExportAssets of this content type (RESOURCE, IAM_POLICY) with PERMISSION_DENIED; repeatable")
	return o
}

// start serves the fake Cloud Storage and enables exports on srv; stop
// ends it. Without --gcs-listen it does nothing.
func (o *exportOptions) start(srv *caifake.Server, stdout io.Writer) (stop func(), err error) {
	if o.gcsListen == "" {
		return func() {}, nil
	}
	host, portText, err := net.SplitHostPort(o.gcsListen)
	if err != nil {
		return nil, fmt.Errorf("--gcs-listen %q: %w", o.gcsListen, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("--gcs-listen %q: bad port", o.gcsListen)
	}
	if port == 0 {
		// The fake serves downloads on its public host only, which must
		// be its own address: pick the port first.
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		port = uint64(l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: host, Port: uint16(port), PublicHost: net.JoinHostPort(host, strconv.FormatUint(port, 10)),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the fake Cloud Storage on %s: %w", o.gcsListen, err)
	}
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: o.bucket})
	srv.EnableExport(gcs.Client(), o.shard)
	srv.SetExportLatency(o.latency)
	for _, c := range o.refuse {
		srv.InjectExport(caifake.ExportFault{ContentType: assetpb.ContentType(assetpb.ContentType_value[c]), Refuse: true, Code: codes.PermissionDenied})
	}
	fmt.Fprintf(stdout, "caifake: ExportAssets writes to gs://%s/ on a fake Cloud Storage; STORAGE_EMULATOR_HOST=%s\n", o.bucket, gcs.URL())
	return func() {
		st := srv.ExportStats()
		fmt.Fprintf(stdout, "caifake: %d ExportAssets calls (%d refused), %d GetOperation calls, %d shards, %d assets exported\n",
			st.ExportCalls, st.Refused, st.GetOperationCalls, st.Shards, st.Assets)
		gcs.Stop()
	}, nil
}
