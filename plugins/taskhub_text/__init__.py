"""taskhub_text: a built-in taskhub plugin (work in progress)."""
