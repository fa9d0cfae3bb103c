"""taskhub_forecast: a built-in taskhub plugin (work in progress)."""
