"""Prompt templates: Markdown files in ``prompts/`` filled with ``{{name}}`` placeholders.

``render("plan_system", prompts_dir, as_of="2026-09-30")`` reads ``prompts/plan_system.md``,
drops HTML comments (notes for the template's readers, not for the model), fills every
``{{name}}`` and refuses a template whose placeholders and values do not match, so a typo
fails loudly instead of sending ``{{question}}`` to a model. Values are inserted as text and
never re-scanned, so a value that contains ``{{...}}`` stays literal, and every tag-like
sequence in a value (``</facts>``, ``<question >``, ``< /profile>``) has its angle brackets
replaced (``‹/facts›``): text from users, the data or a model can never open or close a
template's fence. Comparisons such as ``a <> b`` or ``x < 3`` are left as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from chatbi.errors import ChatBIError

__all__ = ["PromptError", "load_template", "placeholders", "render", "escape_fences",
           "DEFAULT_PROMPTS_DIR"]

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_TAG = re.compile(r"<(\s*/?\s*[A-Za-z_!][\w:.-]*[^<>]*)>")


def escape_fences(text: str) -> str:
    """``text`` with every tag-like ``<…>`` written ``‹…›`` (it cannot open or close a fence)."""
    return _TAG.sub(lambda m: "\u2039" + m.group(1).replace("<", "\u2039") + "\u203a", text)


class PromptError(ChatBIError):
    """A prompt template is missing or its placeholders do not match the values given."""

    code = "prompt_error"


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int) -> str:
    return _COMMENT.sub("", path.read_text(encoding="utf-8")).strip() + "\n"


def load_template(name: str, prompts_dir: Path | str | None = None) -> str:
    """The text of ``<prompts_dir>/<name>.md`` without HTML comments (cached by mtime)."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise PromptError(f"非法的模板名 / invalid template name: {name!r}")
    path = Path(prompts_dir or DEFAULT_PROMPTS_DIR) / f"{name}.md"
    try:
        return _read(path.resolve(), path.stat().st_mtime_ns)
    except OSError as exc:
        raise PromptError(f"找不到提示词模板 / prompt template not found: {path}") from exc


def placeholders(template: str) -> set[str]:
    """The placeholder names a template uses."""
    return set(_PLACEHOLDER.findall(template))


def render(name: str, prompts_dir: Path | str | None = None, /, **values: object) -> str:
    """Fill template ``name``; every placeholder needs a value and every value a placeholder."""
    template = load_template(name, prompts_dir)
    wanted = placeholders(template)
    missing, extra = wanted - set(values), set(values) - wanted
    if missing or extra:
        raise PromptError(
            f"模板 {name} 的占位符不匹配 / placeholders of template {name} do not match: "
            f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return _PLACEHOLDER.sub(lambda m: escape_fences(str(values[m.group(1)])), template)
