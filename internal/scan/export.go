// Package scan collects the inventory: it reads Cloud Asset Inventory
// assets from export files or the live API and feeds them to an
// inventory.Builder. Both sources decode the same way, with protojson into
// assetpb.Asset, so that the export's snake_case and the API's camelCase
// take one path.
package scan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/runaudit/runaudit/internal/inventory"
)

// unmarshal accepts both field-name styles and ignores fields newer than
// the compiled assetpb, as exports grow fields over time.
var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// DecodeAsset decodes one asset in the export's or the API's JSON form.
func DecodeAsset(line []byte) (*assetpb.Asset, error) {
	a := &assetpb.Asset{}
	if err := unmarshal.Unmarshal(line, a); err != nil {
		return nil, err
	}
	if a.GetName() == "" || a.GetAssetType() == "" {
		return nil, errors.New("asset has no name or asset_type")
	}
	return a, nil
}

// ErrNoInput means an export path held no export files.
var ErrNoInput = errors.New("no export files")

// ExportFiles expands export paths (files or directories, searched
// recursively; hidden files are skipped) into a sorted list of files.
func ExportFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		before := len(files)
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != p {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			} else if d.Type()&fs.ModeSymlink != 0 {
				// Mounted exports are often symlinks (Kubernetes volumes).
				if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", p, err)
		}
		if len(files) == before {
			return nil, fmt.Errorf("export %s: %w in the directory", p, ErrNoInput)
		}
		sort.Strings(files[before:])
	}
	return files, nil
}

// Export reads Cloud Asset Inventory export files: NDJSON, one asset per
// line, gzip-compressed or not (told by content, not name), resource and
// IAM-policy exports mixed in any order.
//
// A line that does not decode is recorded as skipped with its file and line
// and the file is read on; a file that cannot be read is a gap. Either way
// the inventory is marked incomplete, and the rest is still audited.
type Export struct {
	Files []string
	// Workers bounds concurrent decoding; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called after each file with the lines read so far.
	Progress func(file string, lines int)
}

// Collect reads every file into b. Cancelled (the run interrupted), it
// stops, and the file it was reading and every file after it become gaps.
func (e *Export) Collect(ctx context.Context, b *inventory.Builder) error {
	total := 0
	for i, f := range e.Files {
		n, err := e.collectFile(ctx, f, b)
		total += n
		if ctx.Err() != nil {
			Interrupted(ctx, b, e.Files[i:])
			return nil
		}
		if err != nil {
			b.Gap(inventory.Gap{Scope: f, Reason: err.Error()})
		}
		if e.Progress != nil {
			e.Progress(f, total)
		}
	}
	return nil
}

func (e *Export) collectFile(ctx context.Context, path string, b *inventory.Builder) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	return ReadExport(ctx, path, f, b, e.Workers)
}

// Interrupted records, for a collection cut short by ctx, a gap for each
// source not read whole.
func Interrupted(ctx context.Context, b *inventory.Builder, unread []string) {
	why := "the run was interrupted before this was read whole"
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		why = "the run was interrupted (" + c.Error() + ") before this was read whole"
	}
	for _, u := range unread {
		b.Gap(inventory.Gap{Scope: u, Reason: why, Fix: "run the audit again to the end"})
	}
}

// ErrEmpty means an export stream held no asset at all.
var ErrEmpty = errors.New("holds no assets (an empty export is not a clean one: export again)")

// batch is a run of lines handed to a decoding worker: their bytes one
// after another in buf, line i ending at ends[i]. Workers hand batches back
// through batchPool, so reading an export allocates no memory per line.
type batch struct {
	first int // line number of the first line
	buf   []byte
	ends  []int
}

// line returns the i-th line of the batch.
func (bt *batch) line(i int) []byte {
	start := 0
	if i > 0 {
		start = bt.ends[i-1]
	}
	return bt.buf[start:bt.ends[i]]
}

// batchBytes is the room a new batch starts with: 256 lines of a typical
// export (about 1 KB a line) without growing.
const batchBytes = 512 << 10

var batchPool = sync.Pool{New: func() any { return &batch{buf: make([]byte, 0, batchBytes)} }}

// decodedBatch is a batch of lines decoded, on its way to the Builder.
type decodedBatch struct {
	first, lines int // the batch's first line number and how many it read
	decoded      []decodedLine
}

// decodedLine is one line that is not blank, decoded or not.
type decodedLine struct {
	line  int
	rec   *inventory.Record
	err   error
	gap   inventory.Gap // when err: what the line leaves unknown
	known bool          // when err: the gap names the line's asset
}

// ReadExport reads one export stream (gzip or plain NDJSON) named name into
// b, decoding with up to workers goroutines, and returns the lines read.
// Every malformed line is recorded in b as skipped. One that still names
// its asset is a gap for that asset alone; if any names none, ReadExport
// returns an error saying how many and where the first is, since what they
// held is unknown (the caller marks the stream a gap). It also returns an
// error when the stream cannot be read, and ErrEmpty when it holds no
// line that is not blank.
func ReadExport(ctx context.Context, name string, r io.Reader, b *inventory.Builder, workers int) (int, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}

	g, ctx := errgroup.WithContext(ctx)
	batches := make(chan *batch, workers*2)
	decodedBatches := make(chan *decodedBatch, workers*2)
	var nonBlank atomic.Int64
	var (
		badCount int
		firstBad int // lowest malformed line number, for the gap's message
	)
	opts := bindingsReader(b.Keep(), b.Strings())
	var decoding sync.WaitGroup
	for range workers {
		decoding.Add(1)
		g.Go(func() error {
			defer decoding.Done()
			for bt := range batches {
				db := &decodedBatch{first: bt.first, lines: len(bt.ends)}
				for i := range bt.ends {
					l, line := bt.line(i), bt.first+i
					if line == 1 {
						l = bytes.TrimPrefix(l, utf8BOM)
					}
					if len(bytes.TrimSpace(l)) == 0 {
						continue
					}
					nonBlank.Add(1)
					a, err := decodeRecord(l, opts)
					d := decodedLine{line: line, rec: a, err: err}
					if err != nil {
						// What the line held is unknown; where it still
						// names its asset, only that asset is.
						d.gap, d.known = malformedGap(l, name+":"+strconv.Itoa(line), err)
					}
					db.decoded = append(db.decoded, d)
				}
				batchPool.Put(bt)
				select {
				case decodedBatches <- db:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}
	go func() {
		decoding.Wait()
		close(decodedBatches)
	}()
	// The Builder takes the lines in the order they were read, whichever
	// worker decoded them first: of an asset read twice the later line
	// wins, and skipped lines are listed in order, on every run alike.
	g.Go(func() error {
		next, waiting := 1, map[int]*decodedBatch{}
		for db := range decodedBatches {
			waiting[db.first] = db
			for {
				db, ok := waiting[next]
				if !ok {
					break
				}
				delete(waiting, next)
				next += db.lines
				for _, d := range db.decoded {
					where := name + ":" + strconv.Itoa(d.line)
					if d.err == nil {
						b.AddRecord(d.rec, where)
						continue
					}
					b.Skip(where, "malformed asset: "+d.err.Error())
					if d.known {
						b.Gap(d.gap)
					} else {
						badCount++
						if firstBad == 0 {
							firstBad = d.line
						}
					}
				}
			}
		}
		return nil
	})

	lines := 0
	var readErr error
	g.Go(func() error {
		defer close(batches)
		const perBatch = 256
		next := func(first int) *batch {
			bt := batchPool.Get().(*batch)
			bt.first, bt.buf, bt.ends = first, bt.buf[:0], bt.ends[:0]
			return bt
		}
		cur := next(1)
		partial := false // cur.buf ends with the start of a longer line
		for {
			l, err := br.ReadSlice('\n')
			cur.buf = append(cur.buf, l...)
			if err == bufio.ErrBufferFull {
				partial = true
				continue
			}
			if len(l) > 0 || partial {
				partial = false
				lines++
				cur.ends = append(cur.ends, len(cur.buf))
				if len(cur.ends) == perBatch {
					select {
					case batches <- cur:
					case <-ctx.Done():
						return ctx.Err()
					}
					cur = next(lines + 1)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = fmt.Errorf("reading %s after line %d: %w", name, lines, err)
				break
			}
		}
		if len(cur.ends) > 0 {
			select {
			case batches <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return lines, err
	}
	if readErr != nil {
		return lines, readErr
	}
	if badCount > 0 {
		return lines, fmt.Errorf("%d malformed line(s) that name no asset, the first at %s:%d; see skipped", badCount, name, firstBad)
	}
	if nonBlank.Load() == 0 {
		return lines, fmt.Errorf("%s %w", name, ErrEmpty)
	}
	return lines, nil
}

// utf8BOM is the byte-order mark some editors and tools put at the start of
// a UTF-8 file; it is not part of the first asset.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

var (
	nameRe      = regexp.MustCompile(`"name"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	assetTypeRe = regexp.MustCompile(`"asset_?[tT]ype"\s*:\s*"([^"\\]*)"`)
	policyRe    = regexp.MustCompile(`"iam_?[pP]olicy"\s*:`)
	resourceRe  = regexp.MustCompile(`"resource"\s*:`)
)

// malformedGap describes what a line that does not decode leaves unknown.
// A line that still names its asset and type (a bad field, a cut-off line)
// hides that asset only; known says so. Any other line may have held
// anything. The name and type are read leniently, with the first match:
// a line whose data carries its own "name" field first names that, which
// only narrows the gap to an asset of the right type and project.
func malformedGap(line []byte, where string, err error) (g inventory.Gap, known bool) {
	g = inventory.Gap{Scope: where, Reason: "malformed line: " + err.Error(), Fix: "correct the line or export the assets again"}
	var head struct {
		Name       string          `json:"name"`
		AssetType  string          `json:"asset_type"`
		AssetType2 string          `json:"assetType"`
		Resource   json.RawMessage `json:"resource"`
		IAMPolicy  json.RawMessage `json:"iam_policy"`
		IAMPolicy2 json.RawMessage `json:"iamPolicy"`
	}
	if json.Unmarshal(line, &head) == nil {
		g.Asset, g.AssetType = head.Name, head.AssetType+head.AssetType2
		hasPolicy := head.IAMPolicy != nil || head.IAMPolicy2 != nil
		switch {
		case head.Resource != nil && !hasPolicy:
			g.ContentType = inventory.ContentResource
		case head.Resource == nil && hasPolicy:
			g.ContentType = inventory.ContentIAMPolicy
		}
	} else {
		// Not JSON at all (cut off, say): the first name and type in it,
		// and the content it had begun.
		if m := nameRe.FindSubmatch(line); m != nil {
			g.Asset = string(m[1])
		}
		if m := assetTypeRe.FindSubmatch(line); m != nil {
			g.AssetType = string(m[1])
		}
		hasPolicy, hasResource := policyRe.Match(line), resourceRe.Match(line)
		switch {
		case hasPolicy && !hasResource:
			g.ContentType = inventory.ContentIAMPolicy
		case hasResource && !hasPolicy:
			// A cut-off resource line may have gone on to a policy.
		}
	}
	if !strings.HasPrefix(g.Asset, "//") || g.AssetType == "" {
		return inventory.Gap{Scope: where, Reason: g.Reason, Fix: g.Fix}, false
	}
	return g, true
}
