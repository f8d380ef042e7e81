// Command bound is the yardstick of the scale runs (scripts/scale.sh): a
// plain parallel encoding/json decode of a Cloud Asset Inventory export
// into typed Go structs, keeping nothing. It reads the files as the audit
// does (one after another, lines decoded by one worker per CPU), so the
// audit's wall time, CPU and memory can be put beside the least it takes
// just to read the same input.
//
//	bound [-workers N] PATH...   (files or directories of NDJSON, .gz allowed)
//
// It prints one JSON object: assets, bindings, and the ListAssets calls
// the audit's live mode would make over the same organization (one
// stream per asset type and content type the audit reads, 1,000 assets a
// page), for docs/scale.md's comparison of the two live modes.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// line is one export line: the fields the audit reads, data as a whole
// JSON document decoded into maps.
type line struct {
	Name      string   `json:"name"`
	AssetType string   `json:"asset_type"`
	Ancestors []string `json:"ancestors"`
	Resource  *struct {
		Parent   string         `json:"parent"`
		Location string         `json:"location"`
		Data     map[string]any `json:"data"`
	} `json:"resource"`
	IAMPolicy *struct {
		Bindings []struct {
			Role      string   `json:"role"`
			Members   []string `json:"members"`
			Condition *struct {
				Expression string `json:"expression"`
			} `json:"condition"`
		} `json:"bindings"`
	} `json:"iam_policy"`
}

// counts is what the workers tally.
type counts struct {
	assets, bindings int
	// streams counts assets per "asset type|content type".
	streams map[string]int
}

func (c *counts) add(o counts) {
	c.assets += o.assets
	c.bindings += o.bindings
	for k, v := range o.streams {
		c.streams[k] += v
	}
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bound:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bound", flag.ContinueOnError)
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "decoding goroutines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("give export files or directories")
	}
	files, err := scan.ExportFiles(fs.Args())
	if err != nil {
		return err
	}
	total := counts{streams: map[string]int{}}
	for _, f := range files {
		c, err := decodeFile(f, max(1, *workers))
		if err != nil {
			return err
		}
		total.add(c)
	}
	calls := 0
	for _, t := range inventory.AssetTypes {
		for _, content := range []string{"RESOURCE", "IAM_POLICY"} {
			if t == inventory.TypeRole && content == "IAM_POLICY" {
				continue // custom roles carry no policy: no stream
			}
			calls += max(1, (total.streams[t+"|"+content]+scan.PageSize-1)/scan.PageSize)
		}
	}
	out, err := json.Marshal(map[string]int{"assets": total.assets, "bindings": total.bindings, "list_assets_calls": calls})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

func decodeFile(path string, workers int) (counts, error) {
	f, err := os.Open(path)
	if err != nil {
		return counts{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return counts{}, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	batches := make(chan [][]byte, workers*2)
	results := make([]counts, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := counts{streams: map[string]int{}}
			for batch := range batches {
				for _, l := range batch {
					if len(bytes.TrimSpace(l)) == 0 {
						continue
					}
					var a line
					if err := json.Unmarshal(l, &a); err != nil {
						if errs[w] == nil {
							errs[w] = fmt.Errorf("%s: %w", path, err)
						}
						continue
					}
					c.assets++
					if a.Resource != nil {
						c.streams[a.AssetType+"|RESOURCE"]++
					}
					if a.IAMPolicy != nil {
						c.streams[a.AssetType+"|IAM_POLICY"]++
						c.bindings += len(a.IAMPolicy.Bindings)
					}
				}
			}
			results[w] = c
		}()
	}
	var readErr error
	batch := make([][]byte, 0, 256)
	for {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			batch = append(batch, l)
			if len(batch) == cap(batch) {
				batches <- batch
				batch = make([][]byte, 0, 256)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("%s: %w", path, err)
			break
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	total := counts{streams: map[string]int{}}
	for _, c := range results {
		total.add(c)
	}
	if readErr != nil {
		return total, readErr
	}
	for _, err := range errs {
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
