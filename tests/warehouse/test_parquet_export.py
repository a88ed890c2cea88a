"""``chatbi profiles publish --parquet DIR``: every table of the build file as a Parquet file
(what ``CHATBI_ENGINE=spark`` reads), with the same rows and column types."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from chatbi.channels.cli import app


def test_every_table_is_written_whole(tiny_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    done = CliRunner().invoke(app, ["profiles", "publish", "--parquet", str(folder), "--db", str(tiny_db)])
    assert done.exit_code == 0, done.output
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert sorted(p.stem for p in folder.glob("*.parquet")) == sorted(tables)
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no half-written files
        for table in tables:
            path = str(folder / f"{table}.parquet")
            assert con.execute(f"SELECT COUNT(*) FROM read_parquet('{path}')").fetchone() == \
                con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone(), table
            assert [r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()] == \
                [r[1] for r in con.execute(f'DESCRIBE "{table}"').fetchall()], table
    finally:
        con.close()
