package scan

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	asset "cloud.google.com/go/asset/apiv1"
	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/sync/errgroup"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/inventory"
)

// DefaultExportPoll paces the polls of an export operation. The API asks
// for "intervals of at least 2 seconds with exponential retry" and says a
// regular-size export "usually finishes within 5 minutes".
var DefaultExportPoll = gax.Backoff{Initial: 2 * time.Second, Max: 30 * time.Second, Multiplier: 1.5}

// ExportAssets collects the inventory by asking Cloud Asset Inventory to
// export the scope to Cloud Storage: one ExportAssets long-running
// operation per content type (RESOURCE for every asset type the audit
// reads, IAM_POLICY for every one that carries policies), each written
// under a uri_prefix so that the service splits large outputs into shards
// (PREFIX/ASSET_TYPE/SHARD). It waits for the operations, polling them,
// and reads the shards the operations report through the same decoder as
// every other export. A handful of API calls covers any size of
// organization, where ListAssets needs one call per 1,000 assets.
//
// An export that is refused, fails, or does not finish before the
// deadline is a gap for each asset type it covers, as a failed ListAssets
// stream is; a shard that cannot be read is a gap naming it. Only when no
// operation succeeds does Collect return an error.
//
// For a folder or project scope the grants inherited from above it are
// read with ListAssets, as Live does: a few calls, one per node above.
type ExportAssets struct {
	Client *asset.Client
	// Storage reads the shards; it honours STORAGE_EMULATOR_HOST.
	Storage *storage.Client
	// Scope is the export parent: organizations/N, folders/N or
	// projects/ID (or number). See Scope.
	Scope string
	// Staging is gs://BUCKET[/PREFIX]: each run exports into a folder of
	// its own under it, named by RunFolder.
	Staging string
	// RunFolder names this run's folder under Staging; empty means the
	// UTC time and a random suffix.
	RunFolder string
	// Timeout bounds the whole collection; unfinished exports become gaps.
	// 0 means no deadline of its own.
	Timeout time.Duration
	// Retry bounds the retries of each call (the ExportAssets request,
	// each poll, the ListAssets calls above the scope); the zero value
	// means DefaultRetry.
	Retry Retry
	// Poll paces the polls of each operation; the zero value means
	// DefaultExportPoll.
	Poll gax.Backoff
	// Workers bounds concurrent decoding of a shard; 0 means GOMAXPROCS.
	Workers int
	// Log receives a record per operation started, finished or failed;
	// nil discards.
	Log *slog.Logger

	mu  sync.Mutex
	ops []*exportState
}

// ExportProgress is what one export operation has done so far.
type ExportProgress struct {
	ContentType string
	AssetTypes  []string
	// Destination is the operation's uri_prefix.
	Destination string
	// Name is the operation's name, once started.
	Name string
	// Polls counts GetOperation calls.
	Polls int
	// Exported is set once the operation has finished successfully,
	// ExportedAfter after it started; Shards is then how many objects it
	// wrote.
	Exported      bool
	ExportedAfter time.Duration
	Shards        int
	// ShardsRead and Lines count what has been read of them.
	ShardsRead int
	Lines      int
	// Done is set once the shards are read or the operation failed, Err
	// then saying why it failed.
	Done    bool
	Err     error
	Started time.Time
	Elapsed time.Duration
}

type exportSet struct {
	content assetpb.ContentType
	types   []string
}

type exportState struct {
	set exportSet
	mu  sync.Mutex
	p   ExportProgress
}

func (s *exportState) update(f func(p *ExportProgress)) {
	s.mu.Lock()
	f(&s.p)
	s.mu.Unlock()
}

// Progress returns a snapshot of every operation started so far.
func (e *ExportAssets) Progress() []ExportProgress {
	e.mu.Lock()
	states := append([]*exportState(nil), e.ops...)
	e.mu.Unlock()
	out := make([]ExportProgress, len(states))
	for i, s := range states {
		s.mu.Lock()
		out[i] = s.p
		out[i].AssetTypes = append([]string(nil), s.p.AssetTypes...)
		if !s.p.Done {
			out[i].Elapsed = time.Since(s.p.Started)
		}
		s.mu.Unlock()
	}
	return out
}

// exportSets groups the scope's streams by content type: one export per
// content type, over the same asset types ListAssets would read.
func exportSets(scope string) []exportSet {
	var out []exportSet
	for _, st := range scopeStreams(scope) {
		if len(out) == 0 || out[len(out)-1].content != st.content {
			out = append(out, exportSet{content: st.content})
		}
		out[len(out)-1].types = append(out[len(out)-1].types, st.assetType)
	}
	return out
}

// Collect exports the scope and reads the export into b.
func (e *ExportAssets) Collect(ctx context.Context, b *inventory.Builder) error {
	if e.Client == nil || e.Storage == nil || e.Scope == "" {
		return errors.New("export collection needs an asset client, a storage client and a scope")
	}
	bucket, prefix, err := ParseGCS(e.Staging)
	if err != nil {
		return fmt.Errorf("export staging: %w", err)
	}
	run := e.RunFolder
	if run == "" {
		var r [4]byte
		rand.Read(r[:])
		run = time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
	}
	folder := "gs://" + bucket + "/" + strings.Trim(strings.TrimSuffix(prefix, "/")+"/"+run, "/")

	parent := ctx
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.Timeout, errDeadline)
		defer cancel()
	}
	retry := e.Retry
	if retry.MaxAttempts == 0 {
		retry = DefaultRetry
	}
	poll := e.Poll
	if poll.Initial == 0 {
		poll = DefaultExportPoll
	}

	sets := exportSets(e.Scope)
	results := make([]error, len(sets))
	shards := make([][]string, len(sets))
	var g errgroup.Group // operations fail alone: no shared cancellation
	for i, set := range sets {
		g.Go(func() error {
			shards[i], results[i] = e.export(ctx, b, set, folder+"/"+strings.ToLower(set.content.String()), retry, poll)
			return nil
		})
	}
	g.Wait()
	if err := parent.Err(); err != nil {
		return fmt.Errorf("exporting %s: %w", e.Scope, err) // interrupted: nothing to report
	}
	ok := 0
	var first error
	for i, err := range results {
		if err == nil {
			ok++
			continue
		}
		if first == nil {
			first = fmt.Errorf("%s %s: %w", e.Scope, sets[i].content, err)
		}
		for _, t := range sets[i].types {
			b.Gap(inventory.Gap{
				Scope: e.Scope, AssetType: t, ContentType: sets[i].content.String(),
				Reason: fmt.Sprintf("%s content not exported: %s", sets[i].content, describeStage(ctx, err)),
				Fix:    exportFix(ctx, err, e.Scope, bucket),
			})
		}
	}
	if ok == 0 {
		return fmt.Errorf("no ExportAssets operation over %s succeeded; the first failure: %w", e.Scope, first)
	}
	e.readAbove(ctx, b, shards, retry)
	return nil
}

// export runs one operation and reads what it wrote; it returns the
// shards read.
func (e *ExportAssets) export(ctx context.Context, b *inventory.Builder, set exportSet, dest string, retry Retry, poll gax.Backoff) ([]string, error) {
	state := &exportState{set: set, p: ExportProgress{
		ContentType: set.content.String(), AssetTypes: set.types, Destination: dest, Started: time.Now(),
	}}
	e.mu.Lock()
	e.ops = append(e.ops, state)
	e.mu.Unlock()
	finish := func(err error) {
		state.update(func(p *ExportProgress) { p.Done, p.Err, p.Elapsed = true, err, time.Since(p.Started) })
		if e.Log == nil {
			return
		}
		p := state.p
		if err != nil {
			e.Log.Warn("ExportAssets failed", "scope", e.Scope, "content_type", p.ContentType, "operation", p.Name,
				"destination", dest, "polls", p.Polls, "err", describeStage(ctx, err))
		} else {
			e.Log.Info("ExportAssets read", "scope", e.Scope, "content_type", p.ContentType, "operation", p.Name,
				"polls", p.Polls, "shards", p.Shards, "lines", p.Lines, "export_seconds", p.ExportedAfter.Seconds(), "seconds", p.Elapsed.Seconds())
		}
	}

	req := &assetpb.ExportAssetsRequest{
		Parent: e.Scope, AssetTypes: set.types, ContentType: set.content,
		OutputConfig: &assetpb.OutputConfig{Destination: &assetpb.OutputConfig_GcsDestination{
			GcsDestination: &assetpb.GcsDestination{ObjectUri: &assetpb.GcsDestination_UriPrefix{UriPrefix: dest}},
		}},
	}
	op, err := e.Client.ExportAssets(ctx, req, retry.callOption())
	if err != nil {
		err = &stageError{"ExportAssets refused", err}
		finish(err)
		return nil, err
	}
	state.update(func(p *ExportProgress) { p.Name = op.Name() })
	if e.Log != nil {
		e.Log.Info("ExportAssets started", "scope", e.Scope, "content_type", set.content.String(), "operation", op.Name(), "destination", dest)
	}

	resp, err := e.wait(ctx, op, state, retry, poll)
	if err != nil {
		finish(err)
		return nil, err
	}
	uris := resp.GetOutputResult().GetGcsResult().GetUris()
	if len(uris) == 0 {
		// No result listed: read what is under the prefix (an export of
		// asset types that have no assets writes nothing).
		objs, err := (&GCSExport{Client: e.Storage, URLs: []string{dest}}).Objects(ctx)
		if err != nil && !errors.Is(err, ErrNoInput) {
			err = &stageError{"listing the export " + dest, err}
			finish(err)
			return nil, err
		}
		for _, o := range objs {
			uris = append(uris, o.URL())
		}
	}
	state.update(func(p *ExportProgress) {
		p.Exported, p.ExportedAfter, p.Shards = true, time.Since(p.Started), len(uris)
	})

	// The operation lists what it wrote; reading those objects, not the
	// prefix, leaves out any temporary files the export made there.
	g := &GCSExport{Client: e.Storage, Workers: e.Workers}
	for _, u := range uris {
		bkt, name, err := ParseGCS(u)
		if err != nil {
			b.Gap(inventory.Gap{Scope: u, ContentType: set.content.String(), Reason: "the export reported an object that is not a gs:// URL: " + err.Error()})
			continue
		}
		o := GCSObject{Bucket: bkt, Name: name}
		n, err := g.read(ctx, o, b)
		if ctx.Err() != nil {
			finish(ctx.Err())
			return nil, ctx.Err()
		}
		if err != nil {
			b.Gap(inventory.Gap{Scope: o.URL(), AssetType: shardType(dest, u), ContentType: set.content.String(), Reason: err.Error()})
		}
		state.update(func(p *ExportProgress) { p.ShardsRead++; p.Lines += n })
	}
	finish(nil)
	return uris, nil
}

// wait polls the operation until it is done, the deadline passes, or the
// polls keep failing.
func (e *ExportAssets) wait(ctx context.Context, op *asset.ExportAssetsOperation, state *exportState, retry Retry, poll gax.Backoff) (*assetpb.ExportAssetsResponse, error) {
	failures := 0
	started := time.Now()
	for {
		if !op.Done() {
			t := time.NewTimer(poll.Pause())
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, &stageError{"waiting for the operation " + op.Name(), ctx.Err()}
			case <-t.C:
			}
			state.update(func(p *ExportProgress) { p.Polls++ })
		}
		resp, err := op.Poll(ctx, retry.callOption())
		switch {
		case err == nil && op.Done():
			return resp, nil
		case err == nil:
			failures = 0
			if e.Log != nil {
				e.Log.Debug("ExportAssets running", "operation", op.Name(), "seconds", time.Since(started).Seconds())
			}
		case op.Done():
			return nil, &stageError{"the operation " + op.Name() + " failed", err}
		case ctx.Err() != nil:
			return nil, &stageError{"waiting for the operation " + op.Name(), err}
		default:
			// The poll failed, not the operation (the call's own retries
			// are spent): try again at the next interval, a bounded
			// number of times.
			failures++
			if failures >= retry.MaxAttempts || !retryable(err) {
				return nil, &stageError{"polling the operation " + op.Name(), err}
			}
		}
	}
}

// stageError says at which step an export failed.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string {
	if st, ok := status.FromError(e.err); ok {
		return e.stage + ": " + rpccode.Code(st.Code()).String() + ": " + st.Message()
	}
	return e.stage + ": " + e.err.Error()
}
func (e *stageError) Unwrap() error { return e.err }

// describeStage names the step that failed and the error as describe
// does.
func describeStage(ctx context.Context, err error) string {
	var se *stageError
	if errors.As(err, &se) {
		return se.stage + ": " + describe(ctx, se.err)
	}
	return describe(ctx, err)
}

func retryable(err error) bool {
	c := status.Code(err)
	for _, r := range retryCodes {
		if c == r {
			return true
		}
	}
	return false
}

// shardType returns the asset type of a shard PREFIX/ASSET_TYPE/SHARD.
func shardType(prefix, uri string) string {
	rest, ok := strings.CutPrefix(uri, prefix+"/")
	if !ok {
		return ""
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return ""
	}
	return rest[:i]
}

// exportFix says how to close a gap left by a failed export.
func exportFix(ctx context.Context, err error, scope, bucket string) string {
	if errors.Is(context.Cause(ctx), errDeadline) && endedByContext(err) {
		return "raise --timeout, or collect with --collect list"
	}
	switch status.Code(err) {
	case codes.PermissionDenied:
		return fmt.Sprintf("grant the audit's account roles/cloudasset.viewer on %s (cloudasset.assets.exportResource, exportIamPolicy) and let it write and read gs://%s", scope, bucket)
	case codes.ResourceExhausted:
		return "the ExportAssets quota (60 a minute per project, 75 per organization) was used up: run again later"
	case codes.InvalidArgument, codes.FailedPrecondition:
		return fmt.Sprintf("check --export-staging: gs://%s must exist and have no retention policy or customer-managed key", bucket)
	}
	return "run again; if it persists, collect with --collect list"
}

// readAbove reads, for a folder or project scope, the grants inherited
// from above it: the ancestry comes from the first line of any shard
// exported (every asset lists its ancestors), the policies themselves
// from ListAssets, one node at a time, as Live reads them.
func (e *ExportAssets) readAbove(ctx context.Context, b *inventory.Builder, shards [][]string, retry Retry) {
	if strings.HasPrefix(e.Scope, "organizations/") {
		return
	}
	anc := newAncestry(e.Scope)
	for _, list := range shards {
		for _, u := range list {
			if a := firstAsset(ctx, e.Storage, u); a != nil {
				anc.observe(a)
			}
			if len(anc.known) > 0 {
				break
			}
		}
		if len(anc.known) > 0 {
			break
		}
	}
	var above []string
	select {
	case above = <-anc.known:
	default:
		return // nothing in the scope carried its ancestry: nothing to read
	}
	l := &Live{Client: e.Client, Scope: e.Scope, Log: e.Log}
	for _, st := range streamsAbove(e.Scope, above) {
		if err := l.run(ctx, b, st, retry, nil); err != nil {
			b.Gap(l.gap(ctx, st, err))
		}
	}
}

// firstAsset decodes the first line of an export object, or returns nil.
func firstAsset(ctx context.Context, cl *storage.Client, uri string) *assetpb.Asset {
	bkt, name, err := ParseGCS(uri)
	if err != nil {
		return nil
	}
	r, err := cl.Bucket(bkt).Object(name).NewReader(ctx)
	if err != nil {
		return nil
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	line, _ := br.ReadBytes('\n')
	a, err := DecodeAsset(line)
	if err != nil {
		return nil
	}
	return a
}
