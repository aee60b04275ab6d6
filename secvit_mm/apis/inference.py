"""Run a trained detector or segmentor on your own images, folders of images and videos.

A thin layer over the upstream inferencers, ``mmdet.apis.DetInferencer`` and
``mmseg.apis.MMSegInferencer``: they build the model from the config, load the checkpoint, run the
config's test pipeline and draw the predictions with the config's visualizer. This module adds what
a user's files need around them:

* inputs: one image, a folder of images (recursively, output mirrors the folder) or a video;
  grayscale, RGBA and 16-bit images are read as 8-bit BGR, as the models are trained on;
* outputs under ``out_dir``: ``vis/`` the drawn pictures (a drawn video for a video) and
  ``preds/`` one JSON per input (a label PNG per image too for segmentation); each file is written
  whole (temporary file, then rename), and never onto or into the inputs;
* checks as ``tools/test.py`` makes them: the checkpoint fits the config's model, each video has
  frames; class names from the config when the checkpoint has none;
* ``tta=True``: the config's ``tta_model`` / ``tta_pipeline`` (see :func:`.config.enable_tta`).
"""
import os
import os.path as osp
import sys
import warnings
from typing import Iterator, List, Optional, Tuple

import numpy as np

from secvit_mm.checks.outputs import check_output_dir, check_outputs_apart
from secvit_mm.checks.run_guards import check_checkpoint_fits
from secvit_mm.errors import (CheckpointNotFoundError, ConfigError, DeviceUnavailableError, InputError,
                              PathNotFoundError, VideoReadError)
from secvit_mm.utils.atomic_files import atomic_output, write_image, write_json

from .config import config_scope, enable_tta, load_config

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')
TASKS = {'mmdet': 'detection', 'mmseg': 'segmentation'}


def read_image(path: str) -> np.ndarray:
    """An image file as 8-bit BGR (H, W, 3): gray is replicated, alpha dropped, 16 bit scaled down.

    OpenCV's colour decoding does all three (16-bit values are divided by 256), as mmcv's
    ``LoadImageFromFile`` would in a dataset.
    """
    import mmcv
    img = mmcv.imread(path, flag='color', channel_order='bgr')
    if img is None:
        raise InputError(f'{path}: not a readable image (supported: {", ".join(IMAGE_EXTENSIONS)})')
    return img


def find_inputs(path: str) -> Tuple[str, List[str]]:
    """('video', [path]), or ('images', [paths]) for an image or a folder searched recursively."""
    if osp.isdir(path):
        images = sorted(
            osp.join(root, name) for root, _, names in os.walk(path) for name in names
            if name.lower().endswith(IMAGE_EXTENSIONS))
        if not images:
            raise PathNotFoundError(f'{path}: no images in this folder (looked for {", ".join(IMAGE_EXTENSIONS)})')
        return 'images', images
    if not osp.isfile(path):
        raise PathNotFoundError(f'{path}: no such file or folder')
    ext = osp.splitext(path)[1].lower()
    if ext in VIDEO_EXTENSIONS:
        open_video(path).vcap.release()  # before the model is built: a bad video fails at once
        return 'video', [path]
    if ext in IMAGE_EXTENSIONS:
        return 'images', [path]
    raise InputError(f'{path}: unknown input type {ext!r}; give an image ({", ".join(IMAGE_EXTENSIONS)}), '
                     f'a folder of images or a video ({", ".join(VIDEO_EXTENSIONS)})')


def open_video(path: str):
    """``mmcv.VideoReader`` of ``path``, checked to have a size and a first frame.

    OpenCV reports -1 (or 0) for the size and frame count of a file it cannot parse, and opens some
    such files without complaint; the first frame is read to be sure.

    Raises:
        VideoReadError: naming the file, for an empty, truncated or non-video file.
    """
    import mmcv

    why = None
    if osp.getsize(path) == 0:
        why = '0 bytes'
    else:
        try:
            reader = mmcv.VideoReader(path)
        except AssertionError:  # mmcv asserts that cv2.VideoCapture opened it
            why = 'cannot be opened'
        else:
            if reader.width <= 0 or reader.height <= 0 or reader.frame_cnt <= 0:
                why = f'size {reader.width}x{reader.height}, {reader.frame_cnt} frames'
            elif reader.read() is None:
                why = 'its first frame cannot be decoded'
            reader.vcap.release()
    if why:
        raise VideoReadError(f'{path}: not a readable video ({why}); OpenCV could not read its frames: the '
                             'file is empty, truncated or not a video, or its codec is missing from OpenCV '
                             '(re-encode it, e.g. to H.264 .mp4)')
    return mmcv.VideoReader(path)  # a fresh reader, at the first frame


def config_metainfo(cfg) -> dict:
    """The metainfo (classes, palette) of the config's test dataset: its class's ``METAINFO``
    updated by the config's ``metainfo``, as mmengine's ``BaseDataset`` merges them."""
    from secvit_mm.checks.data import dataset_metainfo
    return dataset_metainfo(cfg, 'test')


def _names(classes) -> str:
    shown = ', '.join(repr(c) for c in list(classes)[:6])
    return shown + (f' (+{len(classes) - 6} more)' if len(classes) > 6 else '')


def _inference_pipeline(pipeline: list) -> list:
    """``pipeline`` without annotation loading and without ``img_id`` (an input file has neither),
    also inside ``TestTimeAug``; the inferencers strip these from the top level only."""
    out = []
    for transform in pipeline:
        transform = dict(transform)
        if transform['type'] in ('LoadAnnotations', 'mmdet.LoadAnnotations', 'mmseg.LoadAnnotations'):
            continue
        if 'meta_keys' in transform:
            transform['meta_keys'] = tuple(k for k in transform['meta_keys'] if k != 'img_id')
        if transform['type'] == 'TestTimeAug':
            transform['transforms'] = [kept for kept in (_inference_pipeline(t) for t in transform['transforms'])
                                       if kept]
        out.append(transform)
    return out


class Predictor:
    """A detection or segmentation model ready to run on images (BGR uint8 arrays).

    Args:
        config: a detection (mmdet) or segmentation (mmseg) config file.
        checkpoint: the trained weights (a Runner checkpoint; its ``meta.dataset_meta`` names the classes).
        device: 'cpu', 'cuda' or 'cuda:N'; default: CUDA when available.
        score_thr: detection only: boxes below this score are neither drawn nor written.
        tta: use the config's ``tta_model`` and ``tta_pipeline``.
        cfg_options: config overrides, as ``--cfg-options`` gives them.
    """

    def __init__(self, config: str, checkpoint: str, device: Optional[str] = None,
                 score_thr: float = 0.3, tta: bool = False, cfg_options: Optional[dict] = None):
        import torch
        if not osp.isfile(checkpoint):
            raise CheckpointNotFoundError(f'checkpoint not found: {checkpoint!r}')
        cfg = load_config(config, cfg_options)
        self.scope = config_scope(cfg)
        if self.scope not in TASKS:
            raise ConfigError(f'{config}: inference here is for detection and segmentation configs '
                              f"(default_scope 'mmdet' or 'mmseg'), this one is {self.scope!r}")
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        elif device.startswith('cuda') and not torch.cuda.is_available():
            raise DeviceUnavailableError(f'--device {device}: this machine has no usable CUDA device; use --device cpu')
        if tta:
            enable_tta(cfg)
        dataset = cfg.test_dataloader.dataset
        dataset.pipeline = _inference_pipeline(dataset.pipeline)
        if 'visualizer' in cfg:
            cfg.visualizer.vis_backends = None  # pictures are written here, not through its backends
        self.score_thr = score_thr
        self.checkpoint = checkpoint
        with warnings.catch_warnings():
            # Without meta.dataset_meta the inferencers fall back to COCO / Cityscapes names and
            # warn; the config's names are set below instead.
            warnings.filterwarnings('ignore', message='.*dataset_meta or class names are not saved')
            if self.scope == 'mmdet':
                from mmdet.apis import DetInferencer
                self.inferencer = DetInferencer(model=cfg, weights=checkpoint, device=device,
                                                show_progress=False)
            else:
                from mmseg.apis import MMSegInferencer
                self.inferencer = MMSegInferencer(model=cfg, weights=checkpoint, device=device)
                self.inferencer.show_progress = False
        # The inferencers load with strict=False: a checkpoint of another model would run with
        # random layers. The same check as tools/test.py.
        loaded = check_checkpoint_fits(self.inferencer.model, checkpoint, 'inference',
                                       ', the one trained from it')
        meta = self._dataset_meta(loaded, cfg)
        if self.scope == 'mmseg':  # what MMSegInferencer keeps (its visualize() passes them on)
            meta = {k: meta[k] for k in ('classes', 'palette') if meta.get(k) is not None}
        self.inferencer.model.dataset_meta = meta
        self.inferencer.visualizer.dataset_meta = meta
        if self.scope == 'mmseg':
            self.inferencer.visualizer.set_dataset_meta(meta['classes'], meta.get('palette'))
        self.classes = list(meta['classes'])

    def _dataset_meta(self, checkpoint: dict, cfg) -> dict:
        """The inferencer's class names and palette (from the checkpoint's ``meta.dataset_meta``)
        or, when the checkpoint names no classes, the config's (not the COCO / Cityscapes names the
        inferencers fall back to).

        One warning line when both name classes and they differ (the checkpoint's are used: its
        heads were trained on them).
        """
        saved = ((checkpoint.get('meta') or {}).get('dataset_meta') or {}).get('classes')
        configured = config_metainfo(cfg)
        meta = dict(self.inferencer.model.dataset_meta or {})
        if not saved:
            if not configured.get('classes'):
                raise InputError(f'{self.checkpoint} has no meta.dataset_meta and the config names no '
                                 'classes (test_dataloader.dataset.metainfo.classes); set them')
            meta.update(configured)
            return meta
        if configured.get('classes') and tuple(configured['classes']) != tuple(saved):
            print(f"warning: {self.checkpoint} names the classes {_names(saved)}, the config "
                  f"{_names(configured['classes'])}; the predictions use the checkpoint's names",
                  file=sys.stderr)
        return meta

    def predict(self, img: np.ndarray):
        """The model's data sample for one BGR image."""
        out = self.inferencer(img, return_datasamples=True)
        return out['predictions'][0] if self.scope == 'mmdet' else out

    def draw(self, img: np.ndarray, sample) -> np.ndarray:
        """The image (BGR) with the predictions drawn by the config's visualizer, as BGR."""
        visualizer = self.inferencer.visualizer
        kwargs = dict(pred_score_thr=self.score_thr) if self.scope == 'mmdet' else {}
        visualizer.add_datasample('prediction', img[..., ::-1], sample, draw_gt=False, show=False, **kwargs)
        return np.ascontiguousarray(visualizer.get_image()[..., ::-1])

    def to_dict(self, sample) -> dict:
        """JSON-ready predictions: detection instances above the score threshold (bbox x1, y1, x2, y2
        in pixels, mask as COCO RLE) or, for segmentation, the pixel fraction of each class found."""
        if self.scope == 'mmdet':
            pred = self.inferencer.pred2dict(sample)  # mmdet's own conversion (RLE masks)
            instances = []
            for i, (label, score) in enumerate(zip(pred['labels'], pred['scores'])):
                if score < self.score_thr:
                    continue
                inst = dict(label=label, label_name=self.classes[label], score=score,
                            bbox=[round(v, 2) for v in pred['bboxes'][i]])
                if 'masks' in pred:
                    inst['mask'] = pred['masks'][i]
                instances.append(inst)
            return dict(instances=instances)
        label_map = self.label_map(sample)
        ids, counts = np.unique(label_map, return_counts=True)
        return dict(classes={self.classes[i]: round(c / label_map.size, 4) for i, c in zip(ids.tolist(), counts)})

    @staticmethod
    def label_map(sample) -> np.ndarray:
        return sample.pred_sem_seg.data[0].cpu().numpy()


def _progress(items, total: int, description: str) -> Iterator:
    """A progress bar over many inputs (rich, as the upstream inferencers use); none for one."""
    if total <= 1:
        yield from items
        return
    from rich.progress import track
    yield from track(items, total=total, description=description)


def output_names(images: List[str], root: Optional[str] = None) -> List[str]:
    """The output name (no extension) of each image: its path relative to ``root`` (its file name
    when not given) without the extension; with the extension when two images would share a name
    (``photo.jpg`` and ``photo.png`` -> ``photo.jpg``, ``photo.png``)."""
    rels = [osp.relpath(path, root) if root else osp.basename(path) for path in images]
    stems = [osp.splitext(rel)[0] for rel in rels]
    counts = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    names = [rel if counts[stem] > 1 else stem for rel, stem in zip(rels, stems)]
    if len(set(names)) != len(names):  # the same file given twice
        raise InputError(f'the same image is given more than once: {sorted(n for n in names if names.count(n) > 1)[0]}')
    return names


def infer_images(predictor: Predictor, images: List[str], out_dir: str, root: Optional[str] = None) -> List[str]:
    """Run on image files; pictures go to ``out_dir/vis`` and predictions to ``out_dir/preds``,
    named by :func:`output_names`. Returns the JSON paths."""
    written = []
    for path, stem in _progress(zip(images, output_names(images, root)), len(images), 'Inference'):
        img = read_image(path)
        sample = predictor.predict(img)
        write_image(predictor.draw(img, sample), osp.join(out_dir, 'vis', stem + '.png'))
        record = dict(image=path, height=img.shape[0], width=img.shape[1], **predictor.to_dict(sample))
        if predictor.scope == 'mmseg':
            label_png = osp.join(out_dir, 'preds', stem + '.png')
            write_image(predictor.label_map(sample).astype(np.uint16 if len(predictor.classes) > 255
                                                          else np.uint8), label_png)
            record['label_map'] = label_png
        json_path = osp.join(out_dir, 'preds', stem + '.json')
        write_json(record, json_path)
        written.append(json_path)
    return written


def infer_video(predictor: Predictor, video: str, out_dir: str) -> str:
    """Run on every frame of a video; writes ``out_dir/vis/<name>.mp4`` (drawn frames, same frame rate)
    and ``out_dir/preds/<name>.json`` (one entry per frame). Returns the JSON path."""
    import cv2
    reader = open_video(video)
    stem = osp.splitext(osp.basename(video))[0]
    out_video = osp.join(out_dir, 'vis', stem + '.mp4')
    fps = reader.fps if reader.fps and reader.fps > 0 else 25.0
    frames = []
    # The drawn video appears under its name only when complete: a killed run leaves the
    # previous one (and the JSON naming it) whole.
    with atomic_output(out_video) as tmp_video:
        writer = cv2.VideoWriter(tmp_video, cv2.VideoWriter_fourcc(*'mp4v'), fps, (reader.width, reader.height))
        try:
            for index, frame in enumerate(_progress(reader, reader.frame_cnt, 'Frames')):
                sample = predictor.predict(frame)
                drawn = predictor.draw(frame, sample)
                if drawn.shape[:2] != (reader.height, reader.width):
                    drawn = cv2.resize(drawn, (reader.width, reader.height))
                writer.write(drawn)
                frames.append(dict(frame=index, **predictor.to_dict(sample)))
        finally:
            writer.release()
            reader.vcap.release()
        if not frames:
            raise VideoReadError(f'{video}: not a readable video (no frame could be decoded); re-encode it, '
                                 'e.g. to H.264 .mp4')
    json_path = osp.join(out_dir, 'preds', stem + '.json')
    write_json(dict(video=video, fps=fps, height=reader.height, width=reader.width, video_out=out_video,
                    frames=frames), json_path)
    return json_path


def run_inference(config: str, checkpoint: str, inputs: str, out_dir: str, device: Optional[str] = None,
                  score_thr: float = 0.3, tta: bool = False, cfg_options: Optional[dict] = None) -> List[str]:
    """``tools/infer.py``: an image, a folder of images or a video through the model; returns the JSONs."""
    kind, paths = find_inputs(inputs)  # before building the model: a wrong path fails at once
    check_output_dir(out_dir, '--out')
    check_outputs_apart([osp.join(out_dir, 'vis'), osp.join(out_dir, 'preds')], [inputs], '--out', out_dir)
    predictor = Predictor(config, checkpoint, device=device, score_thr=score_thr, tta=tta,
                          cfg_options=cfg_options)
    if kind == 'video':
        return [infer_video(predictor, paths[0], out_dir)]
    return infer_images(predictor, paths, out_dir, root=inputs if osp.isdir(inputs) else None)
