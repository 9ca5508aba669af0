"""A DAX version model run on another mm model: fs/dax.c of one version faulting through,
and inserting with, mm/memory.c of another.

A DAX model (`fuzzplug.kernel.dax_v4_14`) imports its mm model once, at the top: `from
fuzzplug.kernel import v4_14 as mm_model` (which `daxfile` faults through:
`m.model.mm_model.handle_mm_fault`) and the mm functions it calls (`vm_insert_mixed`,
`vm_insert_mixed_mkwrite`, `zap_page_range_single`). A fix of mm/memory.c alone leaves
fs/dax.c as it was, so the DAX model of "v4.14 + that fix" is the v4.14 DAX model's code
with those names bound to the fixed mm model: `on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9)`.
Nothing is copied: the DAX model's own code (its loader's, so a packed harness has it too)
is executed again into a fresh module (its `__file__` stays the source's, so
`inspect.getsource` and the declared branch ids read it), then every global the source
bound to its mm model, or to a function defined there, is rebound to the other mm model's
object of the same name. The module's `VERSION` is the mm model's: the version names the
tree, and the tree differs from the DAX model's by the mm model's commits only.
"""

from __future__ import annotations

import functools
import sys
import types


@functools.cache
def on_mm_model(dax_model: types.ModuleType, mm_model: types.ModuleType) -> types.ModuleType:
    """`dax_model`'s code on `mm_model` (see the module docstring); one module per pair,
    so that the same module comes back (the search caches key on it)."""
    base = dax_model.mm_model
    if mm_model is base:
        return dax_model
    name = f"{dax_model.__name__}.on.{mm_model.__name__.rpartition('.')[2]}"
    # The code object comes from the DAX model's own loader, which has it wherever the
    # model was imported from: a source file, a wheel, or a PyInstaller bundle (no source).
    code = dax_model.__spec__.loader.get_code(dax_model.__name__)
    module = types.ModuleType(name, dax_model.__doc__)
    module.__file__ = dax_model.__file__
    module.__package__ = dax_model.__package__
    sys.modules[name] = module
    exec(code, vars(module))
    rebound = []
    for key, value in list(vars(module).items()):
        if value is base:
            setattr(module, key, mm_model)
        elif (isinstance(value, types.FunctionType)
              and value.__module__ == base.__name__):
            replacement = getattr(mm_model, key, None)
            if not isinstance(replacement, types.FunctionType):
                raise AttributeError(f"{mm_model.__name__} has no function {key!r}, which "
                                     f"{dax_model.__name__} calls")
            setattr(module, key, replacement)
            rebound.append(key)
    module.VERSION = mm_model.VERSION
    module.REBOUND = tuple(sorted(rebound))
    return module
