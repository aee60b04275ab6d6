"""tools/infer.py on generated inputs (a photo, a folder with grayscale / RGBA / 16-bit images, a
video) with the demo configs' real models at their initial weights (conftest.demo_checkpoints)."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import DEMO_SEG_CONFIG, DET_CONFIG
from PIL import Image

from secvit_mm.apis.inference import Predictor, find_inputs, infer_images, infer_video, read_image
from secvit_mm.datasets import DEMO_COCO_CLASSES

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DET_CFG, SEG_CFG = DET_CONFIG, DEMO_SEG_CONFIG
PYTHON = sys.executable


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A photo-like jpg, a folder with grayscale / RGBA / 16-bit files (one in a subfolder), a video."""
    root = tmp_path_factory.mktemp('inputs')
    rng = np.random.default_rng(0)
    photo = root / 'photo.jpg'
    Image.fromarray(rng.integers(0, 255, (96, 120, 3), dtype=np.uint8)).save(photo)
    folder = root / 'folder'
    (folder / 'sub').mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (80, 100), dtype=np.uint8), 'L').save(folder / 'gray.jpg')
    Image.fromarray(rng.integers(0, 255, (90, 70, 4), dtype=np.uint8), 'RGBA').save(folder / 'rgba.png')
    Image.fromarray(rng.integers(0, 65535, (64, 96), dtype=np.uint16)).save(folder / 'sub' / 'depth16.png')
    (folder / 'notes.txt').write_text('not an image')
    video = root / 'clip.mp4'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'mp4v'), 5.0, (112, 80))
    for i in range(3):
        frame = np.full((80, 112, 3), 60 * i, np.uint8)
        cv2.circle(frame, (30 + 20 * i, 40), 15, (0, 220, 255), -1)
        writer.write(frame)
    writer.release()
    return dict(photo=str(photo), folder=str(folder), video=str(video))


@pytest.fixture(scope='module')
def det_predictor(demo_checkpoints):
    return Predictor(DET_CFG, demo_checkpoints['det'], device='cpu', score_thr=0.0)


@pytest.fixture(scope='module')
def seg_predictor(demo_checkpoints):
    return Predictor(SEG_CFG, demo_checkpoints['seg'], device='cpu')


def test_grayscale_rgba_and_16_bit_images_are_read_as_8_bit_bgr(inputs):
    _, paths = find_inputs(inputs['folder'])
    assert [osp.relpath(p, inputs['folder']) for p in paths] == ['gray.jpg', 'rgba.png', 'sub/depth16.png']
    for path in paths:
        img = read_image(path)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, path
    # 16 bit: scaled to 8 bit, not clipped (a clipped random image would be nearly all 255)
    assert 100 < read_image(paths[2]).mean() < 155


def test_find_inputs_names_a_missing_path_and_an_unknown_file_type(tmp_path):
    with pytest.raises(FileNotFoundError, match='no such file or folder'):
        find_inputs(str(tmp_path / 'missing.jpg'))
    (tmp_path / 'table.csv').write_text('a,b')
    with pytest.raises(ValueError, match=r"unknown input type '\.csv'.*image.*video"):
        find_inputs(str(tmp_path / 'table.csv'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no images in this folder'):
        find_inputs(str(tmp_path / 'empty'))


def check_picture(path, shape):
    img = cv2.imread(path)
    assert img is not None and img.shape[:2] == shape, path


def test_detection_on_a_photo_and_a_folder_writes_pictures_and_json(det_predictor, inputs, tmp_path):
    written = infer_images(det_predictor, [inputs['photo']], str(tmp_path))
    assert written == [str(tmp_path / 'preds' / 'photo.json')]
    check_picture(str(tmp_path / 'vis' / 'photo.png'), (96, 120))
    record = json.load(open(written[0]))
    assert (record['height'], record['width']) == (96, 120)
    assert record['instances'], 'score_thr=0 keeps every detection of the model'
    for inst in record['instances']:
        assert inst['label_name'] == DEMO_COCO_CLASSES[inst['label']]
        x1, y1, x2, y2 = inst['bbox']
        assert 0 <= x1 <= x2 <= 120 and 0 <= y1 <= y2 <= 96
        assert inst['mask']['size'] == [96, 120] and isinstance(inst['mask']['counts'], str)

    _, images = find_inputs(inputs['folder'])
    written = infer_images(det_predictor, images, str(tmp_path / 'folder'), root=inputs['folder'])
    assert sorted(osp.relpath(p, tmp_path / 'folder' / 'preds') for p in written) == [
        'gray.json', 'rgba.json', 'sub/depth16.json']
    check_picture(str(tmp_path / 'folder' / 'vis' / 'sub' / 'depth16.png'), (64, 96))


def test_score_threshold_filters_the_written_detections(det_predictor, inputs):
    img = read_image(inputs['photo'])
    sample = det_predictor.predict(img)
    scores = sorted(inst['score'] for inst in det_predictor.to_dict(sample)['instances'])
    assert scores
    cut = scores[len(scores) // 2]
    det_predictor.score_thr = cut
    try:
        kept = det_predictor.to_dict(sample)['instances']
    finally:
        det_predictor.score_thr = 0.0
    assert len(kept) == sum(score >= cut for score in scores)
    assert all(inst['score'] >= cut for inst in kept)


def test_detection_on_a_video_writes_a_drawn_video_and_one_entry_per_frame(det_predictor, inputs, tmp_path):
    json_path = infer_video(det_predictor, inputs['video'], str(tmp_path))
    record = json.load(open(json_path))
    assert [f['frame'] for f in record['frames']] == [0, 1, 2]
    reader = cv2.VideoCapture(record['video_out'])
    frames = 0
    while reader.read()[0]:
        frames += 1
    assert frames == 3
    assert (reader.get(cv2.CAP_PROP_FRAME_WIDTH), reader.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (112, 80)


def test_segmentation_on_a_folder_and_a_video_writes_pictures_label_maps_and_json(seg_predictor, inputs,
                                                                                  tmp_path):
    _, images = find_inputs(inputs['folder'])
    written = infer_images(seg_predictor, images, str(tmp_path), root=inputs['folder'])
    for json_path, shape in zip(sorted(written), [(80, 100), (90, 70), (64, 96)]):
        record = json.load(open(json_path))
        label_map = np.asarray(Image.open(record['label_map']))
        assert label_map.shape == shape
        found = {seg_predictor.classes[i]: np.mean(label_map == i) for i in np.unique(label_map)}
        assert record['classes'].keys() == found.keys()
        assert abs(sum(record['classes'].values()) - 1) < 1e-3
    check_picture(str(tmp_path / 'vis' / 'rgba.png'), (90, 70))
    record = json.load(open(infer_video(seg_predictor, inputs['video'], str(tmp_path))))
    assert len(record['frames']) == 3 and all(f['classes'] for f in record['frames'])


def test_infer_tool_runs_on_a_folder_and_gives_one_line_for_a_bad_input(demo_checkpoints, inputs, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    out = subprocess.run([PYTHON, 'tools/infer.py', DET_CFG, demo_checkpoints['det'], inputs['folder'], '--out',
                          str(tmp_path), '--device', 'cpu', '--score-thr', '0.5'],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert '3 prediction file(s)' in out.stdout
    assert 'pkg_resources is deprecated' not in out.stderr
    bad = subprocess.run([PYTHON, 'tools/infer.py', DET_CFG, demo_checkpoints['det'], str(tmp_path / 'nothing.mp4')],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1] == f'error: {tmp_path / "nothing.mp4"}: no such file or folder'
    assert 'Traceback' not in bad.stderr


def test_predictor_with_tta_runs_the_flipped_and_scaled_views(demo_checkpoints, inputs):
    predictor = Predictor(DET_CFG, demo_checkpoints['det'], device='cpu', score_thr=0.0, tta=True)
    assert type(predictor.inferencer.model).__name__ == 'DetTTAModelWithMasks'
    sample = predictor.predict(read_image(inputs['photo']))
    assert sample.pred_instances.masks.shape[1:] == (96, 120)
