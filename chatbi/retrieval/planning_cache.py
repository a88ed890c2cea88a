"""What planning needs, kept in the index folder so a new process answers at once.

A one-shot ``chatbi ask`` used to spend most of its time before the question: validating
the YAML semantic layer (sqlglot parses every expression) and reading the warehouse's
as-of date and dimension values. Both are kept as JSON beside the retrieval index
(``<warehouse>.index/``, written by ``chatbi init``):

    layer.json      the validated semantic layer, keyed by the YAML files' bytes and the
                    source of ``chatbi.semantic`` (a changed file or validator reloads it)
    planning.json   the as-of date and dimension values, keyed by the warehouse file's
                    identity (device, inode, size, mtime) and the layer (a rebuilt warehouse
                    or a changed layer reads them again)

Only a folder that already exists is written to (a warehouse without an index is answered
the slow way, and its folder is not created here, so the retriever still builds it), and
only atomically; any problem reading or writing a cache means computing afresh. JSON, not
pickle: a file in that folder is data, never code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LAYER_FILE = "layer.json"
PLANNING_FILE = "planning.json"
FORMAT = 2  # 2: the values hold the merchant directory (chatbi.planner.merchant_names)
_SEMANTIC_CODE = Path(__file__).resolve().parent.parent / "semantic"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically; only inside an existing folder; failures are logged."""
    if not path.parent.is_dir():
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"format": FORMAT, **data}, handle, ensure_ascii=False)
            os.chmod(tmp, 0o644)  # readable like the index beside it (mkstemp makes it private)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.info("planning cache %s not written: %s", path, exc)


def layer_key(directory: Path) -> str:
    """Digest of the layer's YAML files (names and bytes) and of the code that validates them."""
    digest = hashlib.sha256()
    files = sorted(list(directory.glob("*.yaml")) + list(directory.glob("*.yml")))
    for path in files + sorted(_SEMANTIC_CODE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_layer(directory: Path | str, index_dir: Path) -> Any:
    """The validated semantic layer of ``directory``: from ``index_dir/layer.json`` when it was
    saved from the same files and code, else loaded and validated (and saved)."""
    from chatbi.semantic.loader import load_semantic_layer
    from chatbi.semantic.models import SemanticLayer

    directory = Path(directory).resolve()
    path = Path(index_dir) / LAYER_FILE
    try:
        key = layer_key(directory) if directory.is_dir() else None
    except OSError:
        key = None
    if key is None or not path.parent.is_dir():
        return load_semantic_layer(directory)
    cached = _read(path)
    if cached is not None and cached.get("key") == key:
        try:
            return SemanticLayer.model_validate(cached["layer"])
        except (ValueError, KeyError) as exc:
            log.info("cached semantic layer %s not usable: %s", path, exc)
    layer = load_semantic_layer(directory)  # raises on an invalid layer: nothing is saved
    _write(path, {"key": key, "layer": layer.model_dump(mode="json")})
    return layer


def layer_digest(layer: Any) -> str:
    """Digest of a loaded layer (what the dimension values were read for)."""
    return hashlib.sha256(layer.model_dump_json().encode()).hexdigest()


def warehouse_key(version: Any) -> list[Any]:
    """The warehouse file's identity as JSON (``Executor.version()``)."""
    return [int(v) if isinstance(v, int) else str(v) for v in version]


def load_planning(index_dir: Path, version: Any, layer: Any) -> tuple[date, dict[str, list[str]]] | None:
    """The as-of date and dimension values saved for this warehouse file and layer, or None."""
    cached = _read(Path(index_dir) / PLANNING_FILE)
    if cached is None or cached.get("warehouse") != warehouse_key(version):
        return None
    if cached.get("layer") != layer_digest(layer):
        return None
    try:
        as_of = date.fromisoformat(cached["as_of"])
        values = {str(k): [str(v) for v in vs] for k, vs in cached["values"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return as_of, values


def save_planning(index_dir: Path, version: Any, layer: Any, as_of: date,
                  values: dict[str, list[str]]) -> None:
    """Save the as-of date and dimension values read from this warehouse file."""
    _write(Path(index_dir) / PLANNING_FILE, {
        "warehouse": warehouse_key(version), "layer": layer_digest(layer),
        "as_of": as_of.isoformat(), "values": values,
    })


def warm(settings: Any) -> None:
    """Write both caches for ``settings``' warehouse now (``chatbi init`` after the index), so
    the first question after a build is as fast as the next. Problems are only logged."""
    from chatbi.answer.pipeline import Pipeline
    from chatbi.errors import ChatBIError

    try:
        pipeline = Pipeline(settings)
    except ChatBIError as exc:
        log.info("planning cache not warmed: %s", exc)
        return
    try:
        pipeline.dimension_values()
    except ChatBIError as exc:
        log.info("planning cache not warmed: %s", exc)
    finally:
        pipeline.close()
