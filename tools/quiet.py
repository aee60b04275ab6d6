"""Imported first by every tool: hides known, harmless third-party warnings, and only those.

* ``pkg_resources is deprecated as an API``: setuptools (< 81, pinned because mmengine needs
  ``pkg_resources``) warns on every import of it, which mmengine and mmcv do at import time.

The filter also goes into ``PYTHONWARNINGS`` so the processes a tool starts (data loader workers,
torchrun workers, benchmark cases) stay quiet too. Every other warning is shown as usual.
"""
import os
import warnings

KNOWN = [('pkg_resources is deprecated as an API', UserWarning)]

for message, category in KNOWN:
    warnings.filterwarnings('ignore', message=message, category=category)

_entries = [f'ignore:{message}:{category.__name__}' for message, category in KNOWN]
_current = [e for e in os.environ.get('PYTHONWARNINGS', '').split(',') if e]
os.environ['PYTHONWARNINGS'] = ','.join(_current + [e for e in _entries if e not in _current])
