"""``taskhub data check`` and the same check at the start of every run: describe the splits
(:meth:`taskhub.Task.describe_data`), find what makes them unusable or suspicious
(:mod:`.checks`), write ``data_report.md`` and pictures (:mod:`.report`), cache the result by the
data fingerprint (:mod:`.at_run_start`)."""
