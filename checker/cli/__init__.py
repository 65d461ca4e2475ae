"""Argument parsing only: one module per sub-command and the options they share."""
