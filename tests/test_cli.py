"""secvit_mm.cli.run_cli: the one way a tool ends -- one line on stderr and the documented exit code."""
import errno
import os.path as osp
import subprocess
import sys

import pytest

from secvit_mm.cli import run_cli
from secvit_mm.errors import (EXIT_ENV, EXIT_RUN, EXIT_USAGE, EXIT_USER, CheckpointReadError, ConfigError,
                              DataCheckError, MissingDependencyError, OutputExistsError, ToolExit)


@pytest.mark.parametrize('error, code', [
    (ConfigError('model.neck.in_channels is [1, 2]; set it to [64, 128]'), EXIT_USAGE),
    (DataCheckError('tools/train.py: the data would waste this run'), EXIT_USER),
    (OutputExistsError('--out r.pkl exists; pass --overwrite'), EXIT_RUN),
    (MissingDependencyError('needs onnxscript'), EXIT_ENV),
    (FileNotFoundError('Checkpoint not found: nowhere.pth'), EXIT_USER),
    (NotADirectoryError(errno.ENOTDIR, 'Not a directory', 'a.jpg/b'), EXIT_USER),
])
def test_a_refusal_ends_in_one_error_line_and_its_exit_code(error, code, capsys):
    def main():
        raise error

    with pytest.raises(SystemExit) as info:
        run_cli(main)
    assert info.value.code == code
    err = capsys.readouterr().err
    assert err == f'error: {info.value}\n' and str(info.value) == str(error)


def test_a_full_disk_names_the_file_and_how_to_go_on(capsys):
    def main():
        raise OSError(errno.ENOSPC, 'No space left on device', 'w/epoch_1.pth')

    with pytest.raises(SystemExit) as info:
        run_cli(main)
    assert info.value.code == EXIT_USER
    assert capsys.readouterr().err.startswith('error: cannot write w/epoch_1.pth: No space left on device; free space')


def test_a_bug_is_not_hidden_behind_one_line():
    def main():
        raise KeyError('a bug')

    with pytest.raises(KeyError):
        run_cli(main)
    with pytest.raises(OSError):
        run_cli(lambda: (_ for _ in ()).throw(OSError(errno.EIO, 'I/O error')))


def test_the_return_value_is_the_exit_code_and_argv_is_passed_on():
    assert run_cli(lambda: None) == 0
    assert run_cli(lambda argv: len(argv), ['a', 'b']) == 2


def test_a_tool_exit_is_printed_once_even_through_two_wrappers(capsys):
    def inner(argv):
        raise ToolExit('needs a newer torch', EXIT_ENV)

    with pytest.raises(SystemExit) as info:
        run_cli(lambda: run_cli(inner, []))
    assert info.value.code == EXIT_ENV
    assert capsys.readouterr().err == 'error: needs a newer torch\n'


def test_a_checkpoint_error_keeps_its_message_and_builtin_base(tmp_path):
    err = CheckpointReadError(str(tmp_path / 'x.pth'), 'truncated')
    assert isinstance(err, ValueError) and 'cannot read checkpoint' in str(err)


def test_a_tool_process_exits_with_the_code_and_no_traceback():
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    proc = subprocess.run([sys.executable, 'tools/test.py', 'configs/demo/mask_rcnn_secvit_t_demo.py', 'random',
                           '--cfg-options', 'default_scope=mmnothing'],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == EXIT_USAGE, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'default_scope' in last, last
