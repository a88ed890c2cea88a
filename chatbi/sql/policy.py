"""Roles and the access policy the guard enforces (built from the semantic layer)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbi.errors import UserInputError


@dataclass(frozen=True)
class Role:
    """``admin``, ``analyst``, ``marketer`` (no PII) or ``merchant:<id>`` (own rows only)."""

    name: str
    merchant_id: int | None = None

    @property
    def can_see_pii(self) -> bool:
        """Only admin and analyst see PII columns; marketers and merchants never do."""
        return self.name in ("admin", "analyst")

    @property
    def is_merchant(self) -> bool:
        return self.name == "merchant"

    def __str__(self) -> str:
        return f"merchant:{self.merchant_id}" if self.is_merchant else self.name

    @classmethod
    def parse(cls, text: str | None) -> Role:
        raw = (text or "admin").strip().lower()
        if raw in ("admin", "analyst", "marketer"):
            return cls(raw)
        if raw.startswith("merchant:"):
            ident = raw.split(":", 1)[1].strip()
            if ident.isdigit():
                return cls("merchant", int(ident))
        raise UserInputError(
            f"未知角色 / unknown role: {text!r}. Use admin, analyst, marketer or merchant:<id>.",
            code="invalid_role",
        )


@dataclass(frozen=True)
class AccessPolicy:
    """What SQL may touch.

    ``tables`` maps each allowed table to its allowed columns; ``pii`` maps a table to its PII
    columns; ``security_columns`` maps a table to the column that ties a row to a merchant
    (row-level security for ``merchant:<id>`` roles).
    """

    tables: dict[str, frozenset[str]]
    pii: dict[str, frozenset[str]] = field(default_factory=dict)
    security_columns: dict[str, str] = field(default_factory=dict)
    max_rows: int = 1000
