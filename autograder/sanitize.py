"""Text that came from a submission, made safe for a terminal, a CSV file and an HTML page.

Error messages, cell ids, file names and whatever else a student's notebook or code can put
into a result pass through :func:`text` before they are stored, so that no later step (the
gradebook, feedback pages, grades.csv, the report, the console) can fail on them or be
driven by them: lone surrogates and other characters UTF-8 cannot encode are replaced,
control characters (terminal escapes included) become spaces, and the length is capped.
:func:`csv_cell` also defuses spreadsheet formulas. HTML escaping stays with the page
(``feedback.py`` escapes everything it prints).
"""
from __future__ import annotations

import unicodedata

MAX_TEXT = 2000


def text(value, limit: int = MAX_TEXT) -> str:
    """value as a safe, printable, UTF-8-encodable str of at most limit characters.

    Newlines and tabs are kept; every other control or format character (ESC, NUL, U+202E
    and the like) becomes a space.
    """
    s = value if isinstance(value, str) else str(value)
    # Lone surrogates (from a student's error message, say) cannot be written as UTF-8.
    s = s.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(s) else s
    out = []
    for ch in s[: limit + 1]:
        if ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(" ")
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def line(value, limit: int = 300) -> str:
    """text(value) on one line: newlines and tabs become spaces too."""
    return " ".join(text(value, limit).split())


def csv_cell(value, limit: int = MAX_TEXT) -> str:
    """text(value) for a CSV cell: a leading =, +, - or @ (a spreadsheet formula) is quoted."""
    s = text(value, limit)
    return "'" + s if s[:1] in ("=", "+", "-", "@") and not _is_number(s) else s


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
