"""Read ``semantic_layer/*.yaml`` into a frozen ``SemanticLayer``, validated.

Every problem (YAML syntax, unknown keys, wrong types, unknown measures, clashing names,
cycles…) is collected with its ``file:line`` and raised together as one
``SemanticLayerError`` whose ``problems`` lists them; a broken file never produces a
traceback. A file that cannot be parsed (YAML syntax) or read is reported alone: the rest
of the layer is not cross-checked without it, since every reference into the missing file
would be a false "unknown …" problem. Loaded layers are cached by the files' modification
times.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from chatbi.errors import SemanticLayerError
from chatbi.semantic.models import (
    AccessRules,
    Dimension,
    Entity,
    Measure,
    Metric,
    NotInData,
    SemanticLayer,
    SemanticModel,
)
from chatbi.semantic.yaml_lines import LineDict, LineList, line_at, load_with_lines

TOP_LEVEL_KEYS = ("semantic_models", "metrics", "access", "not_in_data")


@dataclass(frozen=True, order=True)
class Problem:
    """One issue found in the semantic layer."""

    file: str
    line: int
    message: str
    unreadable: bool = field(default=False, compare=False)  # YAML syntax error / unreadable file

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class SourceMap:
    """Where each object of the layer was declared: key tuple -> (file, line).

    Keys are ``("model", m)``, ``("dimension"|"measure"|"entity", m, name)``,
    ``("metric", name)`` and ``("local_dimension", m, name)``, optionally followed by
    ``("field", key)`` or ``("synonym", word)``. A name declared twice gets ``name#2`` in its
    key; ``model_keys``/``metric_keys``/``item_keys`` give each object's key by position in
    the layer, so validation can point at the second declaration, not the first.
    """

    entries: dict[tuple[str, ...], tuple[str, int]] = field(default_factory=dict)
    model_keys: list[str] = field(default_factory=list)
    metric_keys: list[str] = field(default_factory=list)
    item_keys: dict[tuple[int, str, int], str] = field(default_factory=dict)

    def add(self, key: tuple[str, ...], file: str, line: int) -> None:
        self.entries.setdefault(key, (file, line))

    def unique(self, kind: str, *scope_and_name: str) -> str:
        """``name``, or ``name#2``… when ``(kind, *scope, name)`` is already recorded."""
        *scope, name = scope_and_name
        candidate, n = name, 2
        while (kind, *scope, candidate) in self.entries:
            candidate = f"{name}#{n}"
            n += 1
        return candidate

    def where(self, *key: str) -> tuple[str, int]:
        """The most specific known location for ``key`` (falls back to shorter prefixes)."""
        for n in range(len(key), 0, -1):
            hit = self.entries.get(tuple(key[:n]))
            if hit:
                return hit
        return ("<semantic layer>", 0)


@dataclass
class _Collected:
    models: list[SemanticModel] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    access: dict[str, Any] = field(default_factory=lambda: {"merchant_links": {},
                                                            "merchant_forbidden_tables": []})
    not_in_data: list[NotInData] = field(default_factory=list)
    sources: SourceMap = field(default_factory=SourceMap)
    problems: list[Problem] = field(default_factory=list)


def _loc_text(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "(item)"


def _validate_item(kind: type[BaseModel], raw: Any, file: str, label: str,
                   out: _Collected, prefix: tuple[Any, ...] = ()) -> BaseModel | None:
    try:
        return kind.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            line = line_at(raw, loc) if isinstance(raw, LineDict) else getattr(raw, "line", 1)
            msg = err.get("msg", "invalid")
            out.problems.append(Problem(file, line, f"{label}: {_loc_text(prefix + loc)}: {msg}"))
        return None


_SECTIONS: dict[str, type[BaseModel]] = {"entities": Entity, "dimensions": Dimension, "measures": Measure}
_KINDS = {"entities": "entity", "dimensions": "dimension", "measures": "measure"}


def _copy_lines(raw: LineDict) -> LineDict:
    copy = LineDict(raw)
    copy.line = raw.line
    copy.key_lines = dict(getattr(raw, "key_lines", {}))
    return copy


def _validate_model(raw: LineDict, file: str, label: str,
                    out: _Collected) -> tuple[SemanticModel | None, dict[str, list[LineDict]]]:
    """Validate entities, dimensions and measures one by one, so one bad item does not hide
    the problems of the others; then the model without its bad items."""
    cleaned = _copy_lines(raw)
    kept: dict[str, list[LineDict]] = {}
    for section, kind in _SECTIONS.items():
        items = raw.get(section)
        if not isinstance(items, list):
            continue
        good = []
        for i, item in enumerate(items):
            if not isinstance(item, LineDict):
                line = items.line_of(i) if isinstance(items, LineList) else raw.line
                out.problems.append(Problem(file, line, f"{label}: {section}.{i}: must be a mapping"))
                continue
            if _validate_item(kind, item, file, label, out, prefix=(section, i)) is not None:
                good.append(item)
        cleaned[section] = good
        kept[section] = good
    model = _validate_item(SemanticModel, cleaned, file, label, out)
    return (model if isinstance(model, SemanticModel) else None), kept


def _record_fields(key: tuple[str, ...], raw: LineDict, file: str, src: SourceMap) -> None:
    src.add(key, file, raw.line)
    for fkey in raw:
        src.add(key + ("field", str(fkey)), file, raw.line_of(fkey))
    syn = raw.get("synonyms")
    if isinstance(syn, LineList):
        for j, word in enumerate(syn):
            src.add(key + ("synonym", str(word)), file, syn.line_of(j))


def _record_model(index: int, model: SemanticModel, raw: LineDict, kept: dict[str, list[LineDict]],
                  file: str, src: SourceMap) -> None:
    mkey = src.unique("model", model.name)
    src.model_keys.append(mkey)
    _record_fields(("model", mkey), raw, file, src)
    for section, items in kept.items():
        kind = _KINDS[section]
        for i, item in enumerate(items):
            ikey = src.unique(kind, mkey, str(item.get("name")))
            src.item_keys[(index, section, i)] = ikey
            _record_fields((kind, mkey, ikey), item, file, src)
    local = raw.get("local_dimensions")
    if isinstance(local, LineDict):
        for name in local:
            src.add(("local_dimension", mkey, str(name)), file, local.line_of(name))


def _record_metric(metric: Metric, raw: LineDict, file: str, src: SourceMap) -> None:
    key = src.unique("metric", metric.name)
    src.metric_keys.append(key)
    _record_fields(("metric", key), raw, file, src)


# Errors whose context mark is the opening bracket or quote left unclosed: that is the line to fix.
_OPENED_CONTEXTS = ("while parsing a flow", "while scanning a quoted scalar")


def _syntax_error(exc: yaml.YAMLError) -> tuple[int, str]:
    """(1-based line, message) of a YAML error: the line where the parser stopped, or the line
    of the unclosed bracket/quote it was reading (the other line is named in the message)."""
    problem = getattr(exc, "problem_mark", None)
    opened = getattr(exc, "context_mark", None)
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    mark = problem or opened
    line = mark.line + 1 if mark is not None else 1
    if context and opened is not None and problem is not None and opened.line != problem.line:
        if context.startswith(_OPENED_CONTEXTS):
            return opened.line + 1, f"{context} (not closed; the parser stopped at line {problem.line + 1}), {reason}"
        return line, f"{context} (started at line {opened.line + 1}), {reason}"
    return line, f"{context}, {reason}" if context else reason


def _read_file(path: Path, file: str, out: _Collected) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out.problems.append(Problem(file, 1, f"cannot read file: {exc}", unreadable=True))
        return
    try:
        data, duplicates = load_with_lines(text)
    except yaml.YAMLError as exc:
        line, detail = _syntax_error(exc)
        out.problems.append(Problem(file, line, f"YAML syntax error: {detail}", unreadable=True))
        return
    out.problems.extend(Problem(file, line, msg) for line, msg in duplicates)
    if data is None:
        return
    if not isinstance(data, LineDict):
        out.problems.append(Problem(file, 1, "the file must be a mapping with keys "
                                              + ", ".join(TOP_LEVEL_KEYS)))
        return
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            out.problems.append(Problem(file, data.line_of(key), f"unknown top-level key `{key}` "
                                        f"(expected one of {', '.join(TOP_LEVEL_KEYS)})"))
    for section in ("semantic_models", "metrics"):
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, LineList):
            out.problems.append(Problem(file, data.line_of(section), f"`{section}` must be a list"))
            continue
        for i, raw in enumerate(items):
            name = raw.get("name") if isinstance(raw, dict) else None
            label = f"{'model' if section == 'semantic_models' else 'metric'} `{name or f'#{i + 1}'}`"
            if not isinstance(raw, LineDict):
                out.problems.append(Problem(file, items.line_of(i), f"{label}: must be a mapping"))
                continue
            if section == "semantic_models":
                model, kept = _validate_model(raw, file, label, out)
                if model is not None:
                    _record_model(len(out.models), model, raw, kept, file, out.sources)
                    out.models.append(model)
            else:
                metric = _validate_item(Metric, raw, file, label, out)
                if isinstance(metric, Metric):
                    _record_metric(metric, raw, file, out.sources)
                    out.metrics.append(metric)
    access = data.get("access")
    if access is not None:
        rules = _validate_item(AccessRules, access, file, "access", out)
        if isinstance(rules, AccessRules):
            out.access["merchant_links"].update(rules.merchant_links)
            out.access["merchant_forbidden_tables"].extend(rules.merchant_forbidden_tables)
            out.sources.add(("access",), file, access.line if isinstance(access, LineDict) else 1)
    concepts = data.get("not_in_data")
    if concepts is not None:
        if not isinstance(concepts, LineList):
            out.problems.append(Problem(file, data.line_of("not_in_data"), "`not_in_data` must be a list"))
        else:
            for i, raw in enumerate(concepts):
                concept = _validate_item(NotInData, raw, file, f"not_in_data #{i + 1}", out)
                if isinstance(concept, NotInData):
                    out.not_in_data.append(concept)


def read_layer(directory: Path) -> tuple[SemanticLayer, SourceMap, list[Problem]]:
    """Parse every ``*.yaml`` in ``directory`` (sorted by name) without semantic checks."""
    out = _Collected()
    directory = Path(directory)
    files = sorted(list(directory.glob("*.yaml")) + list(directory.glob("*.yml")))
    if not directory.is_dir():
        out.problems.append(Problem(str(directory), 0, "semantic layer directory not found"))
    elif not files:
        out.problems.append(Problem(str(directory), 0, "no *.yaml files in the semantic layer directory"))
    for path in files:
        _read_file(path, path.name, out)
    layer = SemanticLayer(models=out.models, metrics=out.metrics,
                          access=AccessRules(**out.access), not_in_data=out.not_in_data)
    return layer, out.sources, out.problems


def _raise(problems: list[Problem], directory: Path) -> None:
    ordered = sorted(set(problems))
    lines = [str(p) for p in ordered]
    head = f"语义层有 {len(lines)} 个问题 / the semantic layer in {directory} has {len(lines)} problem(s)"
    shown = "\n".join(lines[:20]) + ("\n…" if len(lines) > 20 else "")
    raise SemanticLayerError(f"{head}:\n{shown}", problems=lines)


def load_semantic_layer_uncached(directory: Path) -> SemanticLayer:
    """Read and validate; raise ``SemanticLayerError`` listing every problem."""
    from chatbi.semantic.validation import validate_layer

    layer, sources, problems = read_layer(directory)
    unreadable = [p for p in problems if p.unreadable]
    if unreadable:  # the other problems would be echoes of the missing file
        _raise(unreadable, directory)
    problems = problems + validate_layer(layer, sources)
    if problems:
        _raise(problems, directory)
    return layer


_CACHE: dict[Path, tuple[tuple[Any, ...], SemanticLayer]] = {}
_LOCK = threading.Lock()


def _fingerprint(directory: Path) -> tuple[Any, ...]:
    items = []
    for path in sorted(list(directory.glob("*.yaml")) + list(directory.glob("*.yml"))):
        try:
            stat = path.stat()
        except OSError:
            continue
        items.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(items)


def load_semantic_layer(directory: Path | str | None = None) -> SemanticLayer:
    """The validated semantic layer of ``directory`` (default ``Settings().semantic_dir``)."""
    if directory is None:
        from chatbi.config import Settings

        directory = Settings().semantic_dir
    directory = Path(directory).resolve()
    fingerprint = _fingerprint(directory) if directory.is_dir() else ()
    with _LOCK:
        hit = _CACHE.get(directory)
        if hit and hit[0] == fingerprint and fingerprint:
            return hit[1]
    layer = load_semantic_layer_uncached(directory)
    with _LOCK:
        _CACHE[directory] = (fingerprint, layer)
    return layer
