"""k0s-policy: checks k0s configuration in GitOps repositories before it is synced."""

__version__ = "0.1.0"
