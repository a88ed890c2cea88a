"""No statement, through the guard or even straight to the executor, can read a file.

Each spelling is tried for /etc/passwd and for a secret CSV written by the test (so the test
does not depend on the machine): the guard must refuse it for every role, and DuckDB itself
(external access off) must not return the file's content when the guard is bypassed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbi.errors import ChatBIError, GuardError
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy

from .conftest import ROLES

SECRET_MARKER = "TOPSECRET-7f3a9c"

SPELLINGS = [
    "SELECT * FROM read_csv('{p}')",
    "SELECT * FROM read_csv_auto('{p}')",
    "SELECT * FROM read_csv(['{p}'])",
    "SELECT * FROM read_csv('{p}', header = false, sep = '|')",
    "SELECT * FROM READ_CSV('{p}')",
    "SELECT * FROM ReAd_CsV('{p}')",
    "SELECT * FROM \"read_csv\"('{p}')",
    "SELECT * FROM read_csv/**/('{p}')",
    "SELECT * FROM read_csv -- comment\n('{p}')",
    "SELECT * FROM main.read_csv('{p}')",
    "SELECT * FROM system.main.read_text('{p}')",
    "SELECT * FROM read_text('{p}')",
    "SELECT content FROM read_text('{p}')",
    "SELECT * FROM read_blob('{p}')",
    "SELECT read_blob('{p}')",
    "SELECT * FROM read_json('{p}')",
    "SELECT * FROM read_json_auto('{p}')",
    "SELECT * FROM read_ndjson_objects('{p}')",
    "SELECT * FROM read_parquet('{p}')",
    "SELECT * FROM parquet_scan('{p}')",
    "SELECT * FROM sniff_csv('{p}')",
    "SELECT * FROM glob('{p}')",
    "SELECT file FROM glob('{p}*')",
    "SELECT * FROM '{p}'",
    "SELECT * FROM \"{p}\"",
    "SELECT * FROM '{p}' AS orders",
    "SELECT * FROM 'file://{p}'",
    "FROM '{p}'",
    "FROM read_csv('{p}') SELECT *",
    "SELECT * FROM read_csv('{p}') AS orders",
    "SELECT * FROM read_csv('{p}') AS t(a)",
    "SELECT * FROM orders, read_text('{p}')",
    "SELECT * FROM orders o, LATERAL read_text('{p}')",
    "SELECT * FROM (SELECT '{p}' AS p) s, read_text(s.p)",
    "SELECT * FROM read_csv(concat('{d}', '{n}'))",
    "SELECT * FROM read_csv('{d}' || '{n}')",
    "SELECT * FROM read_text($${p}$$)",
    "SELECT * FROM read_text(E'{p}')",
    "SELECT * FROM read_text(lower(upper('{p}')))",
    "WITH x AS (SELECT * FROM read_csv('{p}')) SELECT * FROM x",
    "WITH x AS (FROM '{p}') SELECT * FROM x",
    "WITH RECURSIVE x AS (SELECT * FROM read_text('{p}')) SELECT * FROM x",
    "SELECT * FROM orders WHERE EXISTS (SELECT * FROM read_text('{p}'))",
    "SELECT (SELECT content FROM read_text('{p}')) AS c",
    "SELECT order_id FROM orders UNION ALL SELECT content FROM read_text('{p}')",
    "SELECT * FROM unnest((SELECT list(content) FROM read_text('{p}')))",
    "SELECT * FROM query('SELECT * FROM read_text(''{p}'')')",
    "SELECT * FROM query_table('{p}')",
    "SELECT * FROM read_text('{p}'); SELECT 1",
    "SELECT 1; SELECT * FROM read_text('{p}')",
    "COPY orders FROM '{p}'",
    "ATTACH '{p}' AS f",
    "CREATE TABLE t AS SELECT * FROM read_csv('{p}')",
    "SELECT * FROM read_csv(getenv('SECRET_PATH'))",
]


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.csv"
    path.write_text(f"a,b\n{SECRET_MARKER},1\n", encoding="utf-8")
    return path


def _targets(secret_file: Path) -> list[tuple[str, str]]:
    """(path, marker of its content) pairs; /etc/passwd only where it exists."""
    targets = [(str(secret_file), SECRET_MARKER)]
    passwd = Path("/etc/passwd")
    if passwd.exists():
        first = passwd.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        targets.append((str(passwd), first.split(":")[0] + ":"))
    return targets


def _statements(secret_file: Path) -> list[tuple[str, str]]:
    out = []
    for path, marker in _targets(secret_file):
        folder, name = path.rsplit("/", 1)
        for spelling in SPELLINGS:
            out.append((spelling.format(p=path, d=folder + "/", n=name), marker))
    return out


def test_guard_refuses_every_spelling(secret_file: Path, policy: AccessPolicy) -> None:
    accepted = []
    for sql, _ in _statements(secret_file):
        for role_key, role in ROLES.items():
            try:
                guarded = guard_sql(sql, policy, role)
            except GuardError:
                continue
            accepted.append(f"{role_key}: {sql!r} -> {guarded.sql}")
    assert not accepted, "\n".join(accepted)


def test_executor_blocks_files_even_without_guard(secret_file: Path, executor: Executor) -> None:
    """Defence in depth: DuckDB's external access is off, so raw SQL cannot read files."""
    leaks = []
    for sql, marker in _statements(secret_file):
        try:
            result = executor.run(sql, max_rows=50)
        except ChatBIError:
            continue
        if marker in str(result.rows):
            leaks.append(sql)
    assert not leaks, "\n".join(leaks)


def test_file_function_refused_with_clear_code(secret_file: Path, executor: Executor) -> None:
    with pytest.raises(GuardError) as info:
        executor.run(f"SELECT * FROM read_csv('{secret_file}')")
    assert info.value.code == "sql_function_not_allowed"


def test_path_mentioned_as_plain_string_is_harmless(policy: AccessPolicy, executor: Executor) -> None:
    """The rule is about reading files, not about the text '/etc/passwd'."""
    guarded = guard_sql("SELECT '/etc/passwd' AS p", policy, ROLES["marketer"])
    assert executor.run(guarded.sql).rows == [("/etc/passwd",)]
