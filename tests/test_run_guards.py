"""tools/train.py and tools/test.py refuse what does not fit and lose nothing: strict checkpoint
loading, resume checks, copied --cfg-options, --out, the work-dir lock, stale *.tmp files, the
ground-truth guard during training, and one clear line instead of a traceback (docs/robustness.md).
"""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from secvit_mm.apis.config import load_config
from secvit_mm.checks.run_guards import work_dir_lock
from secvit_mm.errors import (CheckpointMismatchError, CheckpointReadError, ConfigError, ConfigOptionError,
                              EmptyGroundTruthError, RunFinishedError, WorkDirLockedError)
from conftest import SEG_CONFIG, DET_CONFIG, broken_copy, options_for
from test_exact_resume import _write_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _truncated(path, source_state=None):
    torch.save({'state_dict': source_state or {'w': torch.zeros(1000)}}, path)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    return str(path)


# ----------------------------------------------------------------------------- --cfg-options


def test_cfg_option_of_a_top_level_variable_already_copied_names_the_key_to_set():
    with pytest.raises(ConfigOptionError) as info:
        load_config(DET_CONFIG, {'max_epochs': 1})
    message = str(info.value)
    assert "--cfg-options max_epochs=1 would change nothing" in message
    assert 'set train_cfg.max_epochs=... instead' in message
    assert 'param_scheduler.1.end' in message  # the other copies of the old value, to check


def test_cfg_option_setting_the_copy_as_well_is_accepted():
    cfg = load_config(DET_CONFIG, {'max_epochs': 1, 'train_cfg.max_epochs': 1})
    assert cfg.train_cfg.max_epochs == 1


def test_cfg_option_of_a_top_level_data_root_names_the_dataloader_keys():
    with pytest.raises(ConfigOptionError, match=r'train_dataloader\.dataset\.data_root'):
        load_config(DET_CONFIG, {'data_root': '/elsewhere/'})


# ----------------------------------------------------------------------------- tools/test.py


def test_out_refuses_an_existing_results_file_unless_overwrite(demo_data, tmp_path):
    from secvit_mm.apis.config import add_dump
    from tools.test import main
    out = tmp_path / 'results.pkl'
    out.write_bytes(b'earlier results')
    with pytest.raises(FileExistsError, match='pass --overwrite to replace it'):
        main([SEG_CONFIG, 'random', '--work-dir', str(tmp_path / 'w'), '--out', str(out),
              '--cfg-options', *options_for(str(demo_data / 'ade'), 'ade')])
    assert out.read_bytes() == b'earlier results'
    cfg = load_config(SEG_CONFIG)
    add_dump(cfg, str(out), overwrite=True)
    assert cfg.test_evaluator[-1]['out_file_path'] == str(out)


def test_test_tool_refuses_a_checkpoint_of_another_model_with_a_key_table(demo_data, tmp_path):
    """Mask R-CNN weights into a Semantic FPN config: refused (was: exit 0, untrained head)."""
    from tools.test import main
    ckpt = tmp_path / 'mask_rcnn.pth'
    torch.save({'state_dict': {'roi_head.bbox_head.fc_cls.weight': torch.zeros(5, 8),
                               'backbone.patch_embed.proj.0.weight': torch.zeros(1)}}, ckpt)
    argv = [SEG_CONFIG, str(ckpt), '--work-dir', str(tmp_path / 'w'),
            '--cfg-options', *options_for(str(demo_data / 'ade'), 'ade')]
    with pytest.raises(CheckpointMismatchError) as info:
        main(argv)
    message = str(info.value)
    assert 'does not fit the model of this config' in message
    assert 'unexpected keys' in message and 'roi_head.bbox_head.fc_cls.weight' in message
    assert 'missing keys' in message and '--non-strict' in message


def test_non_strict_evaluates_a_checkpoint_that_does_not_fit(demo_data, tmp_path):
    from tools.test import main
    ckpt = tmp_path / 'mask_rcnn.pth'
    torch.save({'state_dict': {'roi_head.bbox_head.fc_cls.weight': torch.zeros(5, 8)}}, ckpt)
    main([SEG_CONFIG, str(ckpt), '--non-strict', '--work-dir', str(tmp_path / 'w'),
          '--cfg-options', *options_for(str(demo_data / 'ade'), 'ade'), 'test_dataloader.num_workers=0',
          'test_dataloader.persistent_workers=False'])
    log = next((tmp_path / 'w').rglob('*.log')).read_text()
    assert 'mIoU' in log  # evaluated, as asked


def test_truncated_checkpoint_is_one_line_naming_the_file(demo_data, tmp_path):
    ckpt = _truncated(tmp_path / 'epoch_3.pth')
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, 'tools/test.py', SEG_CONFIG, ckpt, '--work-dir', str(tmp_path / 'w'),
                           '--cfg-options', *options_for(str(demo_data / 'ade'), 'ade')],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot read checkpoint '{ckpt}'") and 'truncated' in last


def test_truncated_checkpoint_through_mmengine_loader_names_the_file(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _truncated(tmp_path / 'cut.pth')
    with pytest.raises(CheckpointReadError, match='cut.pth'):
        _load_checkpoint(ckpt)
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    with pytest.raises(CheckpointReadError, match='text.pth'):
        _load_checkpoint(str(tmp_path / 'text.pth'))


# ----------------------------------------------------------------------------- tools/train.py


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
    """A tiny classifier trained for its 1 epoch (the exact-resume test's config)."""
    from tools.train import main
    tmp = tmp_path_factory.mktemp('finished')
    config = _write_config(tmp, 'tiny', by_epoch=True)
    work = str(tmp / 'work')
    main([config, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1'])
    return config, work


def test_resume_of_a_finished_run_says_so_and_fails(finished_run):
    from tools.train import main
    config, work = finished_run
    with pytest.raises(RunFinishedError, match=r'already finished \(epoch 1 of max_epochs=1\)'):
        main([config, '--work-dir', work, '--resume', '--cfg-options', 'train_cfg.max_epochs=1'])


def test_resume_from_a_checkpoint_of_another_model_is_refused_before_the_optimiser(finished_run, tmp_path):
    from tools.train import main
    config, _ = finished_run
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'decode_head.conv_seg.weight': torch.zeros(3)}, 'meta': {'epoch': 1},
                'optimizer': {'state': {}, 'param_groups': []}}, other)
    with pytest.raises(CheckpointMismatchError, match='unexpected keys'):
        main([config, '--work-dir', str(tmp_path / 'w'), '--resume', str(other)])


def test_last_checkpoint_naming_a_deleted_file_names_it_and_the_files_there(finished_run, tmp_path):
    from tools.train import main
    config, _ = finished_run
    work = tmp_path / 'w'
    work.mkdir()
    (work / 'epoch_1.pth').write_bytes(b'x')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    with pytest.raises(FileNotFoundError) as info:
        main([config, '--work-dir', str(work), '--resume'])
    assert f"names '{work / 'epoch_2.pth'}', which does not exist" in str(info.value)
    assert 'epoch_1.pth' in str(info.value)


def test_second_run_into_a_locked_work_dir_is_refused_with_the_pid(finished_run, tmp_path):
    from tools.train import main
    config, _ = finished_run
    work = str(tmp_path / 'w')
    with work_dir_lock(work):
        with pytest.raises(WorkDirLockedError, match=f'in use by another run \\(PID {os.getpid()}\\)'):
            main([config, '--work-dir', work])


def test_stale_lock_is_taken_over_and_stale_tmp_checkpoints_are_removed(finished_run, tmp_path, capsys):
    from tools.train import main
    config, _ = finished_run
    work = tmp_path / 'w'
    work.mkdir()
    (work / '.secvit_mm.lock').write_text('4194999')  # a killed run: file left, no flock held
    (work / 'epoch_1.pth.tmp').write_bytes(b'partial')
    main([config, '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1'])
    err = capsys.readouterr().err
    assert 'took over the lock of run PID 4194999' in err
    assert 'removed 1 partial checkpoint file(s) of an interrupted run: epoch_1.pth.tmp' in err
    assert (work / 'epoch_1.pth').is_file() and not (work / 'epoch_1.pth.tmp').exists()


def _all_labels_other(root):
    """ADE label 0 ('other') everywhere: with reduce_zero_label every pixel is ignored."""
    for split in ('training', 'validation'):
        folder = osp.join(root, 'annotations', split)
        for name in os.listdir(folder):
            size = Image.open(osp.join(folder, name)).size
            Image.fromarray(np.zeros(size[::-1], np.uint8)).save(osp.join(folder, name))


def test_training_whose_epoch_had_no_ground_truth_stops_with_a_clear_error(demo_data, tmp_path):
    from tools.train import main
    root = broken_copy(demo_data, tmp_path, 'ade', _all_labels_other)
    argv = [SEG_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options', *options_for(root, 'ade'),
            'train_cfg.max_iters=3', 'train_cfg.val_interval=3', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'model.data_preprocessor.size=(64,64)',
            'train_pipeline.3.crop_size=(64,64)', 'train_dataloader.dataset.pipeline.3.crop_size=(64,64)']
    from secvit_mm.errors import DataCheckError
    with pytest.raises(DataCheckError, match='label map with no labelled pixel'):
        main(argv)
    with pytest.raises(EmptyGroundTruthError, match='no ground truth reached the model in 2 training iterations'):
        main(argv + ['--skip-data-check'])


# ----------------------------------------------------------------------------- config wiring


def test_unknown_dataloader_key_is_named_with_the_likely_one(demo_data, tmp_path):
    from tools.train import main
    with pytest.raises(ConfigError, match=r"train_dataloader: unknown key 'batchsize' \(did you mean 'batch_size'\?\)"):
        main([SEG_CONFIG, '--work-dir', str(tmp_path / 'w'),
              '--cfg-options', *options_for(str(demo_data / 'ade'), 'ade'), 'train_dataloader.batchsize=2'])


def test_out_indices_that_do_not_match_the_neck_in_channels_are_named(tmp_path):
    from secvit_mm.checks.preflight import check_neck_channels
    cfg = load_config(DET_CONFIG, {'model.backbone.out_indices': (1, 2, 3)})
    with pytest.raises(ConfigError) as info:
        check_neck_channels(cfg)
    assert 'model.backbone.out_indices (1, 2, 3) gives 3 feature maps with channels [128, 256, 512]' in str(info.value)
    assert 'set model.neck.in_channels=[128, 256, 512]' in str(info.value)
    check_neck_channels(load_config(DET_CONFIG))  # the shipped wiring passes


def test_paper_mode_attention_on_very_many_tokens_warns_once_with_the_cost_and_cluster_size():
    from secvit_mm.models.backbones.secvit import SecViT
    tiny = dict(embed_dims=[16, 32, 32, 32], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 4])
    model = SecViT(arch=tiny, num_clusters=(2, 2, 1, None)).eval()
    model.large_cluster_tokens = 64  # 128x128: 1024 stage-1 tokens in 2 clusters of 512
    expected = r'hold up to 512 tokens: about [0-9.]+ GFLOPs .*model.backbone.cluster_size=98'
    with pytest.warns(UserWarning, match=expected) as record:
        with torch.no_grad():
            model(torch.zeros(1, 3, 128, 128))
            model(torch.zeros(1, 3, 128, 128))
    assert len([w for w in record if 'paper-mode' in str(w.message)]) == 1
    fixed = SecViT(arch=tiny, cluster_size=16).eval()
    fixed.large_cluster_tokens = 64
    assert fixed.attention_cost(128, 128)[0] == 0  # fixed-size clusters: nothing to warn about


def test_real_4000x3000_paper_mode_estimate_against_coco_size():
    from secvit_mm.models.backbones.secvit import SecViT
    model = SecViT(arch='tiny')
    assert model.attention_cost(800, 1333)[0] == 2100 < model.large_cluster_tokens
    assert model.attention_cost(3000, 4000)[0] == 23500 > model.large_cluster_tokens


@pytest.mark.parametrize('tool', ['convert_secvit.py', 'convert_ceit.py'])
def test_converters_name_a_truncated_checkpoint_in_one_line(tool, tmp_path):
    src = _truncated(tmp_path / 'released.pth')
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, osp.join('tools', tool), src, str(tmp_path / 'out.pth')],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: cannot read checkpoint '{src}'")
    assert not (tmp_path / 'out.pth').exists()


def test_mask_rcnn_training_on_polygons_of_two_points_stops_after_the_epoch(demo_data, tmp_path):
    """The issue's example: every polygon < 3 points trained on background only, exit 0."""
    from conftest import edit_coco
    from tools.train import main

    def two_points(coco, root):
        for ann in coco['annotations']:
            ann['segmentation'] = [ann['segmentation'][0][:4]]
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('train2017', two_points))
    argv = [DET_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options', *options_for(root, 'coco'),
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']
    with pytest.raises(EmptyGroundTruthError, match='in 2 training iterations'):
        main(argv + ['--skip-data-check'])
    assert not list((tmp_path / 'w').glob('*.pth'))  # stopped before saving a useless checkpoint


def test_a_checkpoint_write_that_fails_for_lack_of_space_is_one_line_naming_the_file(finished_run, tmp_path):
    """A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes the checkpoint write fail as a full disk would."""
    import resource
    import signal
    config, _ = finished_run

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))  # the log fits, the checkpoint not

    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    work = tmp_path / 'w'
    proc = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(work),
                           '--cfg-options', 'train_cfg.max_epochs=1'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot write {work / 'epoch_1.pth'}: File too large"), last
    assert not list(work.glob('*.tmp'))  # the partial file was removed
