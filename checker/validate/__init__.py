"""Per-release schema validation of k0s documents."""
