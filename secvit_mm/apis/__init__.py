from .build import build_model, scope_registry
from .launch import build_runner, config_scope, load_config

__all__ = ['build_model', 'build_runner', 'config_scope', 'load_config', 'scope_registry']
