"""A YAML SafeLoader that remembers the line of every mapping, key and list item.

``load_with_lines`` returns plain-looking dicts and lists (``LineDict``/``LineList``) whose
``line`` is where they start and ``key_lines``/``item_lines`` say where each entry is, so
validation can report ``file:line``. Duplicate keys are reported instead of silently
overwritten.
"""

from __future__ import annotations

from typing import Any

import yaml


class LineDict(dict):  # type: ignore[type-arg]
    """A dict with ``line`` (1-based) and ``key_lines`` (key -> line)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return getattr(self, "key_lines", {}).get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    """A list with ``line`` and ``item_lines`` (index -> line)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if 0 <= index < len(lines) else self.line


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: much faster


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader building LineDict/LineList and collecting duplicate keys."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode):  # type: ignore[no-untyped-def]
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in data.key_lines:
            loader.duplicates.append((line, f"duplicate key `{key}` (first at line {data.key_lines[key]})"))
        data.key_lines[key] = line
        data[key] = loader.construct_object(value_node, deep=True)


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode):  # type: ignore[no-untyped-def]
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_with_lines(text: str) -> tuple[Any, list[tuple[int, str]]]:
    """Parse YAML text; returns the data and duplicate-key problems as (line, message).

    Raises ``yaml.YAMLError`` (with ``problem_mark``) for a syntax error.
    """
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, loader.duplicates


def line_at(data: Any, path: tuple[Any, ...]) -> int:
    """The line of the deepest node of ``path`` that exists in ``data``."""
    node = data
    line = getattr(data, "line", 1) or 1
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.line_of(part)
            node = node[part]
        else:
            break
    return line
