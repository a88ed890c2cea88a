"""Frozen settings read from the environment (see INTERFACES.md, "Environment")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
DEFAULT_DB = Path("data/warehouse.duckdb")
DEFAULT_BRAND = "好物寄售"  # the demo marketplace's name: the signature of its campaign SMS
DEFAULT_BRAND_EN = "Haowu"


def _semantic_dir() -> Path:
    env = os.environ.get("CHATBI_SEMANTIC_DIR")
    return Path(env) if env else PROJECT_ROOT / "semantic_layer"


def _api_keys(raw: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in raw.split(","):
        if "=" in pair:
            key, role = pair.split("=", 1)
            if key.strip():
                keys[key.strip()] = role.strip()
    return keys


def _english_brand(brand: str | None) -> str:
    """The brand for English copy: CHATBI_BRAND when it is written in Latin letters."""
    name = (brand or "").strip()
    return name if name and name.isascii() else DEFAULT_BRAND_EN


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once from the environment."""

    db_path: Path = DEFAULT_DB
    engine: str = "duckdb"  # duckdb (the db_path file) | postgres | spark
    warehouse_url: str | None = None  # postgres: a libpq URL; spark: a master (local[2]) or sc://
    warehouse_schema: str | None = None  # the schema holding the tables (default public / default)
    semantic_dir: Path = field(default_factory=_semantic_dir)
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    planner: str = "auto"  # auto | offline | llm
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str = "gpt-4o-mini"
    llm_timeout_s: float = 20.0
    llm_text: bool = False  # let the model phrase findings/copy (always checked)
    query_timeout_s: float = 10.0
    max_rows: int = 1000
    memory_limit: str = "4GB"
    max_result_bytes: int = 20_000_000
    query_workers: int | None = None  # None: servers use 4 worker processes, the CLI none
    api_keys: dict[str, str] = field(default_factory=dict)
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    brand: str = DEFAULT_BRAND  # CHATBI_BRAND: the marketplace's name, signing campaign copy
    brand_en: str = DEFAULT_BRAND_EN  # CHATBI_BRAND_EN: the name in English copy

    @property
    def index_dir(self) -> Path:
        """Chroma index beside the warehouse file."""
        return self.db_path.parent / (self.db_path.stem + ".index")

    @property
    def app_db_path(self) -> Path:
        """Application database (feedback, promoted examples): never the warehouse."""
        return self.db_path.parent / (self.db_path.stem + ".app.sqlite")

    @property
    def use_llm(self) -> bool:
        if self.planner == "offline":
            return False
        if self.planner == "llm":
            return True
        return bool(self.openai_api_key)

    @classmethod
    def from_env(cls, db_path: str | Path | None = None) -> Settings:
        env = os.environ
        db = Path(db_path) if db_path else Path(env.get("CHATBI_DB") or DEFAULT_DB)
        from chatbi.sql.engines import check_engine

        return cls(
            db_path=db,
            engine=check_engine(env.get("CHATBI_ENGINE", "duckdb")),
            warehouse_url=env.get("CHATBI_WAREHOUSE_URL") or None,
            warehouse_schema=env.get("CHATBI_WAREHOUSE_SCHEMA") or None,
            planner=env.get("CHATBI_PLANNER", "auto").strip().lower() or "auto",
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            model=env.get("CHATBI_MODEL") or "gpt-4o-mini",
            llm_timeout_s=float(env.get("CHATBI_LLM_TIMEOUT", "20")),
            llm_text=env.get("CHATBI_LLM_TEXT", "").strip().lower() in ("1", "true", "yes"),
            query_timeout_s=float(env.get("CHATBI_QUERY_TIMEOUT", "10")),
            memory_limit=env.get("CHATBI_MEMORY_LIMIT") or "4GB",
            max_result_bytes=int(env.get("CHATBI_MAX_RESULT_BYTES") or 20_000_000),
            query_workers=int(env["CHATBI_QUERY_WORKERS"]) if env.get("CHATBI_QUERY_WORKERS") else None,
            api_keys=_api_keys(env.get("CHATBI_API_KEYS", "")),
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            brand=(env.get("CHATBI_BRAND") or "").strip() or DEFAULT_BRAND,
            brand_en=(env.get("CHATBI_BRAND_EN") or "").strip() or _english_brand(env.get("CHATBI_BRAND")),
        )
