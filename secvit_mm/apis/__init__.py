from .build import build_model, scope_registry
from .config import config_scope, load_config
from .runner import build_runner, prepare_run

__all__ = ['build_model', 'build_runner', 'config_scope', 'load_config', 'prepare_run', 'scope_registry']
