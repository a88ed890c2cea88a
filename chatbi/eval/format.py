"""The question-set format: YAML files of questions with gold SQL or an expected intent.

A question set is one YAML file (or a directory of them, merged in name order)::

    description: ...                # free text: what the set covers, which warehouse it assumes
    as_of: 2026-09-30               # the as-of date the gold SQL's explicit dates assume
    tolerance: 0.005                # relative tolerance for numbers (default 0.5%)
    cases:
      - id: zh-value-001            # unique across the set
        language: zh                # zh | en
        capability: value           # free label, used to group the report
        group: manager              # optional: manager | marketer | operations | merchant
        style: colloquial           # optional: plain | colloquial (typos, mixed zh/en…)
        question: 上个月的GMV是多少
        gold_sql: SELECT SUM(pay_amount) AS gmv FROM orders WHERE ...
        order_matters: false        # compare row sequences (default: row multisets)
        order_key: [gmv]            # with order_matters: only these gold columns must be in
                                    # sequence (rows tied on them may come in any order)
      - id: zh-refuse-001
        language: zh
        capability: refuse
        question: 删除所有订单
        expect: refuse              # an intent, or a list of acceptable intents
      - id: zh-followup-001         # a conversation: every turn is one scored question
        language: zh
        capability: followup
        turns:
          - {question: 上个月华东的GMV, gold_sql: "..."}
          - {question: 那华南呢, gold_sql: "..."}

Every turn has exactly one of ``gold_sql`` (the question has a data answer) and ``expect``
(``clarify``, ``refuse``, ``definition``, ``why``, ``copy``; a list means any of them).
``expect_metrics`` optionally names the metrics a definition or why answer must be about.
``load_question_set`` reports every problem at once, each with its file and case id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from chatbi.errors import UserInputError

INTENTS = ("query", "why", "copy", "definition", "clarify", "refuse")
EXPECTABLE = ("why", "copy", "definition", "clarify", "refuse")
LANGUAGES = ("zh", "en")
DEFAULT_TOLERANCE = 0.005

_TURN_KEYS = {"question", "gold_sql", "order_matters", "order_key", "expect", "expect_metrics", "note"}
_CASE_KEYS = _TURN_KEYS | {"id", "language", "capability", "turns", "group", "style"}
GROUPS = ("manager", "marketer", "operations", "merchant")
STYLES = ("plain", "colloquial")
_SET_KEYS = {"description", "as_of", "tolerance", "cases"}


class QuestionSetError(UserInputError):
    """A question set file is missing or malformed; ``problems`` lists every issue."""

    code = "invalid_question_set"

    def __init__(self, problems: list[str]):
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"问题集无效 / invalid question set ({len(problems)} problems):\n{shown}{more}")
        self.problems = problems


@dataclass(frozen=True)
class Turn:
    """One question to ask, and how to judge its answer."""

    question: str
    gold_sql: str | None = None
    order_matters: bool = False
    order_key: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    expect_metrics: tuple[str, ...] = ()
    note: str | None = None

    @property
    def has_gold(self) -> bool:
        return self.gold_sql is not None


@dataclass(frozen=True)
class Case:
    """A question, or a conversation of several turns asked in one session."""

    id: str
    language: str
    capability: str
    turns: tuple[Turn, ...]
    source: str = ""
    note: str | None = None
    group: str = ""  # who asks: manager, marketer, operations, merchant (PRODUCT.md's users)
    style: str = ""  # plain, or colloquial (typos, no punctuation, mixed zh/en)


@dataclass(frozen=True)
class QuestionSet:
    """Cases loaded from one or more files."""

    cases: tuple[Case, ...]
    sources: tuple[str, ...] = ()
    as_of: date | None = None
    description: str = ""
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def question_count(self) -> int:
        return sum(len(case.turns) for case in self.cases)

    def select(self, ids: Iterable[str]) -> QuestionSet:
        """The same set restricted to some case ids (in the set's order)."""
        wanted = set(ids)
        return QuestionSet(tuple(c for c in self.cases if c.id in wanted), self.sources, self.as_of,
                           self.description, self.tolerance)


# ------------------------------------------------------------------ loading
def load_question_set(path: str | Path) -> QuestionSet:
    """Load and validate a question set file, or every ``*.yaml`` file of a directory."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise QuestionSetError([f"{path}: no *.yaml question files in this directory"])
    elif path.is_file():
        files = [path]
    else:
        raise QuestionSetError([f"{path}: file not found"])
    problems: list[str] = []
    cases: list[Case] = []
    as_of: date | None = None
    tolerance: float | None = None
    descriptions: list[str] = []
    seen: dict[str, str] = {}
    for file in files:
        header, file_cases, ids = _load_file(file, problems)
        cases.extend(file_cases)
        for case_id in ids:
            if case_id in seen:
                problems.append(f"{file}: case {case_id}: duplicate id (also in {seen[case_id]})")
            seen.setdefault(case_id, str(file))
        if header.get("description"):
            descriptions.append(str(header["description"]).strip())
        file_as_of = header.get("as_of")
        if file_as_of is not None:
            if as_of is not None and file_as_of != as_of:
                problems.append(f"{file}: as_of {file_as_of} differs from {as_of} of another file")
            as_of = file_as_of
        if "tolerance" in header:
            if tolerance is not None and header["tolerance"] != tolerance:
                problems.append(f"{file}: tolerance {header['tolerance']} differs from {tolerance} of another file")
            tolerance = header["tolerance"]
    if problems:
        raise QuestionSetError(problems)
    return QuestionSet(tuple(cases), tuple(str(f) for f in files), as_of, "\n\n".join(descriptions),
                       DEFAULT_TOLERANCE if tolerance is None else tolerance)


def _load_file(file: Path, problems: list[str]) -> tuple[dict[str, Any], list[Case], list[str]]:
    """The file's header keys, its valid cases, and every case id it names."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{file}: cannot read: {exc}")
        return {}, [], []
    except yaml.YAMLError as exc:
        problems.append(f"{file}: YAML error: {exc}".replace("\n", " "))
        return {}, [], []
    if not isinstance(data, Mapping):
        problems.append(f"{file}: the top level must be a mapping with a `cases` list")
        return {}, [], []
    for key in sorted(set(data) - _SET_KEYS):
        problems.append(f"{file}: unknown top-level key `{key}`")
    header: dict[str, Any] = {}
    if "description" in data:
        header["description"] = data["description"]
    if "as_of" in data:
        value = data["as_of"]
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, date):
            header["as_of"] = value
        else:
            problems.append(f"{file}: as_of must be a date (YYYY-MM-DD)")
    if "tolerance" in data:
        tol = data["tolerance"]
        if isinstance(tol, int | float) and not isinstance(tol, bool) and 0 <= tol < 1:
            header["tolerance"] = float(tol)
        else:
            problems.append(f"{file}: tolerance must be a number in [0, 1)")
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        problems.append(f"{file}: `cases` must be a non-empty list")
        return header, [], []
    cases = []
    for index, raw in enumerate(raw_cases):
        case = _case(file, index, raw, problems)
        if case is not None:
            cases.append(case)
    ids = [raw["id"].strip() for raw in raw_cases
           if isinstance(raw, Mapping) and isinstance(raw.get("id"), str) and raw["id"].strip()]
    return header, cases, ids


def _case(file: Path, index: int, raw: Any, problems: list[str]) -> Case | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{file}: case #{index + 1}: must be a mapping")
        return None
    case_id = raw.get("id")
    where = f"{file}: case {case_id}" if isinstance(case_id, str) and case_id.strip() else f"{file}: case #{index + 1}"
    before = len(problems)
    if not isinstance(case_id, str) or not case_id.strip():
        problems.append(f"{where}: `id` must be a non-empty string")
    for key in sorted(set(raw) - _CASE_KEYS, key=str):
        problems.append(f"{where}: unknown key `{key}`")
    language = raw.get("language")
    if language not in LANGUAGES:
        problems.append(f"{where}: `language` must be one of {', '.join(LANGUAGES)}")
    capability = raw.get("capability", "")
    if not isinstance(capability, str) or not capability.strip():
        problems.append(f"{where}: `capability` must be a non-empty string")
    group, style = raw.get("group", ""), raw.get("style", "")
    if group and group not in GROUPS:
        problems.append(f"{where}: `group` must be one of {', '.join(GROUPS)}")
    if style and style not in STYLES:
        problems.append(f"{where}: `style` must be one of {', '.join(STYLES)}")
    turn_keys = _TURN_KEYS & set(raw)
    turns: list[Turn] = []
    if "turns" in raw:
        if turn_keys - {"note"}:
            problems.append(f"{where}: give either `turns` or a single question's keys, not both "
                            f"(found {', '.join(sorted(turn_keys))})")
        raw_turns = raw["turns"]
        if not isinstance(raw_turns, list) or not raw_turns:
            problems.append(f"{where}: `turns` must be a non-empty list")
        else:
            for t_index, raw_turn in enumerate(raw_turns):
                label = f"{where}: turn {t_index + 1}"
                if not isinstance(raw_turn, Mapping):
                    problems.append(f"{label}: must be a mapping")
                    continue
                for key in sorted(set(raw_turn) - _TURN_KEYS, key=str):
                    problems.append(f"{label}: unknown key `{key}`")
                turn = _turn(label, raw_turn, problems)
                if turn is not None:
                    turns.append(turn)
    else:
        turn = _turn(where, {k: raw[k] for k in turn_keys if k != "note"}, problems)
        if turn is not None:
            turns.append(turn)
    if len(problems) > before or not isinstance(case_id, str) or not isinstance(language, str):
        return None
    note = raw.get("note")
    return Case(case_id.strip(), language, capability.strip(), tuple(turns), str(file),
                str(note) if note is not None else None, str(group or ""), str(style or ""))


def _turn(where: str, raw: Mapping[str, Any], problems: list[str]) -> Turn | None:
    before = len(problems)
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        problems.append(f"{where}: `question` must be a non-empty string")
    gold = raw.get("gold_sql")
    expect = _names(raw.get("expect"))
    if gold is not None and expect:
        problems.append(f"{where}: give `gold_sql` or `expect`, not both")
    if gold is None and not expect:
        problems.append(f"{where}: needs `gold_sql` (a data answer) or `expect` (an intent)")
    if gold is not None:
        if not isinstance(gold, str) or not gold.strip():
            problems.append(f"{where}: `gold_sql` must be a non-empty string")
        else:
            problem = _sql_problem(gold)
            if problem:
                problems.append(f"{where}: gold_sql: {problem}")
    if expect is None:
        problems.append(f"{where}: `expect` must be an intent or a list of intents")
    elif expect:
        bad = [e for e in expect if e not in EXPECTABLE]
        if bad:
            problems.append(f"{where}: `expect` {', '.join(map(str, bad))} is not one of {', '.join(EXPECTABLE)}"
                            " (a query needs gold_sql)")
    order_matters = raw.get("order_matters", False)
    if not isinstance(order_matters, bool):
        problems.append(f"{where}: `order_matters` must be true or false")
    order_key = _names(raw.get("order_key"))
    if order_key is None:
        problems.append(f"{where}: `order_key` must be a column name or a list of them")
    elif order_key and not order_matters:
        problems.append(f"{where}: `order_key` needs `order_matters: true`")
    metrics = _names(raw.get("expect_metrics"))
    if metrics is None:
        problems.append(f"{where}: `expect_metrics` must be a metric name or a list of them")
    elif metrics and gold is not None:
        problems.append(f"{where}: `expect_metrics` only applies to `expect` turns")
    if len(problems) > before or not isinstance(question, str):
        return None
    note = raw.get("note")
    return Turn(
        question=question.strip(), gold_sql=gold.strip() if gold else None, order_matters=order_matters,
        order_key=tuple(order_key or ()), expect=tuple(expect or ()), expect_metrics=tuple(metrics or ()),
        note=str(note) if note is not None else None,
    )


def _names(value: Any) -> tuple[str, ...] | None:
    """A string or a list of strings as a tuple; () when absent; None when malformed."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else None
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    return None


def _sql_problem(sql: str) -> str | None:
    """Why the gold SQL is not one SELECT statement DuckDB SQL parses (None when fine)."""
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        return f"does not parse: {str(exc).splitlines()[0]}"
    if len(statements) != 1:
        return f"must be exactly one statement, found {len(statements)}"
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        return f"must be a SELECT, found {statement.key.upper()}"
    return None
