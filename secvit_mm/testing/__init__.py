"""Yardsticks for tests and benchmarks; not used by the models."""
from .reference_sec import reference_sec_attention, use_reference_attention

__all__ = ['reference_sec_attention', 'use_reference_attention']
