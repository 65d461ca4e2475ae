"""The scheduled audit: repository vs newest release data vs the live cluster."""
