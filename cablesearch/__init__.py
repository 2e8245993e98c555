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

__all__ = [
    "BuildError",
    "Cable",
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
]
