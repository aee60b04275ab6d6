from .launch import build_runner, config_scope, load_config

__all__ = ['build_runner', 'config_scope', 'load_config']
