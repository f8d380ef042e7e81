package caifake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/storage"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultShardAssets is how many assets the fake writes into one export
// shard by default. The real service splits an asset type's output "once
// it exceeds a single Cloud Storage object limit"; the fake splits by count
// so that tests see several shards.
const DefaultShardAssets = 10000

// ExportFault makes matching ExportAssets requests fail. Empty fields
// match anything.
type ExportFault struct {
	// ContentType matches requests for this content type;
	// CONTENT_TYPE_UNSPECIFIED matches any.
	ContentType assetpb.ContentType
	// AssetType matches requests whose asset_types name it (or name none).
	AssetType string
	// Parent matches requests for this parent, as sent.
	Parent string
	// Code is the status the call or the operation fails with; OK with a
	// Delay only slows the operation down.
	Code codes.Code
	// Delay makes the operation run this much longer before it writes
	// anything, on top of the server's export latency.
	Delay time.Duration
	// Refuse makes the ExportAssets call itself fail with Code (a denied
	// or over-quota request): no operation starts. Otherwise the operation
	// starts, writes AfterShards shards and then ends with Code: an export
	// that fails mid-way.
	Refuse      bool
	AfterShards int
	// Times is how many matching requests fail before the fault clears;
	// 0 fails every one.
	Times int
}

type exportFault struct {
	ExportFault
	fired int
}

// ExportStats counts the export side of the server.
type ExportStats struct {
	// ExportCalls counts ExportAssets calls, refused ones included;
	// Refused the refused ones. (Stats counts ListAssets calls only.)
	ExportCalls, Refused int
	// GetOperationCalls counts polls.
	GetOperationCalls int
	// Shards counts the objects written; Assets the lines in them.
	Shards, Assets int
}

// exporter is the export side of the Server.
type exporter struct {
	storage     *storage.Client
	shardAssets int
	latency     time.Duration
	omitURIs    bool
	faults      []*exportFault
	ops         map[string]*longrunningpb.Operation
	seq         int
	stats       ExportStats
	// stop ends running exports when the server stops.
	stop chan struct{}
}

// EnableExport lets the server answer ExportAssets by writing the export
// shards through cl (a real storage client, pointed at fake-gcs-server by
// STORAGE_EMULATOR_HOST), shardAssets assets per object (0 means
// DefaultShardAssets).
func (s *Server) EnableExport(cl *storage.Client, shardAssets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if shardAssets <= 0 {
		shardAssets = DefaultShardAssets
	}
	s.export.storage, s.export.shardAssets = cl, shardAssets
}

// SetExportLatency makes every export operation run this long before it
// writes its output; until then GetOperation reports it not done. With
// no latency the operation is done when ExportAssets returns.
func (s *Server) SetExportLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.export.latency = d
}

// OmitExportURIs makes finished operations answer without
// output_result, so that a client must find the shards under the prefix.
func (s *Server) OmitExportURIs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.export.omitURIs = true
}

// InjectExport adds an export fault; faults are tried in the order added.
func (s *Server) InjectExport(f ExportFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.export.faults = append(s.export.faults, &exportFault{ExportFault: f})
}

// ExportStats returns a copy of the export counters.
func (s *Server) ExportStats() ExportStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.export.stats
}

// ExportAssets starts an export of the assets under the parent to Cloud
// Storage and returns its long-running operation, named
// PARENT/operations/ExportAssets/CONTENT_TYPE/N. With a uri_prefix each
// asset type goes to PREFIX/ASSET_TYPE/SHARD (shards from 0), as the API
// documents; with a uri everything goes to that one object.
func (s *Server) ExportAssets(ctx context.Context, req *assetpb.ExportAssetsRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	s.export.stats.ExportCalls++
	cl := s.export.storage
	s.mu.Unlock()
	refuse := func(err error) (*longrunningpb.Operation, error) {
		s.mu.Lock()
		s.export.stats.Refused++
		s.mu.Unlock()
		return nil, err
	}
	if cl == nil {
		return refuse(grpcstatus.Error(codes.Unimplemented, "caifake: export not enabled (EnableExport)"))
	}
	parent, err := s.normalParent(req.GetParent())
	if err != nil {
		return refuse(err)
	}
	gcs := req.GetOutputConfig().GetGcsDestination()
	if gcs == nil {
		return refuse(grpcstatus.Error(codes.InvalidArgument, "caifake: output_config.gcs_destination is required (BigQuery destinations are not faked)"))
	}
	dest := gcs.GetUriPrefix()
	prefix := dest != ""
	if !prefix {
		dest = gcs.GetUri()
	}
	bucket, object, ok := strings.Cut(strings.TrimPrefix(dest, "gs://"), "/")
	if !strings.HasPrefix(dest, "gs://") || !ok || bucket == "" || object == "" {
		return refuse(grpcstatus.Errorf(codes.InvalidArgument, "output_config.gcs_destination %q is not gs://BUCKET/OBJECT", dest))
	}
	var match []*regexp.Regexp
	for _, t := range req.GetAssetTypes() {
		re, err := regexp.Compile("^(?:" + t + ")$")
		if err != nil {
			return refuse(grpcstatus.Errorf(codes.InvalidArgument, "asset_types %q is not a valid regular expression: %v", t, err))
		}
		match = append(match, re)
	}
	if _, err := cl.Bucket(bucket).Attrs(ctx); err != nil {
		return refuse(grpcstatus.Errorf(codes.InvalidArgument, "bucket gs://%s cannot be written: %v", bucket, err))
	}
	if prefix {
		// "An INVALID_ARGUMENT error will be returned if file with the
		// same name gs://bucket_name/object_name_prefix already exists."
		if _, err := cl.Bucket(bucket).Object(object).Attrs(ctx); err == nil {
			return refuse(grpcstatus.Errorf(codes.InvalidArgument, "an object named %s already exists", dest))
		} else if !errors.Is(err, storage.ErrObjectNotExist) {
			return refuse(grpcstatus.Errorf(codes.Unavailable, "checking %s: %v", dest, err))
		}
	}
	f := s.exportFault(req)
	if f != nil && f.Refuse && f.Code != codes.OK {
		return refuse(grpcstatus.Errorf(f.Code, "caifake: injected %s for ExportAssets %s %s", f.Code, req.GetParent(), req.GetContentType()))
	}

	meta, err := anypb.New(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.export.seq++
	op := &longrunningpb.Operation{
		Name:     fmt.Sprintf("%s/operations/ExportAssets/%s/%d", req.GetParent(), req.GetContentType(), s.export.seq),
		Metadata: meta,
	}
	s.export.ops[op.Name] = op
	latency, stop := s.export.latency, s.export.stop
	s.mu.Unlock()
	if f != nil {
		latency += f.Delay
		if f.Code == codes.OK {
			f = nil // slowed, not failed
		}
	}

	job := exportJob{s: s, cl: cl, req: req, parent: parent, match: match, bucket: bucket, object: object, prefix: prefix, fault: f, name: op.Name}
	if latency == 0 {
		job.run(ctx)
		return s.operation(op.Name), nil
	}
	go func() {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
			job.run(context.Background())
		case <-stop:
		}
	}()
	return s.operation(op.Name), nil
}

// exportFault returns the first export fault matching the request.
func (s *Server) exportFault(req *assetpb.ExportAssetsRequest) *ExportFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.export.faults {
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		if f.Parent != "" && f.Parent != req.GetParent() ||
			f.ContentType != assetpb.ContentType_CONTENT_TYPE_UNSPECIFIED && f.ContentType != req.GetContentType() ||
			f.AssetType != "" && len(req.GetAssetTypes()) > 0 && !slices.Contains(req.GetAssetTypes(), f.AssetType) {
			continue
		}
		f.fired++
		c := f.ExportFault
		return &c
	}
	return nil
}

// operation returns a copy of an operation's current state.
func (s *Server) operation(name string) *longrunningpb.Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.export.ops[name]
	if op == nil {
		return nil
	}
	return &longrunningpb.Operation{Name: op.Name, Metadata: op.Metadata, Done: op.Done, Result: op.Result}
}

// exportJob is one export operation's work.
type exportJob struct {
	s              *Server
	cl             *storage.Client
	req            *assetpb.ExportAssetsRequest
	parent         string
	match          []*regexp.Regexp
	bucket, object string
	prefix         bool
	fault          *ExportFault
	name           string
}

// run writes the export and completes the operation.
func (j exportJob) run(ctx context.Context) {
	uris, err := j.write(ctx)
	j.s.mu.Lock()
	defer j.s.mu.Unlock()
	op := j.s.export.ops[j.name]
	op.Done = true
	if err != nil {
		st, _ := grpcstatus.FromError(err)
		op.Result = &longrunningpb.Operation_Error{Error: &status.Status{Code: int32(st.Code()), Message: st.Message()}}
		return
	}
	r := &assetpb.ExportAssetsResponse{ReadTime: timestamppb.Now(), OutputConfig: j.req.GetOutputConfig()}
	if !j.s.export.omitURIs {
		r.OutputResult = &assetpb.OutputResult{Result: &assetpb.OutputResult_GcsResult{GcsResult: &assetpb.GcsOutputResult{Uris: uris}}}
	}
	resp, err := anypb.New(r)
	if err != nil {
		op.Result = &longrunningpb.Operation_Error{Error: &status.Status{Code: int32(codes.Internal), Message: err.Error()}}
		return
	}
	op.Result = &longrunningpb.Operation_Response{Response: resp}
}

// exportJSON writes assets as the export does: proto field names
// (snake_case), one asset per line.
var exportJSON = protojson.MarshalOptions{UseProtoNames: true}

// write writes the shards and returns their URIs.
func (j exportJob) write(ctx context.Context) ([]string, error) {
	var src []*assetpb.Asset
	switch j.req.GetContentType() {
	case assetpb.ContentType_RESOURCE:
		src = j.s.resources
	case assetpb.ContentType_IAM_POLICY:
		src = j.s.policies
	}
	// Group by asset type, in input order.
	var types []string
	byType := map[string][]*assetpb.Asset{}
	for _, a := range src {
		if !slices.Contains(a.GetAncestors(), j.parent) || !j.matches(a.GetAssetType()) {
			continue
		}
		if byType[a.GetAssetType()] == nil {
			types = append(types, a.GetAssetType())
		}
		byType[a.GetAssetType()] = append(byType[a.GetAssetType()], a)
	}
	j.s.mu.Lock()
	per := j.s.export.shardAssets
	j.s.mu.Unlock()

	type shard struct {
		object string
		assets []*assetpb.Asset
	}
	var shards []shard
	if !j.prefix {
		var all []*assetpb.Asset
		for _, t := range types {
			all = append(all, byType[t]...)
		}
		shards = append(shards, shard{j.object, all})
	} else {
		for _, t := range types {
			as := byType[t]
			for n := 0; len(as) > 0; n++ {
				k := min(per, len(as))
				shards = append(shards, shard{fmt.Sprintf("%s/%s/%d", j.object, t, n), as[:k]})
				as = as[k:]
			}
		}
	}
	var uris []string
	for i, sh := range shards {
		if j.fault != nil && i >= j.fault.AfterShards {
			return nil, grpcstatus.Errorf(j.fault.Code, "caifake: injected %s after %d shard(s) of ExportAssets %s %s", j.fault.Code, i, j.req.GetParent(), j.req.GetContentType())
		}
		var buf bytes.Buffer
		for _, a := range sh.assets {
			b, err := exportJSON.Marshal(a)
			if err != nil {
				return nil, grpcstatus.Errorf(codes.Internal, "encoding %s: %v", a.GetName(), err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		w := j.cl.Bucket(j.bucket).Object(sh.object).NewWriter(ctx)
		w.ContentType = "application/x-ndjson"
		if _, err := w.Write(buf.Bytes()); err != nil {
			w.Close()
			return nil, grpcstatus.Errorf(codes.Internal, "writing gs://%s/%s: %v", j.bucket, sh.object, err)
		}
		if err := w.Close(); err != nil {
			return nil, grpcstatus.Errorf(codes.Internal, "writing gs://%s/%s: %v", j.bucket, sh.object, err)
		}
		uris = append(uris, "gs://"+j.bucket+"/"+sh.object)
		j.s.mu.Lock()
		j.s.export.stats.Shards++
		j.s.export.stats.Assets += len(sh.assets)
		j.s.mu.Unlock()
	}
	if j.fault != nil {
		// A fault matching fewer shards than the export has still fails
		// it, at its end.
		return nil, grpcstatus.Errorf(j.fault.Code, "caifake: injected %s after %d shard(s) of ExportAssets %s %s", j.fault.Code, len(shards), j.req.GetParent(), j.req.GetContentType())
	}
	return uris, nil
}

func (j exportJob) matches(assetType string) bool {
	if len(j.match) == 0 {
		return true
	}
	for _, re := range j.match {
		if re.MatchString(assetType) {
			return true
		}
	}
	return false
}

// operations returns the server's google.longrunning.Operations service.
func (s *Server) operations() *operations { return &operations{s: s} }

// operations serves google.longrunning.Operations for the exports; a
// type of its own, as the generated servers cannot both be embedded.
type operations struct {
	longrunningpb.UnimplementedOperationsServer
	s *Server
}

// GetOperation returns an export operation's current state.
func (o *operations) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	o.s.mu.Lock()
	o.s.export.stats.GetOperationCalls++
	o.s.mu.Unlock()
	op := o.s.operation(req.GetName())
	if op == nil {
		return nil, grpcstatus.Errorf(codes.NotFound, "operation %q not found", req.GetName())
	}
	return op, nil
}
