"""The bottom toolbar: the error in the line being typed (live), else warnings, else the keys."""

from __future__ import annotations

from typing import Any

from prompt_toolkit.application import get_app
from prompt_toolkit.formatted_text import StyleAndTextTuples

from .lexer import check_line


def toolbar_fragments(text: str, sort: str = "relevance", limit: int = 10, width: int = 80) -> StyleAndTextTuples:
    """What the toolbar shows for the line ``text``, in ``width`` columns (one line, never wrapped)."""
    room = max(10, width - 1)
    check = check_line(text)
    if check.error is not None:
        first = check.error.message.splitlines()[0] if check.error.message else "error"
        return [("class:bottom-toolbar.error", _clip(f" col {check.error.column}: {first} ", room))]
    if check.warnings:
        return [("class:bottom-toolbar.warning", _clip(" " + "; ".join(w.message for w in check.warnings), room))]
    parts = [(" Tab", " complete"), (" :help", ""), (" Ctrl-R", " history"), (" Ctrl-D", " quit"),
             ("  |", f" sort {sort}, {limit}/page")]
    out: StyleAndTextTuples = []
    used = 0
    for key, what in parts:
        if used + len(key) + len(what) + 1 > room:
            break
        out += [("class:bottom-toolbar.key", key), ("", what + " ")]
        used += len(key) + len(what) + 1
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Toolbar:
    """``bottom_toolbar`` callable for the PromptSession of a :class:`~cablesearch.shell.session.Session`."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self) -> StyleAndTextTuples:
        try:
            app = get_app()
            text, width = app.current_buffer.text, app.output.get_size().columns
        except Exception:
            text, width = "", 80
        return toolbar_fragments(text, self.session.sort, self.session.limit, width)


__all__ = ["Toolbar", "toolbar_fragments"]
