"""Deadlines and late penalties (the same idea as nbgrader's LateSubmissionPlugin).

A rule is written as a short text, on the command line (``--late-rule``) or in the course's
``grading.cfg``:

    none                    no penalty (lateness is still shown)
    zero                    a late submission gets 0 points
    2/hour                  2 points per started hour late
    10%/day                 10 % of the assignment's points per started day late
    10%/day, max 50%        the same, never more than 50 % in total ("max 20" caps in points)

The penalty never takes more than the score (``SubmissionResult.final_score`` is never
below 0). Times without a zone are compared as they are; a time with a zone is turned into
UTC first, and a deadline with a zone turns a time without one into that zone.

``grading.cfg`` in the course root (optional; INI format, read with the standard library's
configparser) sets a deadline and a rule per assignment::

    [svm]
    deadline = 2026-03-01T23:59:00
    late_rule = 10%/day, max 50%
"""
from __future__ import annotations

import configparser
import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

COURSE_CONFIG = "grading.cfg"
"""The course's grading settings, in the course root."""

_UNITS = {"hour": 3600.0, "day": 86400.0}
_RULE = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<pct>%)?\s*/\s*(?P<unit>hour|day)s?\s*"
                   r"(?:,\s*max\s*(?P<cap>\d+(?:\.\d+)?)\s*(?P<cap_pct>%)?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LateRule:
    """A late-penalty rule; see the module docstring for the text form."""

    kind: str = "none"
    """"none", "zero" or "per" (an amount per started unit)."""
    amount: float = 0.0
    """Points (or percent when percent is True) per started unit."""
    percent: bool = False
    unit: str = "day"
    """"hour" or "day"."""
    cap: float | None = None
    """The most taken in total, points (or percent when cap_percent), or None."""
    cap_percent: bool = False
    text: str = "none"
    """The rule as written."""

    @classmethod
    def parse(cls, text: str | None) -> LateRule:
        """A LateRule from its text; raises ValueError saying what is accepted."""
        if text is None or not text.strip() or text.strip().lower() == "none":
            return cls()
        if text.strip().lower() == "zero":
            return cls(kind="zero", text="zero")
        m = _RULE.match(text)
        if not m:
            raise ValueError(f"late rule {text!r} is not understood; write none, zero, 2/hour, "
                             "10%/day or 10%/day, max 50%")
        return cls("per", float(m["amount"]), bool(m["pct"]), m["unit"].lower(),
                   float(m["cap"]) if m["cap"] else None, bool(m["cap_pct"]), text.strip())

    def penalty(self, late_by: float, score: float, max_score: float) -> float:
        """Points taken for a submission late_by seconds late with this score out of max_score."""
        if late_by <= 0 or self.kind == "none":
            return 0.0
        if self.kind == "zero":
            return max(0.0, score)
        units = math.ceil(late_by / _UNITS[self.unit])
        taken = units * (self.amount * max_score / 100 if self.percent else self.amount)
        if self.cap is not None:
            taken = min(taken, self.cap * max_score / 100 if self.cap_percent else self.cap)
        return round(min(max(0.0, score), taken), 6)

    def describe(self) -> str:
        """The rule in plain words, for the feedback page and grades.csv."""
        if self.kind == "none":
            return "no late penalty"
        if self.kind == "zero":
            return "a late submission scores 0"
        amount = f"{self.amount:g}%" + " of the points" if self.percent else f"{self.amount:g} point(s)"
        words = f"{amount} per started {self.unit} late"
        if self.cap is not None:
            words += f", at most {self.cap:g}{'%' if self.cap_percent else ' point(s)'}"
        return words


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 date-time ("2026-03-01T23:59", "2026-03-01 23:59:00 UTC", "...Z") or None."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    raw = re.sub(r"\s*UTC$", "+00:00", raw).replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time such as 2026-03-01T23:59:00") from None


def late_by(submitted_at: str | dt.datetime | None, deadline: dt.datetime | None) -> float:
    """Seconds submitted_at is after deadline; 0 when on time or when either is unknown."""
    if deadline is None or submitted_at is None:
        return 0.0
    when = parse_time(submitted_at) if isinstance(submitted_at, str) else submitted_at
    if when is None:
        return 0.0
    if (when.tzinfo is None) != (deadline.tzinfo is None):
        if when.tzinfo is None:
            when = when.replace(tzinfo=deadline.tzinfo)
        else:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return max(0.0, (when - deadline).total_seconds())


@dataclass(frozen=True)
class Policy:
    """The deadline and the late rule of one assignment."""

    deadline: dt.datetime | None = None
    rule: LateRule = LateRule()


def course_policies(root: Path) -> dict[str, Policy]:
    """assignment -> Policy from root/grading.cfg ({} when there is no such file).

    Raises ValueError naming the file and the assignment when a value is wrong.
    """
    path = Path(root) / COURSE_CONFIG
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(), source=str(path))
    except (OSError, configparser.Error) as err:
        raise ValueError(f"{path} cannot be read: {err}") from None
    out = {}
    for name in parser.sections():
        table = parser[name]
        unknown = sorted(set(table) - {"deadline", "late_rule"})
        if unknown:
            raise ValueError(f"{path}: [{name}] has unknown key(s) {', '.join(unknown)}; "
                             "only deadline and late_rule are read")
        try:
            out[name] = Policy(parse_time(table.get("deadline")), LateRule.parse(table.get("late_rule")))
        except ValueError as err:
            raise ValueError(f"{path}: [{name}]: {err}") from None
    return out


def policy_for(assignment: str, root: Path, deadline: str | None = None,
               rule: str | None = None) -> Policy:
    """The policy of one assignment: the course's grading.cfg, overridden by the command
    line's deadline and rule texts when given."""
    base = course_policies(root).get(assignment, Policy())
    return Policy(parse_time(deadline) if deadline else base.deadline,
                  LateRule.parse(rule) if rule is not None else base.rule)
