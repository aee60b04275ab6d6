"""Moved to :mod:`secvit_mm.core.sec_attention`; kept so that old imports keep working."""
from ...core.sec_attention import *  # noqa: F401,F403
from ...core.sec_attention import __all__  # noqa: F401
