from __future__ import annotations

import pytest

from checker.inputs.imageref import ImageRef, same_image, split_image_and_version
from checker.k0s.repository import rewrite_repository

DIGEST = "sha256:" + "0123456789abcdef" * 4
PUSHGATEWAY_DIGEST = "sha256:7031f6bf6c957e2fdb496161fe3bea0a5bde3de800deeba7b2155187196ecbd9"


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest", "registry"),
    [
        ("quay.io/k0sproject/coredns:1.11.3", "quay.io/k0sproject/coredns", "1.11.3", None, "quay.io"),
        (
            "10.0.0.5:5000/k0sproject/coredns:1.11.3",
            "10.0.0.5:5000/k0sproject/coredns",
            "1.11.3",
            None,
            "10.0.0.5:5000",
        ),
        ("10.0.0.5:5000/foo/bar", "10.0.0.5:5000/foo/bar", None, None, "10.0.0.5:5000"),
        ("registry.local:443/pause", "registry.local:443/pause", None, None, "registry.local:443"),
        ("localhost/foo:1", "localhost/foo", "1", None, "localhost"),
        ("localhost:5000/foo/bar:v1-2", "localhost:5000/foo/bar", "v1-2", None, "localhost:5000"),
        ("nginx", "nginx", None, None, None),
        ("nginx:1.25", "nginx", "1.25", None, None),
        ("calico/cni:v3.18.1", "calico/cni", "v3.18.1", None, None),
        (f"quay.io/k0sproject/pause@{DIGEST}", "quay.io/k0sproject/pause", None, DIGEST, "quay.io"),
        (f"quay.io/k0sproject/pause:3.9@{DIGEST}", "quay.io/k0sproject/pause", "3.9", DIGEST, "quay.io"),
        (
            f"10.0.0.5:5000/k0sproject/pause:3.9@{DIGEST}",
            "10.0.0.5:5000/k0sproject/pause",
            "3.9",
            DIGEST,
            "10.0.0.5:5000",
        ),
        (
            f"quay.io/k0sproject/pushgateway-ttl:edge@{PUSHGATEWAY_DIGEST}",
            "quay.io/k0sproject/pushgateway-ttl",
            "edge",
            PUSHGATEWAY_DIGEST,
            "quay.io",
        ),
        (
            "us.gcr.io/k8s-artifacts-prod/kas-network-proxy/proxy-agent:v0.0.16",
            None,
            "v0.0.16",
            None,
            "us.gcr.io",
        ),
        ("[::1]:5000/foo:1", "[::1]:5000/foo", "1", None, "[::1]:5000"),
    ],
)
def test_parse(
    text: str, name: str | None, tag: str | None, digest: str | None, registry: str | None
) -> None:
    ref = ImageRef.parse(text)
    if name is not None:
        assert ref.name == name
    assert ref.tag == tag
    assert ref.digest == digest
    assert ref.registry == registry
    assert str(ref) == text


def test_first_segment_without_dot_or_colon_is_not_a_registry() -> None:
    ref = ImageRef.parse("k0sproject/coredns:1.0")
    assert ref.registry is None
    assert ImageRef.parse("localhost").registry is None  # a one-segment name is never a host


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.25", "docker.io/library/nginx"),
        ("calico/cni:v3.18.1", "docker.io/calico/cni"),
        ("docker.io/calico/cni:v3.18.1", "docker.io/calico/cni"),
        ("docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/calico/cni", "docker.io/calico/cni"),
        ("index.docker.io/nginx", "docker.io/library/nginx"),
        ("quay.io/k0sproject/coredns:1.11.3", "quay.io/k0sproject/coredns"),
        ("10.0.0.5:5000/coredns", "10.0.0.5:5000/coredns"),
        ("localhost/coredns", "localhost/coredns"),
    ],
)
def test_canonical_name(text: str, canonical: str) -> None:
    assert ImageRef.parse(text).canonical_name() == canonical


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        (" ", "whitespace"),
        ("quay.io/k0sproject/coredns :1.0", "whitespace"),
        ("quay.io/k0s project/coredns", "whitespace"),
        ("foo\t:1", "whitespace"),
        ("foo:", "tag"),
        ("foo:-bad", "tag"),
        ("foo:a/b", "registry host"),
        (":1.0", "empty"),
        ("@" + DIGEST, "empty"),
        ("foo@", "digest"),
        ("foo@sha256", "digest"),
        ("foo@sha256:abc", "64"),
        ("foo@sha256:" + "0123456789ABCDEF" * 4, "64"),
        ("foo@md5:0123456789abcdef0123456789abcdef", "algorithm"),
        ("foo:1@sha256:" + "0" * 63 + "g", "64"),
        ("Foo/bar:1", "path component"),
        ("quay.io/K0sproject/coredns", "path component"),
        ("foo//bar", "path component"),
        ("/foo", "path component"),
        ("foo/", "path component"),
        ("foo..bar", "path component"),
        ("-foo", "path component"),
        ("quay..io/foo", "registry host"),
        ("quay.io:port/foo", "registry host"),
        ("foo:1:2", "path component"),
    ],
)
def test_parse_rejects_garbage(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="invalid image reference") as info:
        ImageRef.parse(text)
    assert fragment in str(info.value)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="not a string"):
        ImageRef.parse(5)  # type: ignore[arg-type]


def test_parse_is_cached_but_returns_equal_immutable_values() -> None:
    a = ImageRef.parse("quay.io/k0sproject/coredns:1.11.3")
    b = ImageRef.parse("quay.io/k0sproject/coredns:1.11.3")
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.tag = "2"  # type: ignore[misc]


def test_with_name_keeps_tag_and_digest() -> None:
    ref = ImageRef.parse(f"quay.io/k0sproject/pause:3.9@{DIGEST}")
    assert str(ref.with_name("reg.local/pause")) == f"reg.local/pause:3.9@{DIGEST}"


@pytest.mark.parametrize(
    ("image", "version", "expected"),
    [
        ("quay.io/k0sproject/coredns", "1.11.3", "quay.io/k0sproject/coredns:1.11.3"),
        ("10.0.0.5:5000/k0sproject/coredns", "1.11.3", "10.0.0.5:5000/k0sproject/coredns:1.11.3"),
        (
            "quay.io/k0sproject/pushgateway-ttl",
            f"edge@{DIGEST}",
            f"quay.io/k0sproject/pushgateway-ttl:edge@{DIGEST}",
        ),
        ("quay.io/k0sproject/coredns:1.11.3", None, "quay.io/k0sproject/coredns:1.11.3"),
        ("quay.io/k0sproject/coredns:1.11.3", "", "quay.io/k0sproject/coredns:1.11.3"),
        ("10.0.0.5:5000/k0sproject/coredns", None, "10.0.0.5:5000/k0sproject/coredns"),
        (f"quay.io/k0sproject/coredns@{DIGEST}", None, f"quay.io/k0sproject/coredns@{DIGEST}"),
    ],
)
def test_split_image_and_version(image: str, version: str | None, expected: str) -> None:
    assert str(split_image_and_version(image, version)) == expected


def test_split_image_and_version_with_port_keeps_the_host() -> None:
    ref = split_image_and_version("10.0.0.5:5000/coredns", "1.0")
    assert (ref.registry, ref.name, ref.tag) == ("10.0.0.5:5000", "10.0.0.5:5000/coredns", "1.0")


@pytest.mark.parametrize(
    ("image", "version", "fragment"),
    [
        ("quay.io/k0sproject/coredns:1.11.3", "1.11.4", "already carries a tag"),
        (f"quay.io/k0sproject/coredns@{DIGEST}", "1.11.4", "already carries a tag"),
        ("quay.io/k0sproject/coredns", DIGEST, "bare digest"),
        ("quay.io/k0sproject/coredns", "1.0 ", "whitespace"),
        ("quay.io/k0sproject/coredns", "v1@sha256:abc", "64"),
        ("", "1.0", "empty"),
    ],
)
def test_split_image_and_version_errors(image: str, version: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        split_image_and_version(image, version)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("name", "repository", "expected"),
    [
        # host-like first segment: replaced
        (
            "quay.io/k0sproject/coredns",
            "registry.example.com/lcm",
            "registry.example.com/lcm/k0sproject/coredns",
        ),
        ("registry.k8s.io/pause", "reg.local", "reg.local/pause"),
        ("10.0.0.5:5000/k0sproject/coredns", "reg.local", "reg.local/k0sproject/coredns"),
        ("localhost/k0sproject/coredns", "reg.local", "reg.local/k0sproject/coredns"),
        ("docker.io/calico/cni", "reg.local:5000", "reg.local:5000/calico/cni"),
        # no host: repository put in front
        ("calico/cni", "reg.local", "reg.local/calico/cni"),
        ("nginx", "reg.local", "reg.local/nginx"),
        ("k0sproject/coredns", "10.0.0.5:5000/mirror", "10.0.0.5:5000/mirror/k0sproject/coredns"),
        # empty repository: nothing happens
        ("quay.io/k0sproject/coredns", "", "quay.io/k0sproject/coredns"),
    ],
)
@pytest.mark.parametrize("idempotent", [False, True])
def test_rewrite_repository(name: str, repository: str, expected: str, idempotent: bool) -> None:
    assert rewrite_repository(name, repository, idempotent) == expected


def test_rewrite_repository_idempotency_guard() -> None:
    once = rewrite_repository("quay.io/k0sproject/envoy-distroless", "foo.bar/k0sproject", idempotent=False)
    assert once == "foo.bar/k0sproject/k0sproject/envoy-distroless"
    # Without the guard a second unmarshal rewrites again (the doubled path seen in k0s#7738's review) ...
    assert (
        rewrite_repository(once, "foo.bar/k0sproject", idempotent=False)
        == "foo.bar/k0sproject/k0sproject/k0sproject/envoy-distroless"
    )
    # ... with it, a name that already starts with the repository is left alone.
    assert rewrite_repository(once, "foo.bar/k0sproject", idempotent=True) == once
    assert rewrite_repository("quay.io/k0sproject/coredns", "quay.io/k0sproject", idempotent=True) == (
        "quay.io/k0sproject/coredns"
    )
    assert rewrite_repository("quay.io/k0sproject/coredns", "quay.io/k0sproject", idempotent=False) == (
        "quay.io/k0sproject/k0sproject/coredns"
    )


def test_rewrite_repository_idempotency_is_a_plain_string_prefix_like_k0s() -> None:
    # k0s uses strings.HasPrefix, so a longer path component with the same start also counts.
    assert (
        rewrite_repository("reg.local/lcm2/coredns", "reg.local/lcm", idempotent=True)
        == "reg.local/lcm2/coredns"
    )
    assert rewrite_repository("reg.local/lcm2/coredns", "reg.local/lcm", idempotent=False) == (
        "reg.local/lcm/lcm2/coredns"
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("nginx:1.25", "docker.io/library/nginx:1.25", True),
        ("nginx:1.25", "index.docker.io/library/nginx:1.25", True),
        ("calico/cni:v3.18.1", "docker.io/calico/cni:v3.18.1", True),
        ("calico/cni:v3.18.1", "docker.io/calico/cni:v3.18.2", False),
        ("quay.io/k0sproject/coredns:1.11.3", "quay.io/k0sproject/coredns:1.11.3", True),
        ("quay.io/k0sproject/coredns:1.11.3", "registry.k8s.io/coredns:1.11.3", False),
        ("nginx", "nginx:latest", True),
        ("nginx", "nginx:1", False),
        (f"nginx:1@{DIGEST}", "nginx:1", True),
        (f"nginx:1@{DIGEST}", f"nginx:1@sha256:{'f' * 64}", False),
        (f"nginx:1@{DIGEST}", f"docker.io/library/nginx:1@{DIGEST}", True),
        (f"nginx@{DIGEST}", "nginx:1", False),
        ("10.0.0.5:5000/coredns:1", "10.0.0.5:5000/coredns:1", True),
        ("10.0.0.5:5000/coredns:1", "10.0.0.5:5001/coredns:1", False),
    ],
)
def test_same_image(a: str, b: str, same: bool) -> None:
    ra, rb = ImageRef.parse(a), ImageRef.parse(b)
    assert same_image(ra, rb) is same
    assert same_image(rb, ra) is same
