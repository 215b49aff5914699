"""What the workflow needs beyond training: config validation, run statistics, tables,
figures. Importing this package imports no numerical library."""
