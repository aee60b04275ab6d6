"""The OpenMMLab backbones (thin shells over :mod:`secvit_mm.core`), registered in mmengine's ``MODELS``."""
from ..errors import MissingDependencyError
from ..version import MM_INSTALL_HINT

try:
    import mmcv  # noqa: F401
    import mmengine  # noqa: F401
except ImportError as err:
    # One line, not a traceback through the package: what is missing and how to get it.
    raise MissingDependencyError(f'{__name__} needs the OpenMMLab stack ({err.name or err} is not importable): '
                      f'{MM_INSTALL_HINT}') from None

from . import backbones, layers, necks  # noqa: F401,E402
