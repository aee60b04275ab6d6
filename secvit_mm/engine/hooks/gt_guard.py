"""``type='GroundTruthGuardHook'``: stop training when the pipeline dropped a whole epoch's ground truth.

mmdet trains on an image whose objects were all dropped (e.g. polygons with fewer than 3 points
are marked ``ignore_flag``) as background: ``loss_bbox`` and ``loss_mask`` are then identically 0
and nothing says why. ``tools/train.py`` adds this hook (unless ``--skip-data-check``); it counts
the ground truth that actually reaches the model and raises after one epoch (for iteration-based
loops: ``len(train_dataloader)`` iterations) without any.
"""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from secvit_mm.errors import EmptyGroundTruthError

__all__ = ['GroundTruthGuardHook', 'EmptyGroundTruthError', 'count_ground_truth']


def count_ground_truth(data_samples, ignore_index: int = 255) -> int:
    """Objects (detection), labelled pixels (segmentation) or labels (classification)."""
    total = 0
    for sample in data_samples or ():
        if hasattr(sample, 'gt_instances'):
            total += len(sample.gt_instances)
        elif hasattr(sample, 'gt_sem_seg'):
            total += int((sample.gt_sem_seg.data != ignore_index).sum())
        else:
            total += 1  # a classification label, or something this hook cannot judge
    return total


@HOOKS.register_module()
class GroundTruthGuardHook(Hook):
    """Raise :class:`EmptyGroundTruthError` after ``window`` training iterations without ground truth.

    Args:
        window: Iterations per check; ``None`` = one epoch (``len(runner.train_dataloader)``);
            0 turns the check off.
        ignore_index: Segmentation label value that is not ground truth.
    """

    priority = 'LOW'

    def __init__(self, window=None, ignore_index: int = 255):
        self.window = window
        self.ignore_index = ignore_index
        self._seen = self._count = 0

    def before_train(self, runner) -> None:
        if self.window is None:
            self.window = max(1, len(runner.train_dataloader))
        self._seen = self._count = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.window == 0:
            return
        if isinstance(data_batch, dict):
            self._count += count_ground_truth(data_batch.get('data_samples'), self.ignore_index)
        self._seen += 1
        if self._seen < self.window:
            return
        if self._count == 0:
            raise EmptyGroundTruthError(
                f'no ground truth reached the model in {self._seen} training iterations (a whole '
                f'epoch, up to iteration {runner.iter + 1}): the dataset/pipeline dropped every '
                'object or label (degenerate boxes, polygons with < 3 points, class names that '
                'match nothing, labels all ignored), so the losses were 0 for that reason; run '
                'python tools/check_data.py CONFIG to see which')
        self._seen = self._count = 0
