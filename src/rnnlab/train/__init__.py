"""Training: configs, the loop, checkpoints and metrics. Reads files; the layers never do."""
