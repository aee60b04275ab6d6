"""Issue 20 (an outside probe, round two), findings 1-7, 12 and 13: nothing the user has is lost or
overwritten, tools/infer.py checks its inputs as tools/test.py does, and config / CLI mistakes and
corrupt checkpoints end in one line (docs/robustness.md, "Outputs, inputs and one-line errors").

Findings 1-4 checksum the user's files before and after. The tools run in this process through their
``main`` and the CLI wrapper (what ``python tools/X.py`` does), except the killed run of finding 3.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch
from conftest import DEMO_SEG_CONFIG, DET_CONFIG, SEG_CONFIG, broken_copy, edit_coco, options_for
from PIL import Image

from secvit_mm.datasets import DEMO_COCO_CLASSES

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUIET = ['test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def checksums(folder) -> dict:
    """{relative path: sha256} of every file under ``folder``."""
    sums = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                sums[osp.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return sums


def run_tool(tool: str, argv: list, capsys) -> tuple:
    """``python tools/<tool>.py ARGV`` in this process: (exit status, stderr)."""
    import importlib

    from secvit_mm.cli import run_cli
    module = importlib.import_module(f'tools.{tool}')
    capsys.readouterr()
    # mmengine's loggers live across tests; their console handlers must write to this test's stdout
    # (an earlier test's captured stream is closed).
    from mmengine.logging import MMLogger
    for logger in MMLogger._instance_dict.values():
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.stream = sys.stdout  # not setStream: it flushes the closed one
    try:
        status = run_cli(module.main, argv)
    except SystemExit as err:  # a refusal: run_cli printed its line and exits with the error's code
        status = err.code
    return status, capsys.readouterr().err


def one_error_line(status, err: str) -> str:
    """The error line of a refused run: a non-zero exit status (its kind: secvit_mm.errors), no
    traceback; returns the last line."""
    assert status in (1, 2, 3), (status, err[-3000:])
    assert 'Traceback' not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith('error: '), err[-3000:]
    return last


def write_image(path, shape=(96, 120), seed=0):
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (*shape, 3), dtype=np.uint8)).save(path)
    return str(path)


def write_video(path, frames=3, size=(112, 80)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 5.0, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), (40 * i) % 255, np.uint8)
        cv2.circle(frame, (30 + 5 * i, 40), 15, (0, 220, 255), -1)
        writer.write(frame)
    writer.release()
    return str(path)


def strip_meta(src, dst):
    """A converted / hand-saved checkpoint: ``{'state_dict': ...}`` without ``meta.dataset_meta``."""
    torch.save({'state_dict': torch.load(src, weights_only=True)['state_dict']}, dst)
    return str(dst)


@pytest.fixture(scope='module')
def det_predictor(demo_checkpoints):
    from secvit_mm.apis.inference import Predictor
    return Predictor(DET_CONFIG, demo_checkpoints['det'], device='cpu', score_thr=0.0)


# ============================================================== 1-4: files lost or overwritten


def test_show_dir_into_the_test_images_is_refused_and_the_images_stay_unchanged(demo_data, tmp_path, capsys):
    """Finding 1: mmdet names each drawing after its input, so --show-dir <image folder> overwrote
    every test image (exit 0)."""
    root = broken_copy(demo_data, tmp_path, 'coco')
    before = checksums(root)
    for show_dir in (osp.join(root, 'val2017'), root, osp.join(root, 'val2017', 'drawn')):
        status, err = run_tool('test', [DET_CONFIG, 'random', '--work-dir', str(tmp_path / 'w'),
                                        '--show-dir', show_dir, '--cfg-options',
                                        *options_for(root, 'coco'), *QUIET], capsys)
        last = one_error_line(status, err)
        assert f'--show-dir {show_dir}' in last and f'overlaps the input {root}' in last, last
    assert checksums(root) == before


def _same_name_in_two_folders(coco, root):
    """The two val images moved to a/same.jpg and b/same.jpg."""
    for image, folder in zip(coco['images'], ('a', 'b')):
        os.makedirs(osp.join(root, 'val2017', folder), exist_ok=True)
        os.replace(osp.join(root, 'val2017', image['file_name']), osp.join(root, 'val2017', folder, 'same.jpg'))
        image['file_name'] = f'{folder}/same.jpg'


def test_show_dir_gets_one_drawing_per_image_also_for_images_of_one_name(demo_data, tmp_path, capsys):
    """Finding 1's class: mmdet's hook named drawings by base name, so a/same.jpg and b/same.jpg
    shared one drawing."""
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('val2017', _same_name_in_two_folders))
    before = checksums(root)
    status, err = run_tool('test', [DET_CONFIG, 'random', '--work-dir', str(tmp_path / 'w'), '--show-dir',
                                    str(tmp_path / 'drawn'), '--cfg-options', *options_for(root, 'coco'),
                                    *QUIET], capsys)
    assert status == 0, err[-3000:]
    assert checksums(root) == before
    drawn = checksums(tmp_path / 'drawn')
    assert sorted(drawn) == [osp.join('a', 'same.jpg'), osp.join('b', 'same.jpg')]
    for name in drawn:  # ground truth beside the predictions, as mmdet's hook draws them
        h, w = cv2.imread(osp.join(root, 'val2017', name)).shape[:2]
        assert cv2.imread(str(tmp_path / 'drawn' / name)).shape[:2] == (h, 2 * w)


def test_infer_out_onto_or_into_its_input_is_refused_and_the_inputs_stay_unchanged(demo_checkpoints, tmp_path,
                                                                                     capsys):
    """Finding 2: --out proj with input proj/vis/photo.png overwrote the input with its drawing; --out
    equal to (or inside) the input folder made the next run predict on its own drawings."""
    proj = tmp_path / 'proj'
    photo = write_image(proj / 'vis' / 'photo.png')
    write_image(proj / 'other.jpg', seed=1)
    before = checksums(proj)
    for inputs, out in ((photo, proj), (str(proj), proj), (str(proj), proj / 'outputs'),
                        (str(proj / 'vis'), proj)):
        status, err = run_tool('infer', [DET_CONFIG, demo_checkpoints['det'], inputs, '--out', str(out),
                                         '--device', 'cpu'], capsys)
        last = one_error_line(status, err)
        assert '--out' in last and inputs in last, last
        assert checksums(proj) == before


def test_two_inputs_with_one_name_write_separate_outputs(det_predictor, tmp_path):
    """Finding 2's class: photo.jpg and photo.png of one folder were both written as vis/photo.png."""
    from secvit_mm.apis.inference import infer_images
    folder = tmp_path / 'in'
    images = [write_image(folder / 'photo.jpg', seed=1), write_image(folder / 'photo.png', (64, 80), seed=2)]
    written = infer_images(det_predictor, images, str(tmp_path / 'out'), root=str(folder))
    assert len(set(written)) == 2
    records = [json.load(open(p)) for p in written]
    assert sorted(r['image'] for r in records) == sorted(images)
    pictures = sorted(os.listdir(tmp_path / 'out' / 'vis'))
    assert len(pictures) == 2, pictures
    shapes = sorted(cv2.imread(str(tmp_path / 'out' / 'vis' / p)).shape[:2] for p in pictures)
    assert shapes == [(64, 80), (96, 120)]


def test_a_killed_infer_run_leaves_the_earlier_outputs_whole(det_predictor, demo_checkpoints, tmp_path):
    """Finding 3: kill -9 of a second run on a video into the same --out left the earlier vis/*.mp4
    as a 44-byte unreadable file while the earlier JSON still pointed to it."""
    from secvit_mm.apis.inference import infer_video
    video = write_video(tmp_path / 'clip.mp4', frames=10)
    out = tmp_path / 'out'
    json_path = infer_video(det_predictor, video, str(out))
    before = checksums(out)
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable, 'tools/infer.py', DET_CONFIG, demo_checkpoints['det'], video,
                             '--out', str(out), '--device', 'cpu'], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            now = {p: s for p, s in checksums(out).items()}
            if now != before:  # the second run has started writing (a new file, or a changed one)
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'the run ended before it was killed: use a longer video'
    after = checksums(out)
    assert {p: after.get(p) for p in before} == before
    record = json.load(open(json_path))
    reader = cv2.VideoCapture(record['video_out'])
    assert reader.isOpened() and int(reader.get(cv2.CAP_PROP_FRAME_COUNT)) == 10


def test_test_tool_in_the_work_dir_of_a_live_training_leaves_its_files_unchanged(demo_data, tmp_path, capsys):
    """Finding 4: test.py in the work dir of a live train.py overwrote that run's config copy."""
    from secvit_mm.checks.run_guards import work_dir_lock
    root = broken_copy(demo_data, tmp_path, 'coco')
    work = tmp_path / 'work'
    work.mkdir()
    (work / osp.basename(DET_CONFIG)).write_text('# the training run\'s config copy\n')
    (work / 'epoch_1.pth').write_bytes(b'a checkpoint of the live run')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    (work / '20260101_000000').mkdir()
    (work / '20260101_000000' / '20260101_000000.log').write_text('training log\n')
    with work_dir_lock(str(work)):  # the live training holds it
        before = checksums(work)
        status, err = run_tool('test', [DET_CONFIG, 'random', '--work-dir', str(work), '--cfg-options',
                                        *options_for(root, 'coco'), *QUIET], capsys)
        after = checksums(work)
    assert {p: after.get(p) for p in before} == before
    if status == 0:  # evaluated beside the run, in its own subfolder
        assert all(p in before or p.startswith('test' + os.sep) for p in after), sorted(after)
    else:
        assert 'in use by another run' in one_error_line(status, err)


# ============================================================== 5-7: infer.py checks its inputs


def _zero_frame_mp4(path):
    return write_video(path, frames=0)


def _truncated_mp4(path):
    full = write_video(str(path) + '.full.mp4', frames=20)
    data = open(full, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    return str(path)


@pytest.mark.parametrize('make', [
    lambda p: open(p, 'wb').close(),
    lambda p: open(p, 'wb').write(np.random.default_rng(0).bytes(5000)),
    _zero_frame_mp4,
    _truncated_mp4,
], ids=['0-byte', 'random-bytes', '0-frame', 'truncated'])
def test_an_unreadable_video_is_one_error_line_naming_it_and_writes_nothing(make, demo_checkpoints, tmp_path,
                                                                            capsys):
    """Finding 5: each made infer.py say "1 prediction file(s)", exit 0, with height -1, width -1,
    frames [] and an output video that did not exist (the guard checked for 0; OpenCV says -1)."""
    video = str(tmp_path / 'clip.mp4')
    make(video)
    status, err = run_tool('infer', [DET_CONFIG, demo_checkpoints['det'], video, '--out',
                                     str(tmp_path / 'out'), '--device', 'cpu'], capsys)
    last = one_error_line(status, err)
    assert video in last and 'video' in last, last
    assert not (tmp_path / 'out' / 'preds').exists() or not os.listdir(tmp_path / 'out' / 'preds')


def test_infer_refuses_a_segmentation_checkpoint_with_the_detection_config(demo_checkpoints, tmp_path, capsys):
    """Finding 6: it ran with random neck and heads and labelled detections 'building'."""
    photo = write_image(tmp_path / 'photo.png')
    status, err = run_tool('infer', [DET_CONFIG, demo_checkpoints['seg'], photo, '--out', str(tmp_path / 'out'),
                                     '--device', 'cpu'], capsys)
    assert status == 1 and 'Traceback' not in err, err[-3000:]  # EXIT_USER: a checkpoint that does not fit
    assert f"error: {demo_checkpoints['seg']} does not fit the model of this config" in err
    assert not (tmp_path / 'out').exists()


def test_detection_checkpoint_without_class_names_takes_them_from_the_config(demo_checkpoints, tmp_path):
    """Finding 7 (detection): mmdet's inferencer fell back to COCO's names (person, bicycle ...)."""
    from secvit_mm.apis.inference import Predictor
    ckpt = strip_meta(demo_checkpoints['det'], tmp_path / 'bare.pth')
    predictor = Predictor(DET_CONFIG, ckpt, device='cpu', score_thr=0.0)
    assert predictor.classes == list(DEMO_COCO_CLASSES)
    assert list(predictor.inferencer.visualizer.dataset_meta['classes']) == list(DEMO_COCO_CLASSES)
    record = predictor.to_dict(predictor.predict(cv2.imread(write_image(tmp_path / 'p.png'))))
    assert {inst['label_name'] for inst in record['instances']} <= set(DEMO_COCO_CLASSES)


def test_segmentation_checkpoint_without_class_names_takes_them_from_the_config(demo_checkpoints, tmp_path):
    """Finding 7 (segmentation): IndexError in to_dict on a label beyond the fallback class list."""
    from mmseg.datasets import ADE20KDataset

    from secvit_mm.apis.inference import Predictor
    ckpt = strip_meta(demo_checkpoints['seg'], tmp_path / 'bare.pth')
    predictor = Predictor(DEMO_SEG_CONFIG, ckpt, device='cpu')
    assert predictor.classes == list(ADE20KDataset.METAINFO['classes'])
    img = cv2.imread(write_image(tmp_path / 'p.png'))
    record = predictor.to_dict(predictor.predict(img))
    assert set(record['classes']) <= set(ADE20KDataset.METAINFO['classes'])


def test_checkpoint_classes_that_differ_from_the_config_get_one_warning_naming_both(demo_checkpoints, tmp_path,
                                                                                     capsys):
    from secvit_mm.apis.inference import Predictor
    ckpt = tmp_path / 'other_classes.pth'
    checkpoint = torch.load(demo_checkpoints['det'], weights_only=True)
    checkpoint['meta']['dataset_meta'] = dict(classes=('cat', 'dog', 'cow', 'horse'))
    torch.save(checkpoint, ckpt)
    capsys.readouterr()
    Predictor(DET_CONFIG, str(ckpt), device='cpu')
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith('warning:')]
    assert len(lines) == 1, lines
    assert "'cat', 'dog'" in lines[0] and "'circle', 'square'" in lines[0], lines[0]


# ============================================================== 12: config and CLI mistakes


@pytest.mark.parametrize('option, hint', [
    ('optim_wrapper.optimizer.lrr=1', "did you mean 'lr'"),
    ('train_cfg.max_epoch=1', "did you mean 'max_epochs'"),
    ('train_dataloader.batch_size=0', 'positive'),
])
def test_a_config_mistake_in_cfg_options_is_one_line_naming_the_key(option, hint, demo_data, tmp_path, capsys):
    root = str(demo_data / 'coco')
    status, err = run_tool('train', [DET_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                                     *options_for(root, 'coco'), option], capsys)
    last = one_error_line(status, err)
    assert option.split('=')[0] in last and hint in last, last
    assert not (tmp_path / 'w').exists() or not any(f.endswith('.pth') for f in os.listdir(tmp_path / 'w'))


def test_launcher_pytorch_without_torchrun_variables_is_one_line(demo_data, tmp_path, capsys, monkeypatch):
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    root = str(demo_data / 'coco')
    status, err = run_tool('train', [DET_CONFIG, '--work-dir', str(tmp_path / 'w'), '--launcher', 'pytorch',
                                     '--cfg-options', *options_for(root, 'coco')], capsys)
    last = one_error_line(status, err)
    assert '--launcher pytorch' in last and 'torchrun' in last and 'RANK' in last, last


@pytest.mark.parametrize('tool', ['train', 'test', 'infer'])
def test_an_output_folder_under_a_regular_file_is_one_line(tool, demo_data, demo_checkpoints, tmp_path, capsys):
    (tmp_path / 'notes.txt').write_text('a file, not a folder')
    under = str(tmp_path / 'notes.txt' / 'run')
    root = str(demo_data / 'coco')
    if tool == 'infer':
        argv = [DET_CONFIG, demo_checkpoints['det'], write_image(tmp_path / 'p.png'), '--out', under]
    else:
        argv = [DET_CONFIG] + (['random'] if tool == 'test' else []) + [
            '--work-dir', under, '--cfg-options', *options_for(root, 'coco'), *QUIET]
    status, err = run_tool(tool, argv, capsys)
    last = one_error_line(status, err)
    assert str(tmp_path / 'notes.txt') in last and 'not a folder' in last, last
    assert (tmp_path / 'notes.txt').read_text() == 'a file, not a folder'


def pretrained_config(tmp_path, checkpoint) -> str:
    """The demo detection config with an ImageNet checkpoint as its backbone's init_cfg."""
    path = tmp_path / 'pretrained_demo.py'
    path.write_text(f'_base_ = [{DET_CONFIG!r}]\n'
                    f"model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint={str(checkpoint)!r}, "
                    "prefix='backbone.')))\n")
    return str(path)


def test_a_ceit_checkpoint_as_secvit_pretrained_is_one_line(demo_data, tmp_path, capsys):
    """The message was right, but arrived as a 23-line traceback."""
    from secvit_mm.apis import build_model
    ceit = build_model(osp.join(ROOT, 'configs/ceit_t_in1k.py'))
    ckpt = tmp_path / 'ceit_t.pth'
    torch.save({'state_dict': ceit.state_dict()}, ckpt)
    root = str(demo_data / 'coco')
    status, err = run_tool('train', [pretrained_config(tmp_path, ckpt), '--work-dir', str(tmp_path / 'w'),
                                     '--cfg-options', *options_for(root, 'coco')], capsys)
    last = one_error_line(status, err)
    assert str(ckpt) in last and 'does not fit' in last, last


# ============================================================== 13: a zip header, then garbage


@pytest.fixture(scope='module')
def zip_garbage(tmp_path_factory):
    """The first 200 bytes of a real checkpoint (zip header, first entry's header), then garbage:
    torch raises OSError(EINVAL), where a file cut short gives its RuntimeError."""
    import io
    buffer = io.BytesIO()
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, buffer)
    path = tmp_path_factory.mktemp('zip_garbage') / 'epoch_1.pth'
    path.write_bytes(buffer.getvalue()[:200] + np.random.default_rng(0).bytes(4000))
    return str(path)


@pytest.mark.parametrize('tool', ['test', 'train-load_from', 'train-resume', 'train-pretrained', 'infer',
                                  'convert_secvit', 'convert_ceit', 'visualize_clusters'])
def test_a_zip_header_followed_by_garbage_is_one_line_in_every_tool_that_reads_checkpoints(
        tool, zip_garbage, demo_data, tmp_path, capsys):
    """Finding 13: OSError: [Errno 22] Invalid argument from torch (a truncated file already gave
    the one line)."""
    root = str(demo_data / 'coco')
    data = ['--cfg-options', *options_for(root, 'coco'), *QUIET]
    work = ['--work-dir', str(tmp_path / 'w')]
    argv = {
        'test': [DET_CONFIG, zip_garbage, *work, *data],
        'train-load_from': [DET_CONFIG, *work, *data, f'load_from={zip_garbage}'],
        'train-resume': [DET_CONFIG, *work, '--resume', zip_garbage, *data],
        'train-pretrained': [pretrained_config(tmp_path, zip_garbage), *work, *data],
        'infer': [DET_CONFIG, zip_garbage, write_image(tmp_path / 'p.png'), '--out', str(tmp_path / 'o')],
        'convert_secvit': [zip_garbage, str(tmp_path / 'out.pth')],
        'convert_ceit': [zip_garbage, str(tmp_path / 'out.pth')],
        'visualize_clusters': [SEG_CONFIG, write_image(tmp_path / 'p.png'), '--out', str(tmp_path / 'v.png'),
                               '--checkpoint', zip_garbage],
    }[tool]
    status, err = run_tool(tool.split('-')[0], argv, capsys)
    last = one_error_line(status, err)
    assert f"cannot read checkpoint '{zip_garbage}'" in last, last
