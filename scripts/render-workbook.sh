#!/usr/bin/env bash
# Renders the compliance workbook with LibreOffice, to look at it as a
# reviewer will: every sheet printed to PDF (the print setup: landscape,
# one page wide, header rows repeated, footer) and every sheet on screen
# as a PNG. Two workbooks: the example organization's (go run ./cmd/audit
# --export examples/acme) and the test example with a baseline and gaps
# (internal/report/xlsx/testdata). See docs/workbook.md.
#
#   apt-get install -y libreoffice-calc-nogui poppler-utils fonts-crosextra-carlito
#   bash scripts/render-workbook.sh [OUT_DIR]     # default /tmp/runaudit-render
#
# It fails when a workbook prints on more pages than MAX_PAGES (default 12:
# before the print setup, the 17 findings of examples/acme printed on 29).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/runaudit-render}"
max_pages="${MAX_PAGES:-12}"
command -v soffice >/dev/null || { echo "render-workbook: soffice missing: apt-get install -y libreoffice-calc-nogui" >&2; exit 1; }
command -v pdftoppm >/dev/null || { echo "render-workbook: pdftoppm missing: apt-get install -y poppler-utils" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/acme" "$out/example"

go run ./cmd/audit --export examples/acme --out "$out/acme/run" --quiet 2>/dev/null
cp "$out/acme/run/report.xlsx" "$out/acme/report.xlsx"
# Only its first check runs: the workbook is written before any.
go test ./internal/report/xlsx/ -run 'TestExampleWorkbook$/^sheets$' -count=1 -args -keep "$out/example" >/dev/null

for book in acme example; do
	dir="$out/$book"
	# On paper: the whole workbook through each sheet's print setup.
	soffice --headless --convert-to pdf --outdir "$dir" "$dir/report.xlsx" >/dev/null 2>&1
	pages="$(pdfinfo "$dir/report.pdf" | awk '/^Pages:/ {print $2}')"
	pdftoppm -r 80 -png "$dir/report.pdf" "$dir/print"
	# On screen: one copy per sheet at its natural size (no fit to the
	# page), its first page rendered: the cells as a screen shows them.
	# (The headless Calc has no PNG export; PDF and pdftoppm stand in.)
	go run ./scripts/sheetcopies "$dir/report.xlsx" "$dir/sheets"
	for copy in "$dir"/sheets/*.xlsx; do
		soffice --headless --convert-to pdf --outdir "$dir/sheets" "$copy" >/dev/null 2>&1
		pdftoppm -r 80 -png -f 1 -l 1 "${copy%.xlsx}.pdf" "${copy%.xlsx}"
	done
	echo "$book: $pages printed page(s) in $dir/print-*.png; sheets on screen in $dir/sheets/*.png"
	if (( pages > max_pages )); then
		echo "render-workbook: $book prints on $pages pages, more than $max_pages" >&2
		exit 1
	fi
done
