from . import backbones, layers, necks  # noqa: F401
