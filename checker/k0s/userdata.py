"""Where k0s-policy keeps what a user adds: release files written by ``k0s-policy releases import``.

The directory is ``--data-dir`` when given, else ``$XDG_DATA_HOME/k0s-policy/releases``, else
``~/.local/share/k0s-policy/releases``. ``check`` loads it when it exists; a file there replaces
the built-in data of its minor.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "k0s-policy"
RELEASES = "releases"
NEW_FILE_MODE = 0o644


class DataDirError(Exception):
    pass


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user release directory; a relative XDG_DATA_HOME is ignored, as the XDG spec asks."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / APP_NAME / RELEASES


def release_dirs(explicit: str | None, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The user release directories a check loads: the given one (which must exist), else the
    default one when it exists."""
    if explicit:
        directory = Path(explicit)
        if not directory.is_dir():
            raise DataDirError(f"--data-dir {explicit}: no such directory")
        return [directory]
    directory = default_data_dir(environ)
    return [directory] if directory.is_dir() else []


def write_atomically(path: Path, data: bytes) -> None:
    """Replace (or create) a file in one step: temporary file in the same directory, then rename.
    An existing file keeps its permission bits."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    import tempfile  # only writers pay for it; every check loads this module

    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
