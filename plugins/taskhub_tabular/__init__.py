"""taskhub_tabular: a built-in taskhub plugin (work in progress)."""
