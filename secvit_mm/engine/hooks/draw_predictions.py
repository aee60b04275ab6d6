"""``tools/test.py --show-dir``: the predictions on every test image, drawn by the config's visualizer.

mmdet's ``DetVisualizationHook`` names each drawing after its image's base name (two images of one
name in different folders overwrite each other's drawing) and writes in place; mmseg's hook names
them ``test_<name>_<iter>`` through the visualizer's backend, with the same clash. This hook names
each drawing after the image's path relative to the image folder and writes it whole (temporary
file, then rename).
"""
import inspect
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .atomic_checkpoint import atomic_output

__all__ = ['DrawPredictionsHook']


@HOOKS.register_module()
class DrawPredictionsHook(Hook):
    """Draw every test image's predictions (and ground truth) into ``out_dir``.

    Args:
        out_dir (str): where the drawings go.
        img_root (str, optional): drawings are named after the image's path relative to it (its
            base name for an image outside it). Defaults to None: base names.
        score_thr (float): detection: lowest score drawn. Defaults to 0.3 (mmdet's hook's).
    """

    def __init__(self, out_dir: str, img_root: Optional[str] = None, score_thr: float = 0.3):
        self.out_dir = out_dir
        self.img_root = img_root
        self.score_thr = score_thr
        self._written = set()

    def _name(self, img_path: str) -> str:
        rel = osp.relpath(img_path, self.img_root) if self.img_root else osp.basename(img_path)
        if rel.startswith('..') or osp.isabs(rel):
            rel = osp.basename(img_path)
        stem, ext = osp.splitext(rel)
        name, n = rel, 1
        while name in self._written:  # the same name twice (images outside img_root)
            name, n = f'{stem}_{n}{ext}', n + 1
        self._written.add(name)
        return name

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs: Sequence = ()) -> None:
        import mmcv
        visualizer = runner.visualizer
        takes_thr = 'pred_score_thr' in inspect.signature(visualizer.add_datasample).parameters
        kwargs = dict(pred_score_thr=self.score_thr) if takes_thr else {}
        for sample in outputs:
            img = mmcv.imread(sample.img_path, channel_order='rgb')
            with atomic_output(osp.join(self.out_dir, self._name(sample.img_path))) as tmp:
                visualizer.add_datasample('test_img', img, data_sample=sample, show=False, out_file=tmp,
                                          **kwargs)
