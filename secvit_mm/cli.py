"""The one way a tool in ``tools/`` ends: :func:`run_cli`.

Every tool's last lines are::

    if __name__ == '__main__':
        sys.exit(run_cli(main))

``tests/test_package_structure.py`` checks that. The exit codes are documented in
:mod:`secvit_mm.errors`.
"""
import errno
import sys
from typing import Callable, Optional, Sequence

from .errors import EXIT_OK, EXIT_USER, SecvitError, ToolExit

__all__ = ['run_cli', 'describe_os_error']

# errno of a write that failed for lack of room or permission on the disk, not of the program.
_DISK_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG)
# OSError subclasses that, reaching a tool's top, mean a path the user gave is wrong.
_USER_PATH_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, NotADirectoryError,
                     IsADirectoryError)


def describe_os_error(err: OSError) -> Optional[str]:
    """The one-line message for an OSError that is the user's to fix, or None.

    Args:
        err (OSError): the error that reached the tool's top.

    Returns:
        str | None: the message (without ``error: ``), or None for an OSError that is a bug.
    """
    if err.errno in _DISK_ERRNOS:
        return (f'cannot write {err.filename or "a file"}: {err.strerror}; free space (or raise the '
                'file size limit) or choose a writable --work-dir, then continue with --resume')
    if isinstance(err, _USER_PATH_ERRORS):
        return str(err)
    return None


def run_cli(main: Callable, argv: Optional[Sequence[str]] = None) -> int:
    """Run a tool's ``main``; a refusal ends it with one line on stderr and its exit code.

    Args:
        main (Callable): the tool's ``main``; called as ``main()``, or ``main(argv)`` when
            ``argv`` is given. Its return value (None = 0) is the exit code.
        argv (Sequence[str], optional): the arguments. Defaults to None (``main`` parses
            ``sys.argv``).

    Returns:
        int: ``main``'s exit code.

    Raises:
        ToolExit: after printing ``error: <message>`` for a :class:`~secvit_mm.errors.SecvitError`
            (its ``exit_code``), an OSError on a user's path or a full disk (``EXIT_USER``), or a
            ``ToolExit`` a helper raised. Python exits with its ``code`` without a traceback; a test
            calling a wrapped ``main`` sees a ``SystemExit`` whose ``str()`` is the message.
    """
    try:
        code = main() if argv is None else main(argv)
        return EXIT_OK if code is None else code
    except ToolExit as err:
        if not err.printed:
            print(f'error: {err.message}', file=sys.stderr)
            err.printed = True
        raise
    except SecvitError as err:
        message, code = str(err), err.exit_code
    except OSError as err:
        message = describe_os_error(err)
        if message is None:
            raise
        code = EXIT_USER
    print(f'error: {message}', file=sys.stderr)
    raise ToolExit(message, code, printed=True) from None
