"""k0s's ``spec.images.repository`` rewrite of image names."""

from __future__ import annotations

from checker.inputs.imageref import is_host_like


def rewrite_repository(name: str, repository: str, idempotent: bool) -> str:
    """Apply k0s's ``spec.images.repository`` override to an image name.

    k0s (pkg/apis/k0s/v1beta1/images.go, overrideRepository): an empty repository changes nothing;
    a host-like first segment (contains '.' or ':' or is ``localhost``) is replaced by the
    repository; otherwise ``repository/`` is put in front of the whole name. k0s releases with the
    idempotency guard leave a name alone when it already starts with the repository string (a
    plain string prefix test, as in k0s).
    """
    if not repository:
        return name
    if idempotent and name.startswith(repository):
        return name
    first, sep, rest = name.partition("/")
    if sep and is_host_like(first):
        return f"{repository}/{rest}"
    return f"{repository}/{name}"
