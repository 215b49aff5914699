"""Training: the step and epoch loop, random streams, checkpoints, console reports and
the run folder."""
