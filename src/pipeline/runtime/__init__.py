"""How jobs run, below the command line: BLAS threads (threads), a job's log and child
process (jobs), faults of the environment with their messages and exit codes (faults),
and the failure records a failed training job leaves (failures)."""
