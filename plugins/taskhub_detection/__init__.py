"""taskhub_detection: a built-in taskhub plugin (work in progress)."""
