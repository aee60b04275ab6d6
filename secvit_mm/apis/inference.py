"""Run a trained detector or segmentor on your own images, folders of images and videos.

A thin layer over the upstream inferencers, ``mmdet.apis.DetInferencer`` and
``mmseg.apis.MMSegInferencer``: they build the model from the config, load the checkpoint, run the
config's test pipeline and draw the predictions with the config's visualizer. This module adds what
a user's files need around them:

* inputs: one image, a folder of images (recursively, output mirrors the folder) or a video;
  grayscale, RGBA and 16-bit images are read as 8-bit BGR, as the models are trained on;
* outputs under ``out_dir``: ``vis/`` the drawn pictures (a drawn video for a video) and
  ``preds/`` one JSON per input (a label PNG per image too for segmentation);
* ``tta=True``: the config's ``tta_model`` / ``tta_pipeline`` (see :func:`.config.enable_tta`).
"""
import json
import os
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import numpy as np

from secvit_mm.errors import (CheckpointNotFoundError, ConfigError, DeviceUnavailableError, InputError,
                              PathNotFoundError)

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
        return 'video', [path]
    if ext in IMAGE_EXTENSIONS:
        return 'images', [path]
    raise InputError(f'{path}: unknown input type {ext!r}; give an image ({", ".join(IMAGE_EXTENSIONS)}), '
                     f'a folder of images or a video ({", ".join(VIDEO_EXTENSIONS)})')


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
        if self.scope == 'mmdet':
            from mmdet.apis import DetInferencer
            self.inferencer = DetInferencer(model=cfg, weights=checkpoint, device=device, show_progress=False)
        else:
            from mmseg.apis import MMSegInferencer
            self.inferencer = MMSegInferencer(model=cfg, weights=checkpoint, device=device)
            self.inferencer.show_progress = False
            self.inferencer.visualizer.set_dataset_meta(**self.inferencer.model.dataset_meta)
        self.classes = list(self.inferencer.model.dataset_meta['classes'])

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


def _write_json(path: str, data: dict) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f)


def _progress(items, total: int, description: str) -> Iterator:
    """A progress bar over many inputs (rich, as the upstream inferencers use); none for one."""
    if total <= 1:
        yield from items
        return
    from rich.progress import track
    yield from track(items, total=total, description=description)


def infer_images(predictor: Predictor, images: List[str], out_dir: str, root: Optional[str] = None) -> List[str]:
    """Run on image files; pictures go to ``out_dir/vis`` and predictions to ``out_dir/preds``,
    named by each file's path relative to ``root`` (its folder when not given). Returns the JSON paths."""
    import mmcv
    written = []
    for path in _progress(images, len(images), 'Inference'):
        rel = osp.relpath(path, root) if root else osp.basename(path)
        stem = osp.splitext(rel)[0]
        img = read_image(path)
        sample = predictor.predict(img)
        mmcv.imwrite(predictor.draw(img, sample), osp.join(out_dir, 'vis', stem + '.png'))
        record = dict(image=path, height=img.shape[0], width=img.shape[1], **predictor.to_dict(sample))
        if predictor.scope == 'mmseg':
            label_png = osp.join(out_dir, 'preds', stem + '.png')
            mmcv.imwrite(predictor.label_map(sample).astype(np.uint16 if len(predictor.classes) > 255
                                                            else np.uint8), label_png)
            record['label_map'] = label_png
        json_path = osp.join(out_dir, 'preds', stem + '.json')
        _write_json(json_path, record)
        written.append(json_path)
    return written


def infer_video(predictor: Predictor, video: str, out_dir: str) -> str:
    """Run on every frame of a video; writes ``out_dir/vis/<name>.mp4`` (drawn frames, same frame rate)
    and ``out_dir/preds/<name>.json`` (one entry per frame). Returns the JSON path."""
    import cv2
    import mmcv
    reader = mmcv.VideoReader(video)
    if reader.frame_cnt == 0 or reader.width == 0:
        raise InputError(f'{video}: no frames could be read (not a video, or a codec OpenCV lacks)')
    stem = osp.splitext(osp.basename(video))[0]
    out_video = osp.join(out_dir, 'vis', stem + '.mp4')
    os.makedirs(osp.dirname(out_video), exist_ok=True)
    fps = reader.fps if reader.fps and reader.fps > 0 else 25.0
    writer = cv2.VideoWriter(out_video, cv2.VideoWriter_fourcc(*'mp4v'), fps, (reader.width, reader.height))
    frames = []
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
    json_path = osp.join(out_dir, 'preds', stem + '.json')
    _write_json(json_path, dict(video=video, fps=fps, height=reader.height, width=reader.width,
                                video_out=out_video, frames=frames))
    return json_path


def run_inference(config: str, checkpoint: str, inputs: str, out_dir: str, device: Optional[str] = None,
                  score_thr: float = 0.3, tta: bool = False, cfg_options: Optional[dict] = None) -> List[str]:
    """``tools/infer.py``: an image, a folder of images or a video through the model; returns the JSONs."""
    kind, paths = find_inputs(inputs)  # before building the model: a wrong path fails at once
    predictor = Predictor(config, checkpoint, device=device, score_thr=score_thr, tta=tta,
                          cfg_options=cfg_options)
    if kind == 'video':
        return [infer_video(predictor, paths[0], out_dir)]
    return infer_images(predictor, paths, out_dir, root=inputs if osp.isdir(inputs) else None)
