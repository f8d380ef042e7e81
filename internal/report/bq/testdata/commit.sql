BEGIN TRANSACTION;
DELETE FROM `proj.ds.runs` WHERE run_date = DATE '2026-03-02';
INSERT INTO `proj.ds.runs` (run_id, run_date, runs_col)
SELECT run_id, run_date, runs_col FROM `proj.ds._runaudit_staging_20260302_tok_runs`;
DELETE FROM `proj.ds.findings` WHERE run_date = DATE '2026-03-02';
INSERT INTO `proj.ds.findings` (run_id, run_date, findings_col)
SELECT run_id, run_date, findings_col FROM `proj.ds._runaudit_staging_20260302_tok_findings`;
DELETE FROM `proj.ds.inventory` WHERE run_date = DATE '2026-03-02';
INSERT INTO `proj.ds.inventory` (run_id, run_date, inventory_col)
SELECT run_id, run_date, inventory_col FROM `proj.ds._runaudit_staging_20260302_tok_inventory`;
DELETE FROM `proj.ds.coverage` WHERE run_date = DATE '2026-03-02';
INSERT INTO `proj.ds.coverage` (run_id, run_date, coverage_col)
SELECT run_id, run_date, coverage_col FROM `proj.ds._runaudit_staging_20260302_tok_coverage`;
COMMIT TRANSACTION;
