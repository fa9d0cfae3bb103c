"""Hydra config groups of the speech plugin (task/, model/, dataset/)."""
