"""FAQ files in and out: JSON, CSV (UTF-8, BOM accepted) and XLSX, with row-level errors."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from knowledge.normalize import clean

COLUMNS = ["id", "category", "question", "alternates", "answer", "source_url", "reviewed_at"]
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
MAX_ANSWER = 2000  # the platforms cut messages at 2,000 characters


class FaqItem(BaseModel):
    """One FAQ entry in the exchange format of the design."""

    model_config = ConfigDict(extra="ignore")

    id: str
    category: str = ""
    question: str
    alternates: list[str] = []
    answer: str
    source_url: str | None = None
    reviewed_at: date | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _slug(cls, value: object) -> str:
        value = str(value).strip() if isinstance(value, (str, int)) else value  # Excel stores "101" as a number
        if not isinstance(value, str):
            raise ValueError("id phải là chuỗi")
        if not SLUG.match(value):
            raise ValueError("id phải là slug: chữ thường không dấu, số, '-', '_' hoặc '.'")
        return value

    @field_validator("category", "question", "answer")
    @classmethod
    def _text(cls, value: str) -> str:
        return clean(value).strip()

    @field_validator("question", "answer")
    @classmethod
    def _required(cls, value: str) -> str:
        if not value:
            raise ValueError("không được để trống")
        return value

    @field_validator("answer")
    @classmethod
    def _length(cls, value: str) -> str:
        if len(value) > MAX_ANSWER:
            raise ValueError(f"dài {len(value)} ký tự, tối đa {MAX_ANSWER}")
        return value

    @field_validator("alternates", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, str):
            value = value.split("|")
        if isinstance(value, list):
            cleaned = [clean(str(v)).strip() for v in value]
            return list(dict.fromkeys(v for v in cleaned if v))
        return value

    @field_validator("source_url", mode="before")
    @classmethod
    def _empty_none(cls, value: object) -> object:
        text = "" if value is None else clean(str(value)).strip()  # no NUL: PostgreSQL refuses it
        return text or None

    @field_validator("reviewed_at", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        if value is None or str(value).strip() == "":
            return None
        if hasattr(value, "date"):
            return value.date()
        return str(value).strip()[:10]


class FaqFileError(Exception):
    """A file that cannot be imported; `problems` name the line of each bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _describe(error: ValidationError) -> str:
    # pydantic prefixes our own Vietnamese messages with "Value error, ".
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'dòng'}: {e['msg'].removeprefix('Value error, ')}"
                     for e in error.errors())


def parse_rows(rows: list[tuple[int, object]]) -> list[FaqItem]:
    """Validate (line, raw row) pairs; any bad row or duplicate id fails the whole file."""
    items: list[FaqItem] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        if not isinstance(raw, dict):
            problems.append(f"dòng {line}: không phải một mục hỏi đáp")
            continue
        try:
            item = FaqItem.model_validate(raw)
        except ValidationError as error:
            problems.append(f"dòng {line}: {_describe(error)}")
            continue
        if item.id in seen:
            problems.append(f"dòng {line}: id '{item.id}' trùng với dòng {seen[item.id]}")
            continue
        seen[item.id] = line
        items.append(item)
    if problems:
        raise FaqFileError(problems)
    return items


def _json_rows(data: bytes) -> list[tuple[int, object]]:
    text = data.decode("utf-8-sig")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise FaqFileError([f"dòng {error.lineno}: JSON không hợp lệ ({error.msg})"]) from error
    if not isinstance(parsed, list):
        raise FaqFileError(["dòng 1: tệp JSON phải là một danh sách các mục"])
    starts = [m.start() for m in re.finditer(r"^[ \t]*\{", text, re.MULTILINE)]
    lines = [text.count("\n", 0, s) + 1 for s in starts]
    return [(lines[i] if len(lines) == len(parsed) else i + 1, row) for i, row in enumerate(parsed)]


def _check_header(header: list[str]) -> None:
    missing = [c for c in ("id", "question", "answer") if c not in header]
    if missing:
        raise FaqFileError([f"dòng 1: thiếu cột {', '.join(missing)} (cần: {', '.join(COLUMNS)})"])


def _csv_rows(data: bytes) -> list[tuple[int, object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FaqFileError(["dòng 1: tệp CSV phải mã hóa UTF-8"]) from error
    header = text.split("\n", 1)[0]
    # Excel with Vietnamese regional settings separates columns with ";".
    delimiter = max(",;\t", key=header.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    _check_header([h.strip() for h in reader.fieldnames or []])
    rows = []
    start = reader.line_num + 1
    for row in reader:
        cleaned = {(k or "").strip(): v for k, v in row.items()}
        if any((v or "").strip() for k, v in cleaned.items() if k):
            rows.append((start, cleaned))  # a quoted field may span lines: report where the row starts
        start = reader.line_num + 1
    return rows


def _xlsx_rows(data: bytes) -> list[tuple[int, object]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
    except Exception as error:  # openpyxl raises many kinds for a broken workbook
        raise FaqFileError([f"dòng 1: không đọc được tệp Excel ({error.__class__.__name__})"]) from error
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        raise FaqFileError(["dòng 1: bảng tính trống"])
    header = [str(h or "").strip() for h in rows[0]]
    _check_header(header)
    out = []
    for number, values in enumerate(rows[1:], start=2):
        if any(v not in (None, "") for v in values):
            out.append((number, {h: ("" if v is None else v) for h, v in zip(header, values) if h}))
    return out


READERS = {".json": _json_rows, ".csv": _csv_rows, ".xlsx": _xlsx_rows}


def read_items(data: bytes, suffix: str) -> list[FaqItem]:
    """Parse a whole file; raises `FaqFileError` listing every bad line."""
    reader = READERS.get(suffix.lower())
    if reader is None:
        raise FaqFileError([f"định dạng '{suffix}' không hỗ trợ; dùng .json, .csv hoặc .xlsx"])
    return parse_rows(reader(data))


def read_file(path: Path) -> list[FaqItem]:
    return read_items(path.read_bytes(), path.suffix)


def _flat(item: FaqItem) -> dict[str, str]:
    return {
        "id": item.id,
        "category": item.category,
        "question": item.question,
        "alternates": "|".join(item.alternates),
        "answer": item.answer,
        "source_url": item.source_url or "",
        "reviewed_at": item.reviewed_at.isoformat() if item.reviewed_at else "",
    }


def write_items(items: list[FaqItem], suffix: str) -> bytes:
    """Serialise entries; CSV gets a BOM so Excel opens Vietnamese text correctly."""
    suffix = suffix.lower()
    if suffix == ".json":
        data = [item.model_dump(mode="json") for item in items]
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if suffix == ".csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(_flat(i) for i in items)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "faq"
        sheet.append(COLUMNS)
        for item in items:
            sheet.append([_flat(item)[c] for c in COLUMNS])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    raise FaqFileError([f"định dạng '{suffix}' không hỗ trợ; dùng .json, .csv hoặc .xlsx"])
