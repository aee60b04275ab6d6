"""``type='FileReadGuard'``: a file the pipeline cannot decode ends the run in one line naming it.

The fast data checks of ``tools/train.py`` / ``tools/test.py`` read image headers only, so a JPEG
cut short after its header passes them. When the run then meets it, mmcv's ``LoadImageFromFile``
asserts ``failed to load image`` (Pillow, for label maps: ``image file is truncated``), and the
error arrives as a 50-line trace, re-raised from a DataLoader worker. The tools wrap each
``Load*`` transform of the pipelines in this guard (``secvit_mm.apis.runner.guard_file_loading``),
which turns a
failure to read or decode the file into :class:`DataFileError` naming the file.
"""
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from secvit_mm.errors import DataFileError

__all__ = ['FileReadGuard']

try:  # cv2's decoder error; the OpenCV of mmcv is always there, but keep the guard importable
    from cv2 import error as _Cv2Error
except ImportError:  # pragma: no cover
    _Cv2Error = OSError

#: What a loading transform raises for a file it cannot read or decode: missing or truncated
#: (OSError, Pillow's included), decoded to nothing (mmcv's ``assert img is not None``), cv2.
_UNREADABLE = (OSError, AssertionError, _Cv2Error)


@TRANSFORMS.register_module()
class FileReadGuard(BaseTransform):
    """Run a loading transform; a file it cannot read raises :class:`DataFileError` naming it.

    Args:
        transform (dict): The loading transform's config (e.g. ``dict(type='LoadImageFromFile')``).
    """

    def __init__(self, transform: dict):
        self.transform_cfg = transform
        self.loader = TRANSFORMS.build(transform)

    def transform(self, results: dict):
        try:
            return self.loader(results)
        except _UNREADABLE as err:
            key = 'seg_map_path' if 'Annotations' in type(self.loader).__name__ else 'img_path'
            path = results.get(key) or results.get('img_path')
            reason = (str(err).strip().splitlines() or [type(err).__name__])[-1]
            reason = reason.replace(f': {path}', '').replace(str(path), 'it')[:160]  # named once
            raise DataFileError(
                f'{path}: cannot read or decode this file ({reason}); it is missing, truncated or '
                'not an image: replace it or remove it from the annotations (python '
                'tools/check_data.py CONFIG decodes every file and lists all such)') from None

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.loader!r})'
