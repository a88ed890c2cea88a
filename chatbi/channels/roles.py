"""Role maps for channels: ``"k1=admin,k2=merchant:7"`` → {identity: Role}."""

from __future__ import annotations

from collections.abc import Mapping

from chatbi.errors import UserInputError
from chatbi.sql.policy import Role


def parse_role_map(raw: str | Mapping[str, str] | None, *, what: str = "CHATBI_API_KEYS") -> dict[str, Role]:
    """Parse ``key=role`` pairs (or an already split mapping); every role must be valid."""
    pairs: dict[str, str] = {}
    if isinstance(raw, Mapping):
        pairs = {str(k).strip(): str(v).strip() for k, v in raw.items()}
    elif raw:
        for chunk in raw.split(","):
            chunk = chunk.strip()
            if not chunk:
                continue
            if "=" not in chunk:
                raise UserInputError(
                    f"{what} 格式应为 key=role / {what} must be comma-separated key=role pairs, got {chunk!r}",
                    code="invalid_config",
                )
            key, role = chunk.split("=", 1)
            pairs[key.strip()] = role.strip()
    out: dict[str, Role] = {}
    for key, role in pairs.items():
        if not key:
            raise UserInputError(f"{what}: 空的键 / empty key", code="invalid_config")
        try:
            out[key] = Role.parse(role)
        except UserInputError as exc:
            raise UserInputError(f"{what}: {key}: {exc.message}", code="invalid_config") from exc
    return out
