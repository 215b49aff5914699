"""Analysis of finished runs: one row per run (runs), parameter statistics (runstats),
paired statistics (paired), where the jobs' time went (compute), what the results are
(describe)."""
