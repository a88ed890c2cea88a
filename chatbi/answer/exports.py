"""Exports of an answer people can use: CSV, Excel and the chart as PNG/SVG.

Tables come from the answer's labelled table (``Answer.table``, built by
``chatbi.answer.labels``): headers in the question's language with units (``GMV（元）``,
``占比（%）``), dimension values in words, numbers rounded the way the answer shows them. The
CLI (``chatbi ask … --csv/--xlsx``) and the web app's download buttons both call these.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chatbi.errors import ChatBIError

__all__ = ["ExportError", "chart_image", "csv_bytes", "export_table", "write_export", "xlsx_bytes"]

_NUMBER_FORMATS = {"money": "#,##0", "signed_money": "+#,##0;-#,##0;0", "integer": "#,##0",
                   "percent": "0.0", "signed_percent": "+0.0;-0.0;0.0", "pp": "+0.0;-0.0;0.0",
                   "days": "0.0", "score": "0.00"}


class ExportError(ChatBIError):
    """An export could not be produced (no table, unknown format, or the file not written)."""

    code = "export_failed"
    exit_code = 2


def export_table(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The labelled table of an answer dict (``Answer.to_dict()``); raw columns when it has none."""
    table = data.get("table")
    if table:
        return table
    columns = [str(c) for c in data.get("columns") or []]
    if not columns:
        raise ExportError("这个回答没有表格可以导出 / This answer has no table to export.", code="nothing_to_export")
    rows = [list(r) for r in data.get("rows") or []]
    return {"headers": columns, "export_headers": columns, "kinds": ["text"] * len(columns),
            "rows": [[str(v) for v in r] for r in rows], "values": rows}


def csv_bytes(data: Mapping[str, Any]) -> bytes:
    """CSV with labelled headers and rounded values; UTF-8 with BOM so Excel reads Chinese."""
    table = export_table(data)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.get("export_headers") or table.get("headers") or [])
    for row in table.get("values") or []:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(data: Mapping[str, Any]) -> bytes:
    """An Excel workbook: the labelled table (number formats by column kind, widths, a frozen
    header) on the first sheet, the question, finding, time range and definitions on the second."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    table = export_table(data)
    en = (table.get("language") or data.get("language")) == "en"
    book = Workbook()
    sheet = book.active
    sheet.title = "Result" if en else "结果"
    headers = list(table.get("export_headers") or table.get("headers") or [])
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    kinds = list(table.get("kinds") or [])
    for row in table.get("values") or []:
        sheet.append([v for v in row])
    for i, header in enumerate(headers, start=1):
        kind = kinds[i - 1] if i - 1 < len(kinds) else "text"
        letter = get_column_letter(i)
        fmt = _NUMBER_FORMATS.get(kind)
        if fmt is None and kind == "number":
            fmt = "#,##0.##"
        if kind in ("money", "signed_money") and any(  # amounts under ¥100 keep their cents
                isinstance(c.value, float) and not c.value.is_integer() for c in sheet[letter][1:]):
            fmt = "#,##0.00" if kind == "money" else "+#,##0.00;-#,##0.00;0"
        if fmt:
            for cell in sheet[letter][1:]:
                cell.number_format = fmt
        width = max([_width(header)] + [_width(c.value) for c in sheet[letter][1:200]])
        sheet.column_dimensions[letter].width = min(60, width + 2)
    sheet.freeze_panes = "A2"
    about = book.create_sheet("About" if en else "说明")
    interpretation = (data.get("interpretation") or {}).get("text") if isinstance(data.get("interpretation"), dict) else None
    lines = [("Question" if en else "问题", data.get("question")),
             ("Read as" if en else "理解为", interpretation),
             ("Finding" if en else "结论", data.get("finding")),
             ("Time range" if en else "时间范围", data.get("time_range"))]
    lines += [(str(d.get("label") or d.get("name")), d.get("description")) for d in data.get("definitions") or []]
    for key, value in lines:
        if value:
            about.append([key, str(value)])
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def chart_image(spec: Mapping[str, Any], fmt: str = "png") -> bytes:
    """The chart as PNG or SVG bytes, with the CJK font registered (Chinese glyphs, not boxes).

    Raises ``MissingCJKFontError`` when the chart has Chinese text and no CJK font exists."""
    from chatbi.answer.charts import chart_png, chart_svg

    if fmt == "svg":
        return chart_svg(dict(spec)).encode("utf-8")
    if fmt != "png":
        raise ExportError(f"不支持的图表格式 / unsupported chart format: {fmt}", code="export_format")
    handle, name = tempfile.mkstemp(suffix=".png")
    os.close(handle)
    try:
        chart_png(dict(spec), Path(name))
        return Path(name).read_bytes()
    finally:
        Path(name).unlink(missing_ok=True)


def write_export(data: Mapping[str, Any], path: Path, fmt: str) -> Path:
    """Write ``csv``, ``xlsx``, ``png`` or ``svg`` of an answer dict to ``path`` (atomically)."""
    if fmt == "csv":
        payload = csv_bytes(data)
    elif fmt == "xlsx":
        payload = xlsx_bytes(data)
    elif fmt in ("png", "svg"):
        if not data.get("chart"):
            raise ExportError("这个回答没有图表 / This answer has no chart.", code="nothing_to_export")
        payload = chart_image(data["chart"], fmt)
    else:
        raise ExportError(f"不支持的导出格式 / unsupported export format: {fmt}", code="export_format")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open(): the umask's permissions
        try:
            with open(tmp, "wb") as out:
                out.write(payload)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ExportError(f"无法写入 {path}：{exc.strerror or exc} / Cannot write {path}: {exc.strerror or exc}",
                          code="export_write_failed") from exc
    return path
