"""The registry client's own behaviour over real HTTP on 127.0.0.1: the bearer-token flow, retries on
429/5xx, one request per distinct image, credentials files, and that a plain check never imports httpx.

The distribution registry in tests/test_registry.py does basic auth; a token service needs a second
server, so the bearer flow is served here by a small registry stand-in speaking the same protocol.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checker.inputs.imageref import ImageRef
from checker.inputs.registry import (
    CREDENTIALS,
    MISSING,
    PRESENT,
    Credentials,
    RegistrySetupError,
    Settings,
    ask,
    load_auth_file,
    parse_platform,
    parse_registry,
    platform_matches,
)
from conftest import REPO_ROOT

TOKEN = "tok-123"
DIGEST = "sha256:" + "ab" * 32


class Recorder(BaseHTTPRequestHandler):
    """/v2/ and manifests need ``Bearer tok-123``; /token hands it out for alice:pw; /busy answers 429 once."""

    log: list[tuple[str, str, str]]
    busy_left: dict[str, int]

    def log_message(self, *args: object) -> None:
        pass

    def _challenge(self) -> None:
        host = self.headers["Host"]
        self.send_response(401)
        self.send_header(
            "WWW-Authenticate",
            f'Bearer realm="http://{host}/token",service="stand-in",scope="registry:catalog:*"',
        )
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reply(self, status: int, body: bytes = b"", media_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Docker-Content-Digest", DIGEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        self.log.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/token"):
            expected = "Basic " + base64.b64encode(b"alice:pw").decode()
            if self.headers.get("Authorization") != expected:
                return self._reply(401)
            return self._reply(200, json.dumps({"token": TOKEN}).encode())
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._challenge()
        if self.path == "/v2/":
            return self._reply(200, b"{}")
        if "/busy/" in self.path and self.busy_left.get(self.command, 0) > 0:
            self.busy_left[self.command] -= 1
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path.endswith("/manifests/schema1"):
            return self._reply(200, b'{"schemaVersion": 1, "fsLayers": []}', "application/json")
        if self.path.endswith("/manifests/1.0"):
            index = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {"digest": DIGEST, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
                    {"digest": DIGEST, "size": 1, "platform": {"os": "unknown", "architecture": "unknown"}},
                ],
            }
            return self._reply(200, json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")
        return self._reply(404)

    do_GET = _handle
    do_HEAD = _handle


@pytest.fixture
def stand_in() -> Iterator[tuple[str, list[tuple[str, str, str]], dict[str, int]]]:
    log: list[tuple[str, str, str]] = []
    busy = {"HEAD": 1}
    handler = type("Handler", (Recorder,), {"log": log, "busy_left": busy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", log, busy
    finally:
        server.shutdown()
        server.server_close()


def settings(host: str, password: str = "pw") -> Settings:
    registry = parse_registry(host, [host])
    return Settings(
        (registry,), ("linux/amd64",), credentials={host: Credentials("alice", password)}, backoff=0.01
    )


def test_bearer_flow_retries_and_one_request_per_image(stand_in) -> None:
    host, log, _ = stand_in
    refs = [ImageRef.parse(f"{host}/k0s/app:1.0"), ImageRef.parse(f"{host}/k0s/busy/app:1.0")]
    answers = ask(settings(host), [*refs, refs[0], ImageRef.parse(f"{host}/k0s/app:2.0")])
    assert answers.answer(refs[0]).status == PRESENT
    assert answers.answer(refs[0]).platforms == frozenset({"linux/amd64"})  # attestations are no platform
    assert answers.answer(refs[1]).status == PRESENT  # after one 429
    assert answers.answer(ImageRef.parse(f"{host}/k0s/app:2.0")).status == MISSING
    old_style = ask(settings(host), [ImageRef.parse(f"{host}/k0s/app:schema1")]).answers.popitem()[1]
    assert old_style.status == PRESENT and old_style.platforms is None and "schema 1" in old_style.detail
    tokens = [path for method, path, _ in log if path.startswith("/token")]
    assert any("scope=repository%3Ak0s%2Fapp%3Apull" in path for path in tokens)
    assert all("service=stand-in" in path for path in tokens)
    heads = [path for method, path, _ in log if method == "HEAD"]
    assert heads.count("/v2/k0s/app/manifests/1.0") == 2  # one challenged, one with the token: one image
    assert heads.count("/v2/k0s/busy/app/manifests/1.0") == 3  # challenged, 429, answered


def test_token_service_refusing_the_credentials(stand_in) -> None:
    host, _, _ = stand_in
    answers = ask(settings(host, password="nope"), [ImageRef.parse(f"{host}/k0s/app:1.0")])
    problem = answers.problems[host]
    assert problem.kind == CREDENTIALS and "refused the credentials" in problem.message
    assert "nope" not in repr(answers) + problem.message


def test_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"bob:hub-secret").decode()},
                    "registry.example.com:5000": {"username": "carol", "password": "pw2"},
                    "helper-only.example.com": {},
                },
                "credsStore": "desktop",
            }
        )
    )
    found = load_auth_file(path, explicit=True)
    assert found["docker.io"].username == "bob" and found["registry.example.com:5000"].password == "pw2"
    assert "helper-only.example.com" not in found  # credential helpers are programs: never run
    assert "hub-secret" not in repr(found)
    assert load_auth_file(tmp_path / "absent.json", explicit=False) == {}
    with pytest.raises(RegistrySetupError, match="does not exist"):
        load_auth_file(tmp_path / "absent.json", explicit=True)
    path.write_text('{"auths": {"r.example.com": {"auth": "not base64!"}}}')
    with pytest.raises(RegistrySetupError, match=r"r\.example\.com"):
        load_auth_file(path, explicit=True)


def test_registry_and_platform_options() -> None:
    assert parse_registry("https://Mirror.example.com:5000/k0s/").name == "mirror.example.com:5000/k0s"
    assert parse_registry("mirror.example.com").base_url == "https://mirror.example.com"
    assert parse_registry("docker.io").base_url == "https://registry-1.docker.io"
    assert parse_registry("docker.io").holds(ImageRef.parse("nginx:1.27"))
    assert parse_registry("docker.io").repository(ImageRef.parse("docker.io/nginx:1.27")) == "library/nginx"
    assert parse_registry("Mirror.Example.com").holds(ImageRef.parse("MIRROR.example.com/k0s/pause:3.9"))
    assert parse_registry("127.0.0.1:5000", ["127.0.0.1:5000"]).base_url == "http://127.0.0.1:5000"
    with pytest.raises(RegistrySetupError, match="--registry-insecure"):
        parse_registry("http://mirror.example.com")
    with pytest.raises(RegistrySetupError, match=r"config\.json") as caught:
        parse_registry("https://user:secret@mirror.example.com")
    assert "secret" not in str(caught.value)
    with pytest.raises(RegistrySetupError):
        parse_platform("amd64")
    assert platform_matches("linux/arm64", ["linux/arm64/v8"])
    assert platform_matches("linux/arm64/v8", ["linux/arm64"])
    assert not platform_matches("linux/arm/v6", ["linux/arm"])  # arm means arm/v7
    assert not platform_matches("linux/amd64", ["linux/arm64"])


def test_plain_check_does_not_import_httpx(tmp_path: Path) -> None:
    (tmp_path / "k0s.yaml").write_text("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
    code = (
        "import sys; from checker.cli.app import main; "
        f"rc = main(['check', {str(tmp_path)!r}, '--k0s-version', '1.30']); "
        "assert 'httpx' not in sys.modules, 'httpx imported'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout


def test_registry_options_fail_before_any_request(tmp_path: Path, capsys, monkeypatch) -> None:
    from checker.cli.app import main

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    (tmp_path / "k0s.yaml").write_text(
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  images: {repository: r.invalid}\n"
    )
    base = ["check", str(tmp_path), "--k0s-version", "1.30"]
    cases = [
        (["--platform", "linux/arm64"], "--platform is used by the registry check"),
        (["--registry", "r.invalid", "--registry-auth", str(tmp_path / "missing.json")], "does not exist"),
        (["--registry", "http://r.invalid"], "--registry-insecure r.invalid"),
        (["--registry", "r.invalid", "--platform", "arm64"], "os/arch"),
        (["--registry", "r.invalid", "--registry-ca", str(tmp_path / "ca.pem")], "no such file"),
        (["--registry", "r.invalid", "--registry-ca", str(tmp_path / "k0s.yaml")], "not a PEM certificate"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2, extra
        assert message in capsys.readouterr().err
    assert main(["images", str(tmp_path), "--output-dir", str(tmp_path / "out")]) == 2
    assert "--format skopeo-sync" in capsys.readouterr().err


def test_rules_only_read_the_answers(tmp_path: Path, catalog) -> None:
    """K0S207-K0S209 on answers given directly: no network, the same findings as a real registry gives."""
    from checker.inputs.registry import SKIPPED, Answer, Answers, Problem
    from checker.rules import Options
    from conftest import check_paths, write

    write(
        tmp_path,
        "k0s.yaml",
        """
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            repository: mirror.example.com
            default_pull_policy: Never
        """,
    )
    patch = catalog.resolve("v1.30.2+k0s.0").patch
    running = patch.effective_images("mirror.example.com")
    registry = parse_registry("mirror.example.com")

    def findings(answers: dict[str, Answer], problems: dict[str, Problem] | None = None) -> list[str]:
        known = Answers((registry,), ("linux/amd64",), dict(answers), dict(problems or {}))
        result = check_paths(
            [tmp_path],
            cwd=tmp_path,
            k0s_version=patch.version,
            options=Options(registry_answers=known),
            select=["K0S20"],
        )
        return sorted(f"{f.rule} {f.data.get('subject')}" for f in result.active if f.rule >= "K0S207")

    present = {
        image: Answer(image, registry.name, PRESENT, frozenset({"linux/amd64"})) for image in running.values()
    }
    assert findings(present) == []
    coredns = running["coredns"]
    assert findings({**present, coredns: Answer(coredns, registry.name, MISSING, detail="HTTP 404")}) == [
        "K0S207 coredns"
    ]
    arm_only = Answer(coredns, registry.name, PRESENT, frozenset({"linux/arm64"}))
    assert findings({**present, coredns: arm_only}) == ["K0S208 coredns"]
    unknown = Answer(coredns, registry.name, PRESENT, None, detail="the manifest names no image config")
    assert findings({**present, coredns: unknown}) == [f"K0S209 mirror.example.com {coredns}"]
    skipped = {image: Answer(image, registry.name, SKIPPED) for image in running.values()}
    down = {registry.name: Problem(registry.name, "unreachable", "mirror.example.com cannot be reached")}
    assert findings(skipped, down) == ["K0S209 mirror.example.com"]


def test_pr_mode_asks_each_image_once(stand_in, tmp_path: Path, monkeypatch, capsys) -> None:
    """Both revisions of a pull request are checked; an image they share is asked once."""
    from checker.cli.app import main
    from conftest import git

    host, log, _ = stand_in
    repo = tmp_path / "repo"
    repo.mkdir()
    config = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  images:\n"
    config += f"    repository: {host}\n    default_pull_policy: Never\n"
    (repo / "k0s.yaml").write_text(config)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "k0s.yaml").write_text(
        config + "    coredns: {image: quay.io/k0sproject/coredns, version: 1.11.1}\n"
    )
    auth = tmp_path / "config.json"
    auth.write_text(json.dumps({"auths": {host: {"username": "alice", "password": "pw"}}}))
    monkeypatch.chdir(repo)
    argv = ["check", ".", "--k0s-version", "v1.30.2+k0s.0", "--diff-base", "main", "--format", "json"]
    code = main([*argv, "--registry", host, "--registry-insecure", host, "--registry-auth", str(auth)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f["node"] for f in report["findings"] if f["rule"] == "K0S207"] == ["spec.images.coredns.version"]
    heads = [
        path for method, path, auth_header in log if method == "HEAD" and auth_header.startswith("Bearer")
    ]
    assert heads and len(heads) == len(set(heads))  # each image once, over both revisions
    assert "/v2/k0sproject/coredns/manifests/1.11.1" in heads


def test_windows_images_are_checked_for_windows_platforms() -> None:
    from checker.rules.registry import platforms_for

    asked = ("linux/amd64", "linux/arm64", "windows/amd64")
    assert platforms_for("coredns", asked) == ["linux/amd64", "linux/arm64"]
    assert platforms_for("windows.pause", asked) == ["windows/amd64"]
    assert platforms_for("calico.windows.node", ("linux/arm64",)) == ["windows/amd64"]


def test_without_platforms_one_head_per_image(stand_in) -> None:
    host, log, _ = stand_in
    plain = Settings((parse_registry(host, [host]),), credentials={host: Credentials("alice", "pw")})
    answers = ask(plain, [ImageRef.parse(f"{host}/k0s/app:1.0"), ImageRef.parse(f"{host}/k0s/app:2.0")])
    assert [a.status for a in answers.answers.values()] == [PRESENT, MISSING]
    manifests = [
        (method, path) for method, path, auth in log if "/manifests/" in path and auth.startswith("Bearer")
    ]
    assert sorted(manifests) == [("HEAD", "/v2/k0s/app/manifests/1.0"), ("HEAD", "/v2/k0s/app/manifests/2.0")]
