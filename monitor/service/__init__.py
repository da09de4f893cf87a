"""The running service: the pipeline's assembly, the daemon, its lock, health, metrics and logs."""
