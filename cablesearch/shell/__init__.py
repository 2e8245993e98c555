"""The interactive shell (``cablesearch shell``): prompt, completion, highlighting, commands.

``run_shell(index_path, *, input=None, output=None) -> int`` is the entry point; ``ensure_index``
opens an index, building one from the shipped sample when there is none.
"""

from __future__ import annotations

from typing import Any


def run_shell(index_path: Any = None, *, input: Any = None, output: Any = None) -> int:
    from .app import run_shell as _run

    return _run(index_path, input=input, output=output)


def ensure_index(path: Any, notify: Any) -> Any:
    from .app import ensure_index as _ensure

    return _ensure(path, notify)


__all__ = ["ensure_index", "run_shell"]
