"""Moved to :mod:`secvit_mm.core.checks` (pure torch); kept so that old imports keep working."""
from ..core.checks import KeywordCheck, check_finite, valid_arguments

__all__ = ['KeywordCheck', 'check_finite', 'valid_arguments']
