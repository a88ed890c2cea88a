"""Role maps for channels: ``"k1=admin,k2=merchant:7"`` → {identity: Role}."""

from __future__ import annotations

from collections.abc import Mapping

from chatbi.errors import UserInputError
from chatbi.sql.policy import Role


def parse_role_map(raw: str | Mapping[str, str] | None, *, what: str = "CHATBI_API_KEYS",
                   secret_keys: bool = True) -> dict[str, Role]:
    """Parse ``key=role`` pairs (or an already split mapping); every role must be valid.

    With ``secret_keys`` (API keys) an error names the entry by its position, never the key;
    Slack user ids are not secret and are named.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, Mapping):
        pairs = [(str(k).strip(), str(v).strip()) for k, v in raw.items()]
    elif raw:
        for chunk in raw.split(","):
            chunk = chunk.strip()
            if not chunk:
                continue
            if "=" not in chunk:
                shown = f"entry {len(pairs) + 1}" if secret_keys else repr(chunk)
                raise UserInputError(
                    f"{what} 格式应为 key=role / {what} must be comma-separated key=role pairs, got {shown}",
                    code="invalid_config",
                )
            key, role = chunk.split("=", 1)
            pairs.append((key.strip(), role.strip()))
    out: dict[str, Role] = {}
    for position, (key, role) in enumerate(pairs, start=1):
        if not key:
            raise UserInputError(f"{what}: 空的键 / empty key", code="invalid_config")
        try:
            out[key] = Role.parse(role)
        except UserInputError as exc:
            shown = f"entry {position}" if secret_keys else key
            raise UserInputError(f"{what}: {shown}: {exc.message}", code="invalid_config") from exc
    return out
