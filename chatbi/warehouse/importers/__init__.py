"""Bring your own data: ``chatbi import olist DIR`` and ``chatbi import csv DIR``.

Both check everything first (all problems in one ``ImportInvalidError``, code
``import_invalid``) and only then replace the warehouse atomically. See docs/import.md.
"""

from chatbi.warehouse.importers.csv_import import import_csv
from chatbi.warehouse.importers.olist import import_olist
from chatbi.warehouse.importers.report import ImportInvalidError, ImportReport

__all__ = ["ImportInvalidError", "ImportReport", "import_csv", "import_olist"]
