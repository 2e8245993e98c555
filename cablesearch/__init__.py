"""cablesearch: search the Cablegate diplomatic cables."""

from .errors import (
    BuildError,
    CableParseError,
    CablesearchError,
    IndexNotFoundError,
    IndexStateError,
    QueryError,
    QueryLimitError,
    QuerySyntaxError,
    UnknownFieldError,
)
from .model import Cable, Classification, Entity, EntityType, Hit, Paragraph, Snippet, Span

__version__ = "0.1.0"

#: The index API, imported on first use (``import cablesearch`` stays cheap for the shell's start).
_LAZY = {
    "build_index": "build", "BuildReport": "build", "BuildProgress": "build", "BuildNotice": "build",
    "open_index": "index", "CableIndex": "index",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cablesearch' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BuildError",
    "BuildNotice",
    "BuildProgress",
    "BuildReport",
    "Cable",
    "CableIndex",
    "CableParseError",
    "CablesearchError",
    "Classification",
    "Entity",
    "EntityType",
    "Hit",
    "IndexNotFoundError",
    "IndexStateError",
    "Paragraph",
    "QueryError",
    "QueryLimitError",
    "QuerySyntaxError",
    "Snippet",
    "Span",
    "UnknownFieldError",
    "__version__",
    "build_index",
    "open_index",
]
