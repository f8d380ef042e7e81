SELECT
  (SELECT COUNT(*) FROM `proj.ds._runaudit_staging_20260302_tok_runs`) AS runs,
  (SELECT COUNT(*) FROM `proj.ds._runaudit_staging_20260302_tok_findings`) AS findings,
  (SELECT COUNT(*) FROM `proj.ds._runaudit_staging_20260302_tok_inventory`) AS inventory,
  (SELECT COUNT(*) FROM `proj.ds._runaudit_staging_20260302_tok_coverage`) AS coverage
