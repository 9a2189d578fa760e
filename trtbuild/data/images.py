"""Image folders named by recipes (check, verify, calibration)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # listing images (every build's cache key) must not import numpy
    import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def list_images(folder: Path | None, limit: int | None = None) -> list[Path]:
    """Sorted image files of a folder (empty when the folder is absent)."""
    if folder is None or not folder.is_dir():
        return []
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return found[:limit] if limit else found


def read_bgr(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    return image
