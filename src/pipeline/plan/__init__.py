"""The configuration of a study: its checks (config_check), its experiments and their
run settings (experiments), regularization paths expanded into experiments (sweeps).
Importing this package imports no numerical library."""
