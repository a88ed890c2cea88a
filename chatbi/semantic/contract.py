"""Every table and column of DATA_CONTRACT.md (raw tables from the warehouse schema, plus
the profile tables), used for the access policy and to check the YAML's column names.
"""

from __future__ import annotations

from chatbi.warehouse.profile_schema import PROFILE_CONTRACT
from chatbi.warehouse.schema import RAW_TABLES

# One source of truth for the profile tables' columns: the profile build pins them.
PROFILE_TABLES: dict[str, dict[str, str]] = PROFILE_CONTRACT

CONTRACT_TABLES: dict[str, dict[str, str]] = {**RAW_TABLES, **PROFILE_TABLES}


def create_profile_table_sql(table: str) -> str:
    """``CREATE TABLE`` for a profile table with the contract's columns (tests use it)."""
    cols = ", ".join(f"{name} {typ}" for name, typ in PROFILE_TABLES[table].items())
    return f"CREATE TABLE {table} ({cols})"
