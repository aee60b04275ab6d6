"""The one test of "are shapes static here?" that every model of the package asks.

Pure torch. Shape-dependent shortcuts (caches per size, skipping a no-op pad or resize) and
data-dependent checks (NaN / inf in the input) are only taken when :func:`static_shapes` is True.
"""
import torch

__all__ = ['static_shapes']


def static_shapes() -> bool:
    """False while tracing/exporting/compiling, when shapes may be symbolic. Shape-dependent shortcuts
    (caches per size, skipping a no-op pad or resize) are only taken when True: under export they
    would freeze the example input's size into the graph."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return False
    if torch.onnx.is_in_onnx_export():
        return False
    compiler = getattr(torch, 'compiler', None)
    if compiler is None:
        return True
    # torch 2.6 has no torch.compiler.is_exporting(); its export traces with dynamo, which
    # is_compiling() reports.
    is_exporting = getattr(compiler, 'is_exporting', None)
    return not (compiler.is_compiling() or (is_exporting is not None and is_exporting()))
