"""Output files written whole: a reader (or a killed run) sees the old file or the new one.

* :func:`write_image` / :func:`write_json` -- through :func:`atomic_write`; for writers that open
  the file themselves (a video writer, a metric dumping results) use :func:`atomic_output`.
"""
import json
import os.path as osp

import numpy as np

from secvit_mm.engine.hooks.atomic_checkpoint import atomic_output, atomic_write
from secvit_mm.errors import OutputPathError

__all__ = ['atomic_output', 'write_image', 'write_json']


def write_image(img: np.ndarray, path: str) -> None:
    """``img`` (BGR / gray) as the image file ``path`` (format from its extension), all at once."""
    import cv2
    ok, data = cv2.imencode(osp.splitext(path)[1] or '.png', img)
    if not ok:
        raise OutputPathError(f'{path}: OpenCV cannot encode an image of shape {img.shape} in this format')
    atomic_write(path, data.tobytes())


def write_json(data: dict, path: str) -> None:
    """``data`` as the JSON file ``path``, all at once."""
    atomic_write(path, json.dumps(data))
