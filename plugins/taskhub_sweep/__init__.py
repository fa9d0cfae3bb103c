"""taskhub_sweep: a built-in taskhub plugin (work in progress)."""
