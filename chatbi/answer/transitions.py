"""Tag transitions from the tag history: "上个月有多少用户从活跃变成沉默？".

``tag_history`` holds month-end snapshots of every user's and merchant's tags. A transition
question names two tags of the same kind of entity and a move between them (从 A 变成 B /
moved from A to B); the answer counts the entities that had tag A at the snapshot before the
period and tag B at the period's last snapshot, out of all that had A before. The period is
the question's time words, else the last full month. The SQL runs through the guard like
every other statement (a merchant role sees only its own rows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from chatbi.answer.facts import FactNumber, Facts
from chatbi.answer.findings import check_finding
from chatbi.planner.time_parser import parse_time
from chatbi.sql.access import AccessPolicy
from chatbi.sql.engines import dialect_of, guard_options, render
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role

_MOVE = re.compile(r"变成|变为|转为|转成|变到|降为|升为|掉到|掉入|进入|流失到|→|->|"
                   r"\b(?:moved?|went|changed|switched|turned|became|shifted)\b", re.IGNORECASE)
_FROM = re.compile(r"从|由|\bfrom\b", re.IGNORECASE)
_TO = re.compile(r"\bto\b|\binto\b", re.IGNORECASE)   # "moved from A to B"
_ENTITY_WORDS = {"user": ("用户", "users"), "merchant": ("商户", "merchants")}


@dataclass(frozen=True)
class Transition:
    """A move from one tag to another between two snapshots."""

    entity_type: str
    from_tag: str
    to_tag: str
    from_date: date   # the last snapshot before the period
    to_date: date     # the period's last snapshot
    start: date
    end: date


def tag_catalog(executor: Any) -> tuple[dict[str, str], list[date]]:
    """({tag: entity type}, snapshot dates ascending) read from ``tag_history``."""
    dialect = dialect_of(executor)
    tags = executor.run(render("SELECT DISTINCT tag, entity_type FROM tag_history WHERE tag IS NOT NULL",
                               dialect), max_rows=100_000).to_frame()
    days = executor.run(render("SELECT DISTINCT snapshot_date FROM tag_history ORDER BY 1", dialect),
                        max_rows=100_000).to_frame()
    return (dict(zip(tags["tag"].astype(str), tags["entity_type"].astype(str), strict=True)),
            [pd.Timestamp(d).date() for d in days["snapshot_date"]])


def _tags_in(text: str, tags: dict[str, str]) -> list[tuple[int, str]]:
    """(position, tag) of every tag named in ``text``, longest names first, no overlaps."""
    found: list[tuple[int, str]] = []
    taken = [False] * len(text)
    for tag in sorted(tags, key=len, reverse=True):
        for match in re.finditer(re.escape(tag), text):
            if not any(taken[match.start():match.end()]):
                found.append((match.start(), tag))
                for i in range(match.start(), match.end()):
                    taken[i] = True
    return sorted(found)


def _move_words(text: str) -> tuple[int, int, int] | None:
    """(end of 从/from, start and end of the move word after it), or None."""
    origin = _FROM.search(text or "")
    if origin is None:
        return None
    move = _MOVE.search(text, origin.end()) or _TO.search(text, origin.end())
    return (origin.end(), move.start(), move.end()) if move else None


def may_be_transition(text: str) -> bool:
    """A cheap test on the words alone, before the tag history is read."""
    return _move_words(text) is not None


def detect_transition(text: str, tags: dict[str, str], snapshots: list[date],
                      as_of: date) -> Transition | None:
    """The transition the question asks about, or None when it is not one."""
    text = text or ""
    words = _move_words(text)
    if words is None or len(snapshots) < 2:
        return None
    origin_end, move_start, move_end = words
    named = _tags_in(text, tags)
    before = [tag for pos, tag in named if origin_end <= pos < move_start]
    after = [tag for pos, tag in named if pos >= move_end]
    if len(before) != 1 or not after or tags[before[0]] != tags[after[0]]:
        return None
    parsed = parse_time(text, as_of)
    if parsed is not None and parsed.range is not None:
        start, end = parsed.range.start, parsed.range.end
    else:                                   # the last full month
        end = as_of if (as_of + timedelta(days=1)).day == 1 else as_of.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
    earlier = [d for d in snapshots if d < start]
    within = [d for d in snapshots if d <= end]
    if not earlier or not within or within[-1] <= earlier[-1]:
        return None
    return Transition(tags[before[0]], before[0], after[0], earlier[-1], within[-1], start, end)


def transition_sql(t: Transition) -> str:
    """Entities with ``from_tag`` at ``from_date``, and how many of them had ``to_tag`` at
    ``to_date``."""
    def lit(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return f"""
        SELECT count(*) AS start_count, count(b.entity_id) AS moved_count
        FROM tag_history a
        LEFT JOIN tag_history b
          ON b.entity_type = a.entity_type AND b.entity_id = a.entity_id
         AND b.snapshot_date = DATE '{t.to_date.isoformat()}' AND b.tag = {lit(t.to_tag)}
        WHERE a.entity_type = {lit(t.entity_type)} AND a.tag = {lit(t.from_tag)}
          AND a.snapshot_date = DATE '{t.from_date.isoformat()}'"""


def answer_transition(t: Transition, *, executor: Any, policy: AccessPolicy, role: Role,
                      language: str) -> tuple[pd.DataFrame, str, str]:
    """(table, finding, guarded SQL) for the transition."""
    guarded = guard_sql(transition_sql(t), policy, role, **guard_options(executor, read="duckdb"))
    row = executor.run(guarded.sql, max_rows=1).to_frame().iloc[0]
    start_count, moved = int(row["start_count"] or 0), int(row["moved_count"] or 0)
    share = moved / start_count if start_count else None
    frame = pd.DataFrame([{"from_tag": t.from_tag, "to_tag": t.to_tag,
                           "from_snapshot": t.from_date, "to_snapshot": t.to_date,
                           "start_count": start_count, "moved_count": moved, "moved_share": share}])
    en = language == "en"
    who = _ENTITY_WORDS.get(t.entity_type, ("对象", "entities"))[1 if en else 0]
    pct = f"{share * 100:.1f}%" if share is not None else ""
    if en:
        finding = (f"Of the {start_count:,} {who} tagged {t.from_tag} on {t.from_date}, {moved:,} "
                   f"were tagged {t.to_tag} on {t.to_date}" + (f" ({pct})." if pct else "."))
    else:
        finding = (f"{t.from_date} 带「{t.from_tag}」标签的 {start_count:,} 个{who}中，{moved:,} 个"
                   f"在 {t.to_date} 变为「{t.to_tag}」" + (f"，占 {pct}。" if pct else "。"))
    numbers = [FactNumber(float(start_count), "amount"), FactNumber(float(moved), "amount")]
    if share is not None:
        numbers.append(FactNumber(share, "ratio"))
    facts = Facts(language="en" if en else "zh", shape="transition", row_count=1,
                  numbers=tuple(numbers), labels=(t.from_tag, t.to_tag),
                  windows=((t.from_date, t.from_date), (t.to_date, t.to_date)))
    if not check_finding(finding, facts).ok:   # never state a number the data did not produce
        finding = (f"{moved:,} {who} moved." if en else f"共 {moved:,} 个{who}发生了这一变化。")
    return frame, finding, guarded.sql
