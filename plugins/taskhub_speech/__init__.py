"""taskhub_speech: a built-in taskhub plugin (work in progress)."""
