"""What a run does: check, PR mode, baselines, fix and the audit."""
