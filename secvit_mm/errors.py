"""Every exception secvit-mm raises on purpose, and the exit code each one ends a tool with.

A tool's ``main`` raises one of these; :func:`secvit_mm.cli.run_cli` (the one wrapper every tool in
``tools/`` exits through) prints its message as ONE line, ``error: <message>``, on stderr and ends
the process with the class's ``exit_code``:

====  ==============  =========================================================================
code  name            meaning (what the user does next)
====  ==============  =========================================================================
0     ``EXIT_OK``     done
1     ``EXIT_USER``   something the user has cannot be used: a missing, unreadable, unsafe or
                      not fitting checkpoint; an input that is not an image; data that would
                      waste the run (missing data root, the data checks' table, an epoch without
                      ground truth); a full or read-only disk. Fix the file or data the message
                      names. (``tools/check_data.py`` and ``tools/make_demo_data.py`` also end
                      with 1 when they found or refused something.)
2     ``EXIT_USAGE``  the command line or the config cannot work (argparse also exits 2): an
                      option value, a config key, a ``--cfg-options`` that changes nothing.
3     ``EXIT_RUN``    the work dir or an output is in the way: another run holds the work dir,
                      the run to resume is finished, an output file already exists.
4     ``EXIT_ENV``    the installation lacks something: an optional package, a CUDA device.
====  ==============  =========================================================================

Each class also derives from the builtin exception it replaces (``ValueError``,
``FileNotFoundError``, ...), so ``except ValueError`` around the Python API keeps working.

Where to add an exception: here, below the base of its exit code (``class MyError(DataError,
ValueError)``), with a one-line docstring saying when it is raised. Builtins stay allowed only for
programming errors (see ``tests/test_package_structure.py``, ``ALLOWED_BUILTINS``).

This module imports nothing of the package or of OpenMMLab, so every module may import it.
"""
import pickle

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_RUN = 3
EXIT_ENV = 4

__all__ = [
    'EXIT_OK', 'EXIT_USER', 'EXIT_USAGE', 'EXIT_RUN', 'EXIT_ENV', 'SecvitError',
    'ToolExit', 'UsageError', 'ConfigError', 'ConfigOptionError', 'OutputPathError', 'InputError',
    'VideoReadError',
    'PathNotFoundError', 'DataError', 'DataNotFoundError', 'DataCheckError', 'DataFileError',
    'EmptyGroundTruthError', 'CheckpointError', 'CheckpointNotFoundError', 'CheckpointReadError',
    'UnsafeCheckpointError', 'CheckpointContentError', 'CheckpointMismatchError', 'RunStateError',
    'WorkDirLockedError', 'RunFinishedError', 'OutputExistsError', 'EnvironmentProblem',
    'MissingDependencyError', 'DeviceUnavailableError', 'ToolFailedError'
]


class SecvitError(Exception):
    """Base of every refusal of the project; ``exit_code`` is what a tool exits with."""

    exit_code = EXIT_USER


class ToolExit(SystemExit):
    """The end of a tool: ``str()`` is the one-line message, ``code`` the exit code.

    :func:`secvit_mm.cli.run_cli` raises it after printing a :class:`SecvitError`. A tool's helper
    that must stop the tool outright (e.g. ``tools/deploy/export_onnx.py``'s package check) may
    raise it too; ``run_cli`` prints its message once.

    Args:
        message (str): the line printed after ``error: ``.
        code (int): the exit code. Defaults to ``EXIT_USER``.
        printed (bool): whether the message was already printed. Defaults to False.
    """

    def __init__(self, message: str, code: int = EXIT_USER, printed: bool = False):
        super().__init__(code)
        self.message, self.printed = message, printed

    def __str__(self) -> str:
        return self.message


# ----------------------------------------------------------------------------- 2: usage / config


class UsageError(SecvitError, ValueError):
    """A command-line option value that cannot work."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A config setting that cannot work, found before anything is built."""


class ConfigOptionError(ConfigError):
    """A ``--cfg-options`` key that would change nothing."""


class OutputPathError(UsageError):
    """An output folder or file that cannot be written (a file on its path) or would overlap the
    inputs (outputs replacing inputs, or read as inputs by the next run)."""


# ----------------------------------------------------------------------------- 1: the user's files


class InputError(SecvitError, ValueError):
    """An input file the user gave cannot be used (not an image, a video without frames)."""


class VideoReadError(InputError):
    """A video OpenCV cannot read frames from (empty, truncated, not a video, unknown codec)."""


class PathNotFoundError(SecvitError, FileNotFoundError):
    """A file or folder the user named does not exist (config, image, folder)."""


# ----------------------------------------------------------------------------- 1: data


class DataError(SecvitError):
    """Base of the data problems."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A split's ``data_root`` or ``ann_file`` does not exist."""


class DataCheckError(DataError, RuntimeError):
    """A split would waste the run; the message is the problem table and how to go on."""


class DataFileError(DataError, RuntimeError):
    """A data file (image, label map) the run met cannot be read or decoded (e.g. a truncated JPEG)."""

    def __init__(self, message: str):
        # torch re-raises a DataLoader worker's exception as ``type(err)(worker traceback)``:
        # keep the one line the worker raised.
        if 'Original Traceback' in message:
            message = message.rstrip().splitlines()[-1].split(': ', 1)[-1]
        super().__init__(message)


class EmptyGroundTruthError(DataError, RuntimeError):
    """A whole epoch reached the model without any ground truth."""


# ----------------------------------------------------------------------------- 1: checkpoints


class CheckpointError(SecvitError):
    """Base of the checkpoint problems."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint named by the command line or the config does not exist."""


class CheckpointReadError(CheckpointError, ValueError):
    """A file that is not a complete PyTorch checkpoint (truncated, empty, another format).

    Args:
        filename (str): the file.
        reason (str): what the reader found.
    """

    def __init__(self, filename: str, reason: str):
        import os.path as osp
        self.filename, self.reason = filename, reason
        size = osp.getsize(filename) if osp.isfile(filename) else 0
        super().__init__(
            f'cannot read checkpoint {filename!r} ({size} bytes): {reason}; the file is truncated '
            '(an interrupted copy or download?) or not a PyTorch checkpoint: copy or convert it again')

    def __reduce__(self):
        return type(self), (self.filename, self.reason)


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint holds an object outside the weights-only allow-list; nothing was executed.

    Args:
        filename (str): the file.
        offending (str): the refused object.
    """

    def __init__(self, filename: str, offending: str):
        self.filename = filename
        self.offending = offending
        super().__init__(
            f'refused: checkpoint {filename!r} contains non-allowlisted object {offending}; '
            'only tensors, plain Python containers/values and the allow-listed numpy and '
            'mmengine types (secvit_mm.utils.safe_load.SAFE_GLOBALS) are loaded, and nothing in '
            'the file was executed. If you trust the file, allow-list exactly that object with '
            'torch.serialization.add_safe_globals([...]) (or the '
            'torch.serialization.safe_globals([...]) context manager) and load it again.')

    def __reduce__(self):  # keeps the error picklable (e.g. across DataLoader/mp workers)
        return type(self), (self.filename, self.offending)


class CheckpointContentError(CheckpointError, ValueError):
    """A readable checkpoint without what is needed: no state dict, keys of another arch."""


class CheckpointMismatchError(CheckpointError, RuntimeError):
    """A checkpoint's weights do not fit the config's model (resume / test)."""


# ----------------------------------------------------------------------------- 3: work dir, outputs


class RunStateError(SecvitError):
    """Base of the work-dir and output conflicts."""

    exit_code = EXIT_RUN


class WorkDirLockedError(RunStateError, RuntimeError):
    """Another live run holds the work dir."""


class RunFinishedError(RunStateError, RuntimeError):
    """``--resume`` of a run that has reached its last epoch / iteration."""


class OutputExistsError(RunStateError, FileExistsError):
    """An output (checkpoints of an earlier run, a result file, a dataset) would be overwritten."""


# ----------------------------------------------------------------------------- 4: environment


class EnvironmentProblem(SecvitError):
    """Base of what the installation lacks."""

    exit_code = EXIT_ENV


class MissingDependencyError(EnvironmentProblem, ImportError):
    """An optional package a tool needs is not installed."""


class DeviceUnavailableError(EnvironmentProblem, ValueError):
    """The requested device (e.g. ``--device cuda``) is not usable on this machine."""


class ToolFailedError(SecvitError, RuntimeError):
    """A step a tool runs in a subprocess (e.g. get_flops for the model zoo) failed."""
