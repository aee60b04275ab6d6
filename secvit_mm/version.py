"""The package version and the versions of the stack it supports.

Kept free of third-party imports: ``setup.py`` reads this file for ``install_requires`` (the
:data:`CORE` packages) and the ``mm`` extra (the :data:`MM` packages), and ``secvit_mm/__init__.py``
checks the installed versions with it before importing anything else.
"""
__version__ = '0.1.0'

# Supported ranges (pip specifiers). The exact stack verified together is requirements/runtime.txt
# (installed by tools/install.sh); the lower ends here were verified by running the test suite in a
# second environment (README, "Install into an existing environment").
REQUIREMENTS = {
    'torch': '>=2.6',
    'mmengine': '>=0.10.4,<0.11',  # the checkpoint hooks use mmengine 0.10 internals
    'mmcv': '>=2.1.0,<2.2.0',      # mmdet 3.3 / mmseg 1.2 need mmcv < 2.2
    'mmdet': '>=3.3.0,<3.4',
    'mmsegmentation': '>=1.2.2,<1.3',
    'mmpretrain': '>=1.2.0,<1.3',
    'einops': '>=0.6',
}
#: What ``pip install secvit-mm`` brings: the pure-torch models (and timm's names, when timm is there).
CORE = ('torch', 'einops')
#: The OpenMMLab stack, ``pip install 'secvit-mm[mm]'`` (or ``bash tools/install.sh``, the verified stack).
MM = ('mmengine', 'mmcv', 'mmdet', 'mmsegmentation', 'mmpretrain')
MM_INSTALL_HINT = ("pip install 'secvit-mm[mm]' (the OpenMMLab stack; or bash tools/install.sh for the "
                   'verified one)')


def _satisfies(version: str, specifier: str) -> bool:
    # packaging is a dependency of mmcv (and of pip), so it is there whenever the stack is; without
    # it (a bare torch environment) the check is skipped rather than failing the import.
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:
        return True
    from packaging.version import Version
    return SpecifierSet(specifier).contains(Version(version).public, prereleases=True)


def check_requirements(installed: dict = None) -> None:
    """Refuse, with the supported range, any installed package of the stack outside it.

    ``installed`` maps distribution names to versions (default: read from the environment's
    metadata, without importing the packages). Packages that are not installed are not checked: the
    mm stack is optional, and asking for an mm piece without it says what to install.
    """
    if installed is None:
        from importlib import metadata
        installed = {}
        for name in REQUIREMENTS:
            try:
                installed[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
    wrong = [f'{name} {installed[name]} (supported: {name}{spec})' for name, spec in REQUIREMENTS.items()
             if name in installed and not _satisfies(installed[name], spec)]
    if wrong:
        pins = ' '.join(f"'{name}{REQUIREMENTS[name]}'" for name in REQUIREMENTS
                        if name in installed and not _satisfies(installed[name], REQUIREMENTS[name]))
        raise ImportError(f'secvit-mm {__version__} does not support the installed ' + ', '.join(wrong) +
                          f'. Install a supported version (pip install {pins}), or set up the verified '
                          'stack with: bash tools/install.sh')
