"""One local Spark session per test run (``local[2]``) over the tiny demo exported to Parquet.

Skips, with the reason, when pyspark or a Java runtime is missing (``.ci/run`` installs
OpenJDK 17)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark_folder(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark: apt-get install openjdk-17-jre-headless")
    from chatbi.warehouse.spark import export_parquet

    folder = tmp_path_factory.mktemp("spark") / "shop"
    export_parquet(tiny_db, folder)
    return folder


@pytest.fixture(scope="session")
def spark_executor(spark_folder: Path) -> Iterator[Any]:
    from chatbi.sql.spark import SparkExecutor, spark_session, stop_session

    spark_session()  # the one session of this test run
    yield SparkExecutor(str(spark_folder), timeout_s=180)
    stop_session()
