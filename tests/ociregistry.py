"""A real CNCF distribution registry on 127.0.0.1 for tests, and small OCI layouts to push into it.

The registry is the Debian package `docker-registry` (`docker-registry serve CONFIG`), images are
pushed with `skopeo copy` (package `skopeo`). Where a package is missing the tests that need it fail
with a message that names it (CI sets CI=true and must not pass by skipping); elsewhere they skip.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGES = {"docker-registry": "docker-registry", "skopeo": "skopeo", "openssl": "openssl"}
SKOPEO_POLICY = {"default": [{"type": "insecureAcceptAnything"}]}


def require(binary: str) -> str:
    """The path of a tool the registry tests need; fail (CI) or skip (elsewhere) naming its package."""
    found = shutil.which(binary)
    if found:
        return found
    message = f"{binary} is not installed: `apt-get install {PACKAGES[binary]}` (make test installs it when run as root)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bcrypt_htpasswd(user: str, password: str) -> str:
    """An htpasswd line with a bcrypt hash (the only kind distribution accepts), cheap rounds."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # the system libcrypt does bcrypt; Python 3.11 and 3.12 ship the module

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 4))
    except ImportError:  # Python 3.13 dropped crypt: the bcrypt package, where installed
        bcrypt = pytest.importorskip("bcrypt", reason="htpasswd needs the crypt module or bcrypt")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    assert hashed and hashed.startswith("$2"), "libcrypt has no bcrypt"
    return f"{user}:{hashed}\n"


@dataclass
class RunningRegistry:
    host: str  # 127.0.0.1:PORT
    process: subprocess.Popen[bytes]
    user: str = ""
    password: str = ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def make_ca_and_cert(workdir: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    openssl = require("openssl")
    workdir.mkdir(parents=True, exist_ok=True)
    ca, ca_key = workdir / "ca.pem", workdir / "ca.key"
    cert, key, csr = workdir / "server.pem", workdir / "server.key", workdir / "server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "1",
            "-subj",
            "/CN=k0s-policy test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "1",
            "-extfile",
            workdir / "san.cnf",
        ],
    ]
    (workdir / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    for step in steps:
        subprocess.run([openssl, *map(str, step)], check=True, capture_output=True, cwd=workdir, timeout=60)
    return ca, cert, key


def start_registry(
    workdir: Path, *, user: str = "", password: str = "", tls: tuple[Path, Path] | None = None
) -> RunningRegistry:
    binary = require("docker-registry")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth = ""
    if user:
        (workdir / "htpasswd").write_text(bcrypt_htpasswd(user, password))
        auth = f"auth:\n  htpasswd:\n    realm: k0s-policy-tests\n    path: {workdir / 'htpasswd'}\n"
    tls_settings = f", tls: {{certificate: {tls[0]}, key: {tls[1]}}}" if tls else ""
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'storage'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: k0s-policy-tests{tls_settings}}}\n" + auth
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    log = (workdir / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log, env=env)
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1).close()
            break
        except urllib.error.HTTPError:
            break  # 401 with auth: it answers
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log_text = (workdir / "registry.log").read_text()
                raise RuntimeError(f"docker-registry did not start: {log_text}") from None
            time.sleep(0.05)
    return RunningRegistry(host, process, user, password)


# --- OCI layouts -------------------------------------------------------------------------------------------


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _image_manifest(layout: Path, arch: str, content: bytes) -> dict[str, object]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = {
        "architecture": arch,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]},
        "config": {},
    }
    config_desc = _blob(layout, json.dumps(config).encode())
    layer_desc = _blob(layout, layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer_desc}],
    }
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **_blob(layout, json.dumps(manifest).encode()),
        "platform": {"os": "linux", "architecture": arch},
    }


def oci_layout(directory: Path, archs: tuple[str, ...], tag: str = "t") -> Path:
    """A tiny OCI image layout: one platform -> an image manifest; several -> an image index."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = [_image_manifest(directory, arch, f"{arch} {directory.name}\n".encode()) for arch in archs]
    if len(manifests) == 1:
        top = {k: v for k, v in manifests[0].items() if k != "platform"}
    else:
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
        top = {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            **_blob(directory, json.dumps(index).encode()),
        }
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return directory


def skopeo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = require("skopeo")
    policy = cwd / "skopeo-policy.json"
    if not policy.exists():
        policy.write_text(json.dumps(SKOPEO_POLICY))
    env = {**os.environ, "HOME": str(cwd), "XDG_RUNTIME_DIR": str(cwd)}  # no user auth files leak in
    result = subprocess.run(
        [binary, "--policy", str(policy), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {result.stderr}")
    return result


def push(layout: Path, registry: RunningRegistry, name: str, *, cwd: Path) -> None:
    """skopeo copy of the layout (all platforms) to registry/name (name includes the tag)."""
    creds = ["--dest-creds", f"{registry.user}:{registry.password}"] if registry.user else []
    skopeo(
        "copy",
        "--all",
        "--dest-tls-verify=false",
        *creds,
        f"oci:{layout}:t",
        f"docker://{registry.host}/{name}",
        cwd=cwd,
    )
