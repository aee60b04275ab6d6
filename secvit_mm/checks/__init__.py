"""Every check that runs before (or guards) a run; the one home for a new check.

* :mod:`.options` -- ``--cfg-options`` that would change nothing.
* :mod:`.preflight` -- config paths, dataloader keys, neck channels, checkpoint paths.
* :mod:`.data` -- the data checks (``tools/check_data.py``; the fast part before train / test).
* :mod:`.run_guards` -- work-dir lock, no overwriting, resume and checkpoint-fit guards.

:func:`secvit_mm.apis.runner.prepare_run` runs them in their order. The ground-truth guard that
runs *during* training is a hook: :mod:`secvit_mm.engine.hooks.gt_guard`. Checks of a backbone's
own arguments and inputs stay with the models (``secvit_mm/models/input_checks.py``).

Modules here import :mod:`secvit_mm.errors` and each other, never :mod:`secvit_mm.apis`.
"""
