"""Ask OCI registries (the distribution API) whether images exist and for which platforms.

Only manifests are read: ``GET /v2/`` once per registry (reachability and the auth challenge),
``HEAD /v2/<name>/manifests/<ref>`` once per distinct image, and, only when platforms are asked for
(``--platform``), a ``GET`` of the same manifest and, for a single-platform image, of its config blob
(a small JSON document).
Layers are never fetched. Anonymous access, HTTP basic credentials and the bearer-token flow
(``WWW-Authenticate: Bearer realm=...,service=...,scope=...``) are supported; credentials come from a
Docker ``config.json`` and never appear in any message.

httpx is an optional dependency (``k0s-policy[registry]``), imported only when a registry is asked.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from checker.inputs.imageref import DEFAULT_REGISTRY, LEGACY_DEFAULT_REGISTRIES, ImageRef
from checker.records import dataclass, field

if TYPE_CHECKING:
    import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
ACCEPT = ", ".join(MANIFEST_TYPES)
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # distribution refuses manifests above 4 MiB
DOCKER_HUB_API = "registry-1.docker.io"  # images name Docker Hub docker.io; its API lives here
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2  # after the first try, on 429, 5xx and transport errors
DEFAULT_WORKERS = 4
_MAX_RETRY_AFTER = 5.0
_PLATFORM_RE = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
_CHALLENGE_PARAM_RE = re.compile(r'([A-Za-z]+)="([^"]*)"')

PRESENT = "present"
MISSING = "missing"
ERROR = "error"
SKIPPED = "skipped"

UNREACHABLE = "unreachable"
CREDENTIALS = "credentials"
PROTOCOL = "protocol"


class RegistrySetupError(Exception):
    """A registry option or credentials file that cannot be used (exit code 2)."""


# --- what is asked ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """One registry to ask: ``name`` is how image references spell it (host[:port], maybe a path)."""

    name: str
    host: str
    scheme: str  # "https", or "http" for a host allowed with --registry-insecure

    @property
    def base_url(self) -> str:
        host = DOCKER_HUB_API if self.host == DEFAULT_REGISTRY else self.host
        return f"{self.scheme}://{host}"

    def holds(self, ref: ImageRef) -> bool:
        """True when the image's name resolves to this registry (and to its path, if one is given)."""
        if registry_host(ref) != self.host:
            return False
        prefix = self.name[len(self.host) :].strip("/")
        path = self.repository(ref)
        return not prefix or path == prefix or path.startswith(prefix + "/")

    def repository(self, ref: ImageRef) -> str:
        """The repository path the distribution API names: the name without its registry, and on
        Docker Hub with ``library/`` for official images (``nginx`` is ``library/nginx``)."""
        if ref.registry is None or registry_host(ref) == DEFAULT_REGISTRY:
            return ref.canonical_name().partition("/")[2]
        return ref.name[len(ref.registry) + 1 :]


def registry_host(ref: ImageRef) -> str:
    """The registry an image name resolves to, as the container tools see it (case-insensitive)."""
    host = (ref.registry or DEFAULT_REGISTRY).lower()
    return DEFAULT_REGISTRY if host in LEGACY_DEFAULT_REGISTRIES else host


def parse_registry(text: str, insecure: Iterable[str] = ()) -> Registry:
    """``--registry`` value: ``host[:port][/path]``, optionally with ``https://`` (or ``http://`` for an
    insecure host). Raises RegistrySetupError naming what is wrong."""
    raw = text.strip()
    if not raw:
        raise RegistrySetupError("--registry needs a host such as registry.example.com:5000")
    scheme = ""
    if "://" in raw:
        parts = urlsplit(raw)
        scheme, host, path = parts.scheme.lower(), parts.netloc, parts.path
        if scheme not in ("http", "https") or not host or parts.query or parts.fragment:
            raise RegistrySetupError(f"--registry {text}: use https://host[:port][/path] or host[:port]")
        if "@" in host:
            raise RegistrySetupError(
                f"--registry {_redact(text)}: put credentials in a Docker config.json, not in the URL"
            )
    else:
        host, _, path = raw.partition("/")
    host = host.lower()
    host = DEFAULT_REGISTRY if host in LEGACY_DEFAULT_REGISTRIES else host
    allowed = {h.strip().lower() for h in insecure}
    if scheme == "http" and host not in allowed:
        raise RegistrySetupError(
            f"--registry {text}: plain HTTP is used only for hosts named with --registry-insecure {host}"
        )
    scheme = "http" if host in allowed else "https"
    path = path.strip("/")
    return Registry(f"{host}/{path}" if path else host, host, scheme)


def _redact(text: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", text)


# --- credentials -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:  # never print a secret, also not in a traceback or a debugger
        return f"Credentials(username={self.username!r}, password=***)"


def default_auth_file(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def load_auth_file(path: Path, explicit: bool) -> dict[str, Credentials]:
    """``auths`` of a Docker config.json by registry host. A missing default file means anonymous
    access; a missing or malformed file named on the command line is an error. Credential helpers are
    programs and are never run: registries that only have one are asked anonymously."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise RegistrySetupError(f"{path}: registry credentials file does not exist") from None
        return {}
    except OSError as err:
        raise RegistrySetupError(f"{path}: cannot read the credentials file: {err.strerror or err}") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise RegistrySetupError(f"{path}: not a Docker config.json: {err}") from None
    auths = data.get("auths", {}) if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        raise RegistrySetupError(f"{path}: 'auths' must be a mapping of registry to credentials")
    result: dict[str, Credentials] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise RegistrySetupError(f"{path}: auths entry {key!r} must be a mapping")
        credentials = _entry_credentials(path, str(key), entry)
        if credentials is not None:
            result[_auth_key(str(key))] = credentials
    return result


def _entry_credentials(path: Path, key: str, entry: dict[str, Any]) -> Credentials | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistrySetupError(
                f"{path}: auths entry {key!r}: 'auth' is not base64 of user:password"
            ) from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise RegistrySetupError(f"{path}: auths entry {key!r}: 'auth' is not base64 of user:password")
        return Credentials(username, password)
    username, password = entry.get("username"), entry.get("password")
    if isinstance(username, str) and isinstance(password, str) and username:
        return Credentials(username, password)
    return None


def _auth_key(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``registry:5000`` stays."""
    host = urlsplit(key).netloc if "://" in key else key.partition("/")[0]
    host = host.lower()
    return DEFAULT_REGISTRY if host in LEGACY_DEFAULT_REGISTRIES else host


# --- what comes back ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one registry said about one image."""

    image: str
    registry: str
    status: str  # PRESENT, MISSING, ERROR or SKIPPED
    platforms: frozenset[str] | None = None  # None: not learned
    digest: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Problem:
    """A registry that could not be asked at all."""

    registry: str
    kind: str  # UNREACHABLE, CREDENTIALS or PROTOCOL
    message: str


@dataclass
class Answers:
    """Everything the registries said during one run, by image reference."""

    registries: tuple[Registry, ...]
    platforms: tuple[str, ...]
    answers: dict[str, Answer] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)
    auth_source: str = ""

    def registry_for(self, ref: ImageRef) -> Registry | None:
        matches = [r for r in self.registries if r.holds(ref)]
        return max(matches, key=lambda r: len(r.name)) if matches else None

    def answer(self, ref: ImageRef) -> Answer | None:
        return self.answers.get(str(ref))


def parse_platform(text: str) -> str:
    value = text.strip().lower()
    if not _PLATFORM_RE.fullmatch(value):
        raise RegistrySetupError(
            f"--platform {text}: use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7"
        )
    return value


def platform_matches(wanted: str, offered: Iterable[str]) -> bool:
    """Whether an image for ``offered`` platforms runs on ``wanted``, as containerd normalises them:
    ``arm64`` means ``arm64/v8``, ``arm`` means ``arm/v7`` and ``amd64`` ignores ``v1``; a wanted
    platform without a variant is served by any variant of its architecture."""
    want = _normalise(wanted)
    loose = wanted.count("/") == 1 and want.rsplit("/", 1)[-1] not in ("v7", "v8")
    for platform in offered:
        have = _normalise(platform)
        if have == want or (loose and have.startswith(want + "/")):
            return True
    return False


def _normalise(platform: str) -> str:
    parts = platform.lower().split("/")
    if len(parts) == 2 and parts[1] == "arm64":
        parts.append("v8")
    elif len(parts) == 2 and parts[1] == "arm":
        parts.append("v7")
    elif len(parts) == 3 and parts[1] == "amd64" and parts[2] == "v1":
        parts.pop()
    return "/".join(parts)


# --- the client ----------------------------------------------------------------------------------------------


class _Refused(Exception):
    """The registry refused the credentials (or asks for some and there are none)."""


class _Unreachable(Exception):
    pass


@dataclass
class Settings:
    registries: tuple[Registry, ...]
    platforms: tuple[str, ...] = ()  # --platform; none: existence only, one HEAD per image
    credentials: Mapping[str, Credentials] = field(default_factory=dict)
    auth_source: str = ""
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    workers: int = DEFAULT_WORKERS
    backoff: float = 0.25
    asked: Answers | None = None  # what this run already learned (one request per image per run)
    named: frozenset[str] = frozenset()  # registries named on the command line: each must hold an image


def ask(settings: Settings, images: Iterable[ImageRef]) -> Answers:
    """Ask each image's registry about it, once per distinct reference; never raises for network trouble."""
    answers = Answers(settings.registries, settings.platforms, auth_source=settings.auth_source)
    wanted: dict[str, tuple[ImageRef, Registry]] = {}
    for ref in images:
        registry = answers.registry_for(ref)
        if registry is not None:
            wanted.setdefault(str(ref), (ref, registry))
    if not wanted:
        return answers
    with _Session(settings) as session:
        used = {registry.name: registry for _, registry in wanted.values()}
        for registry in used.values():
            problem = session.probe(registry)
            if problem is not None:
                answers.problems[registry.name] = problem
        jobs = [(ref, reg) for ref, reg in wanted.values() if reg.name not in answers.problems]
        for ref, registry in wanted.values():
            if registry.name in answers.problems:
                answers.answers[str(ref)] = Answer(str(ref), registry.name, SKIPPED)
        with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
            for answer in pool.map(lambda job: session.image(*job), jobs):
                answers.answers[answer.image] = answer
    return answers


def trust(ca_file: str | None) -> ssl.SSLContext:
    """The system trust store, plus a PEM bundle given with --registry-ca."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except FileNotFoundError:
            raise RegistrySetupError(f"--registry-ca {ca_file}: no such file") from None
        except (OSError, ssl.SSLError, ValueError) as err:
            raise RegistrySetupError(
                f"--registry-ca {ca_file}: not a PEM certificate bundle ({err})"
            ) from None
    return context


class _Session:
    def __init__(self, settings: Settings) -> None:
        import httpx  # the optional extra: only runs that ask a registry import it

        self.settings = settings
        context = trust(settings.ca_file)
        self.httpx = httpx
        self.client = httpx.Client(
            verify=context,
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=True,
            headers={"User-Agent": "k0s-policy"},
        )
        self.tokens: dict[tuple[str, str, str], str] = {}
        self.basic: dict[str, bool] = {}  # registry -> answers Basic challenges
        self.lock = threading.Lock()

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    # -- requests with retries and auth --

    def _send(self, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        attempt = 0
        while True:
            try:
                request = self.client.build_request(method, url, headers=headers)
                response = self.client.send(request, stream=True)  # bodies are read within a limit
            except self.httpx.TransportError as err:
                if attempt >= self.settings.retries or _is_tls_verification(err):
                    raise _Unreachable(_describe_transport(err)) from None  # a bad certificate stays bad
                self._sleep(attempt, None)
                attempt += 1
                continue
            busy = response.status_code == 429 or response.status_code >= 500
            if busy and attempt < self.settings.retries:
                retry_after = response.headers.get("Retry-After")
                response.close()
                self._sleep(attempt, retry_after)
                attempt += 1
                continue
            return response

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.settings.backoff * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER))
        time.sleep(delay)

    def request(
        self, registry: Registry, method: str, path: str, scope: str, accept: str = ""
    ) -> httpx.Response:
        """One request with whatever authorisation the registry asks for; raises _Refused/_Unreachable."""
        url = registry.base_url + path
        headers = {"Accept": accept} if accept else {}
        authorization = self._cached_authorization(registry, scope)
        if authorization:
            headers["Authorization"] = authorization
        response = self._send(method, url, headers)
        if response.status_code != 401:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        response.close()
        authorization = self._authorize(registry, challenge, scope)
        headers["Authorization"] = authorization
        response = self._send(method, url, headers)
        if response.status_code == 401:
            response.close()
            raise _Refused(f"{registry.name} refused the credentials{self._from()}")
        return response

    def _from(self) -> str:
        return f" from {self.settings.auth_source}" if self.settings.auth_source else ""

    def _credentials(self, registry: Registry) -> Credentials | None:
        return self.settings.credentials.get(registry.host)

    def _cached_authorization(self, registry: Registry, scope: str) -> str:
        with self.lock:
            for (name, cached_scope, _), token in self.tokens.items():
                if name == registry.name and cached_scope == scope:
                    return f"Bearer {token}"
            if self.basic.get(registry.name):
                credentials = self._credentials(registry)
                if credentials is not None:
                    return _basic(credentials)
        return ""

    def _authorize(self, registry: Registry, challenge: str, scope: str) -> str:
        scheme, _, params_text = challenge.strip().partition(" ")
        credentials = self._credentials(registry)
        if scheme.lower() == "basic":
            if credentials is None:
                where = f"in {self.settings.auth_source}" if self.settings.auth_source else "(no config.json)"
                raise _Refused(f"{registry.name} asks for credentials and there are none for it {where}")
            with self.lock:
                self.basic[registry.name] = True
            return _basic(credentials)
        if scheme.lower() != "bearer":
            raise _Refused(f"{registry.name} asks for {scheme or 'unknown'} authentication (not supported)")
        params = dict(_CHALLENGE_PARAM_RE.findall(params_text))
        realm = params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise _Refused(f"{registry.name} sent a bearer challenge without a token realm")
        plain = realm.startswith("http://")
        if plain and (registry.scheme != "http" or urlsplit(realm).netloc.lower() != registry.host):
            # credentials go only to a plain-HTTP token service on a host allowed with --registry-insecure
            raise _Refused(f"{registry.name} names a plain-HTTP token service; no credentials sent to it")
        query: dict[str, str] = {}
        if params.get("service"):
            query["service"] = params["service"]
        wanted_scope = scope or params.get("scope", "")
        if wanted_scope:
            query["scope"] = wanted_scope
        headers = {"Authorization": _basic(credentials)} if credentials is not None else {}
        try:
            request = self.client.build_request("GET", realm, params=query, headers=headers)
            response = self.client.send(request, stream=True)
        except self.httpx.TransportError as err:
            raise _Unreachable(f"token service {realm}: {_describe_transport(err)}") from None
        if response.status_code != 200:
            response.close()
            if response.status_code in (401, 403):
                raise _Refused(f"the token service of {registry.name} refused the credentials{self._from()}")
            raise _Refused(f"the token service of {registry.name} answered HTTP {response.status_code}")
        try:
            body = json.loads(_limited(response))
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise _Refused(f"the token service of {registry.name} sent no token")
        with self.lock:
            self.tokens[(registry.name, scope, realm)] = token
        return f"Bearer {token}"

    # -- what the checks ask --

    def probe(self, registry: Registry) -> Problem | None:
        try:
            response = self.request(registry, "GET", "/v2/", "")
        except _Unreachable as err:
            text = str(err)
            verb = ":" if text.startswith("its TLS") else " cannot be reached:"
            return Problem(registry.name, UNREACHABLE, f"{registry.name}{verb} {text}")
        except _Refused as err:
            return Problem(registry.name, CREDENTIALS, str(err))
        except self.httpx.HTTPError as err:  # redirect loops, undecodable answers
            return Problem(registry.name, PROTOCOL, f"{registry.name}: {type(err).__name__}: {err}")
        status = response.status_code
        response.close()
        if status != 200:
            return Problem(
                registry.name,
                PROTOCOL,
                f"{registry.base_url}/v2/ answered HTTP {status}: not an OCI registry",
            )
        return None

    def image(self, ref: ImageRef, registry: Registry) -> Answer:
        repository = registry.repository(ref)
        reference = ref.digest or ref.tag or "latest"
        path = f"/v2/{repository}/manifests/{reference}"
        scope = f"repository:{repository}:pull"
        try:
            response = self.request(registry, "HEAD", path, scope, ACCEPT)
            status = response.status_code
            media_type = response.headers.get("Content-Type", "").partition(";")[0].strip()
            digest = response.headers.get("Docker-Content-Digest", "")
            response.close()
            if status == 404:
                return Answer(str(ref), registry.name, MISSING, detail="HTTP 404")
            if status != 200:
                return Answer(str(ref), registry.name, ERROR, detail=f"HTTP {status} for the manifest")
            if not self.settings.platforms:
                return Answer(str(ref), registry.name, PRESENT, None, digest)
            platforms = self._platforms(registry, path, scope, media_type, repository)
        except _Unreachable as err:
            return Answer(str(ref), registry.name, ERROR, detail=str(err))
        except _Refused as err:
            return Answer(str(ref), registry.name, ERROR, detail=str(err))
        except self.httpx.HTTPError as err:  # a timeout while reading a body, a redirect loop
            return Answer(str(ref), registry.name, ERROR, detail=f"{type(err).__name__}: {err}")
        except (ValueError, KeyError, TypeError) as err:
            return Answer(str(ref), registry.name, PRESENT, digest=digest, detail=str(err))
        return Answer(str(ref), registry.name, PRESENT, platforms, digest)

    def _platforms(
        self, registry: Registry, path: str, scope: str, media_type: str, repository: str
    ) -> frozenset[str]:
        response = self.request(registry, "GET", path, scope, ACCEPT)
        if response.status_code != 200:
            response.close()
            raise ValueError(f"GET of the manifest answered HTTP {response.status_code}")
        document = json.loads(_limited(response))
        media_type = document.get("mediaType") or media_type
        if media_type in INDEX_TYPES or "manifests" in document:
            return frozenset(
                _platform_text(entry["platform"])
                for entry in document["manifests"]
                if isinstance(entry, dict)
                and isinstance(entry.get("platform"), dict)
                and entry["platform"].get("architecture") != "unknown"  # attestation manifests
            )
        config = document.get("config", {}).get("digest")
        if not isinstance(config, str):
            raise ValueError("the manifest names no image config (a schema 1 manifest?)")
        blob = self.request(registry, "GET", f"/v2/{repository}/blobs/{config}", scope)
        if blob.status_code != 200:
            blob.close()
            raise ValueError(f"GET of the image config answered HTTP {blob.status_code}")
        return frozenset({_platform_text(json.loads(_limited(blob)))})


def _platform_text(platform: Mapping[str, Any]) -> str:
    text = f"{platform.get('os', '')}/{platform.get('architecture', '')}"
    variant = platform.get("variant")
    return f"{text}/{variant}" if variant else text


def _limited(response: httpx.Response) -> bytes:
    """The body, at most MAX_DOCUMENT_BYTES (a registry cannot make the checker read gigabytes)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            response.close()
            raise ValueError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        chunks.append(chunk)
    response.close()
    return b"".join(chunks)


def _basic(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _is_tls_verification(err: Exception) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(err)


def _describe_transport(err: Exception) -> str:
    name = type(err).__name__
    text = str(err) or name
    if _is_tls_verification(err):
        reason = text.partition("certificate verify failed: ")[2].partition(" (_ssl")[0] or "not trusted"
        return f"its TLS certificate is not trusted ({reason}); for a private CA pass --registry-ca FILE"
    return f"{name}: {text}"


Asker = Callable[[Settings, Iterable[ImageRef]], Answers]
