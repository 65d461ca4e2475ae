"""Conftest-compatible Rego policies, evaluated in-process."""
