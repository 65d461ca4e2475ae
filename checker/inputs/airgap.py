"""What an air-gap image list holds (`k0s airgap list-images` output: one reference per line)."""

from __future__ import annotations

from pathlib import Path

from checker.inputs.imageref import ImageRef


class AirgapError(Exception):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")


def parse_image_list(text: str, shown: str) -> frozenset[str]:
    """Normalised references (``name:tag[@digest]``) of every line; blank lines and # comments skipped."""
    images: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            images.add(str(ImageRef.parse(entry)))
        except ValueError as err:
            raise AirgapError(shown, number, str(err)) from None
    return frozenset(images)


def load_image_list(path: Path, shown: str) -> frozenset[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AirgapError(shown, 1, f"cannot read the image list: {err}") from None
    return parse_image_list(text, shown)
