"""Package facades that import their implementation modules on first use (PEP 562).

The command line imports the packages whose ``_cli`` modules define its options; a facade
that imported scikit-learn, pymoo or Amaranth eagerly would make ``bespoke-mlp --help`` take
seconds. A lazy facade keeps the same public names (``__all__``) and imports a name's module
only when the name is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package that exports, for each private module
    in ``exports`` (a relative name such as ``"._train"``), the listed names.

    Examples
    --------
    >>> __getattr__, __dir__ = lazy_exports(__name__, {"._train": ("train_model",)})
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        importlib.import_module(package).__dict__[name] = value  # later reads skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(where) | set(importlib.import_module(package).__dict__))

    return __getattr__, __dir__
