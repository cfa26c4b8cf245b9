"""FAQ files in and out: JSON, CSV and XLSX keep every field; bad rows are named by their line."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

import main
from knowledge import store
from knowledge.models import FaqEntry
from knowledge.transfer import COLUMNS, MAX_ANSWER, FaqFileError, FaqItem, read_file, read_items, write_items

ITEMS = [
    FaqItem(
        id="vneid-quen-mat-khau",
        category="vneid",
        question="Quên mật khẩu VNeID thì lấy lại thế nào?",
        alternates=["quên mk vneid", "không đăng nhập được VNeID", "đổi mật khẩu định danh điện tử"],
        answer="Dạ, bác làm thế này:\n1. Bấm “Quên mật khẩu” ở màn hình đăng nhập.\n2. Nhập số định danh và mã OTP ạ.",
        source_url="https://vneid.gov.vn/huong-dan",
        reviewed_at=date(2024, 11, 5),
    ),
    FaqItem(
        id="tt-chuyen-nham.2",
        category="Thanh toán",
        question="Chuyển khoản nhầm người thì đòi lại được không?",
        alternates=[],
        answer="Dạ, bác gọi ngay tổng đài ngân hàng, đừng bấm đường link lạ nào ạ.",
        source_url=None,
        reviewed_at=None,
    ),
]


def problems(data: bytes, suffix: str) -> list[str]:
    with pytest.raises(FaqFileError) as caught:
        read_items(data, suffix)
    return caught.value.problems


def csv_bytes(*lines: str, bom: bool = True, newline: str = "\n") -> bytes:
    return (("\ufeff" if bom else "") + newline.join(lines) + newline).encode("utf-8")


def xlsx_bytes(*rows: list) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def json_file(*objects: dict) -> bytes:
    """An indented list, one key per line, as people write (and as export writes) it."""
    return json.dumps(list(objects), ensure_ascii=False, indent=2).encode("utf-8")


GOOD = {"id": "a", "question": "Hỏi gì?", "answer": "Trả lời."}
HEADER = "id,category,question,alternates,answer,source_url,reviewed_at"


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".csv", ".xlsx"])
def test_export_then_import_preserves_every_field(suffix):
    assert read_items(write_items(ITEMS, suffix), suffix) == ITEMS


@pytest.mark.parametrize("suffix", [".JSON", ".Csv", ".XLSX"])
def test_suffix_case_does_not_matter(suffix):
    assert read_items(write_items(ITEMS, suffix), suffix) == ITEMS


def test_json_export_is_a_list_of_the_design_shape_with_readable_vietnamese():
    data = write_items(ITEMS, ".json")
    rows = json.loads(data.decode("utf-8"))
    assert [set(r) for r in rows] == [set(COLUMNS)] * 2
    assert rows[0]["alternates"] == ITEMS[0].alternates
    assert rows[0]["reviewed_at"] == "2024-11-05"
    assert rows[1]["source_url"] is None and rows[1]["reviewed_at"] is None
    assert "Quên mật khẩu".encode() in data  # not \u-escaped


def test_csv_export_starts_with_bom_and_joins_alternates_with_bars():
    data = write_items(ITEMS, ".csv")
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == HEADER
    assert "quên mk vneid|không đăng nhập được VNeID|đổi mật khẩu định danh điện tử" in text


def test_xlsx_export_has_header_row_and_bar_separated_alternates():
    sheet = load_workbook(io.BytesIO(write_items(ITEMS, ".xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert rows[1][COLUMNS.index("alternates")] == "|".join(ITEMS[0].alternates)
    assert len(rows) == 3


def test_csv_saved_by_excel_with_bom_and_crlf_is_read():
    data = csv_bytes(
        HEADER,
        'vneid-quen-mat-khau,vneid,Quên mật khẩu VNeID?,quên mk|mất mật khẩu,"Dạ, bấm ""Quên mật khẩu"".\r\nXong ạ.",,2024-11-05',
        "cc-1,căn cước,Làm căn cước ở đâu?,,Ở công an xã ạ.,https://x.vn,",
        newline="\r\n",
    )
    items = read_items(data, ".csv")
    assert [i.id for i in items] == ["vneid-quen-mat-khau", "cc-1"]
    assert items[0].alternates == ["quên mk", "mất mật khẩu"]
    assert items[0].answer == 'Dạ, bấm "Quên mật khẩu".\nXong ạ.'
    assert items[0].reviewed_at == date(2024, 11, 5)
    assert items[1].source_url == "https://x.vn" and items[1].reviewed_at is None
    assert items[1].category == "căn cước"
    assert not any("\r" in v for i in items for v in (i.id, i.question, i.answer, *i.alternates))


def test_csv_without_bom_is_read_too():
    items = read_items(csv_bytes("id,question,answer", "a,Hỏi?,Đáp.", bom=False), ".csv")
    assert items == [FaqItem(id="a", question="Hỏi?", answer="Đáp.")]


def test_alternates_split_on_bars_trimmed_deduplicated_and_blanks_dropped():
    items = read_items(csv_bytes("id,question,alternates,answer", "a,Hỏi?, một | hai||một|  ,Đáp."), ".csv")
    assert items[0].alternates == ["một", "hai"]


def test_xlsx_date_cells_and_empty_cells_are_read():
    data = xlsx_bytes(COLUMNS, ["a", None, "Hỏi?", None, "Đáp.", None, datetime(2024, 5, 1)])
    assert read_items(data, ".xlsx") == [FaqItem(id="a", question="Hỏi?", answer="Đáp.", reviewed_at=date(2024, 5, 1))]


def test_blank_rows_are_skipped():
    assert len(read_items(csv_bytes("id,question,answer", "a,q,x", ",,", "b,q,x"), ".csv")) == 2
    assert len(read_items(xlsx_bytes(["id", "question", "answer"], ["a", "q", "x"], [None, None, None], ["b", "q", "x"]),
                          ".xlsx")) == 2


def test_read_file_uses_the_file_suffix(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_bytes(write_items(ITEMS, ".csv"))
    assert read_file(path) == ITEMS


def test_line_breaks_in_an_answer_survive_import():
    data = json_file({"id": "a", "question": "q", "answer": "Các bước:\n1. Mở app\n2. Đăng nhập"})
    assert read_items(data, ".json")[0].answer == "Các bước:\n1. Mở app\n2. Đăng nhập"


# --- errors name the line of each bad row -----------------------------------------------------


def test_bad_csv_row_is_reported_with_its_line_number():
    found = problems(csv_bytes("id,question,answer", "a,q,x", "b,q,", "c,q,x"), ".csv")
    assert len(found) == 1 and found[0].startswith("dòng 3:") and "answer" in found[0]


def test_every_bad_csv_row_is_listed():
    found = problems(csv_bytes("id,question,answer", "Bad Id,q,x", "b,q,x", "c,,x"), ".csv")
    assert [p.split(":")[0] for p in found] == ["dòng 2", "dòng 4"]


def test_bad_json_object_is_reported_at_the_line_where_it_starts():
    data = json_file(GOOD, {"id": "b", "question": "q", "answer": ""})
    # line 1 "[", lines 2-6 the first object, the second object opens on line 7
    assert data.decode().splitlines()[6].strip() == "{"
    found = problems(data, ".json")
    assert len(found) == 1 and found[0].startswith("dòng 7:") and "answer" in found[0]


def test_bad_xlsx_row_is_reported_with_its_row_number():
    found = problems(xlsx_bytes(["id", "question", "answer"], ["a", "q", "x"], ["b", "q", "x"], ["c", "q", None]),
                     ".xlsx")
    assert len(found) == 1 and found[0].startswith("dòng 4:") and "answer" in found[0]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_missing_required_columns_are_named(suffix):
    data = csv_bytes("id,category,question", "a,b,c") if suffix == ".csv" else xlsx_bytes(["id", "category"], ["a", "b"])
    found = problems(data, suffix)
    assert len(found) == 1 and found[0].startswith("dòng 1:")
    assert "answer" in found[0]
    if suffix == ".xlsx":
        assert "question" in found[0]


def test_json_row_missing_a_required_key_is_reported():
    found = problems(json_file(GOOD, {"id": "b", "question": "q"}), ".json")
    assert len(found) == 1 and "answer" in found[0]


def test_duplicate_id_names_both_lines():
    found = problems(csv_bytes("id,question,answer", "a,q,x", "b,q,x", "a,q2,y"), ".csv")
    assert len(found) == 1
    assert found[0].startswith("dòng 4:") and "'a'" in found[0] and "dòng 2" in found[0]


@pytest.mark.parametrize("bad_id", ["Vneid", "mật-khẩu", "a b", "-leading", "", "x" * 121, "a/b"])
def test_invalid_slug_is_rejected(bad_id):
    found = problems(json_file({"id": bad_id, "question": "q", "answer": "x"}), ".json")
    assert len(found) == 1 and "id" in found[0]


@pytest.mark.parametrize("good_id", ["a", "0", "vneid-quen-mat-khau", "faq_1.2", "x" * 120])
def test_any_slug_is_a_valid_id(good_id):
    assert read_items(json_file({"id": good_id, "question": "q", "answer": "x"}), ".json")[0].id == good_id


@pytest.mark.parametrize("answer", ["", "   ", None])
def test_empty_answer_is_rejected(answer):
    found = problems(json_file({"id": "a", "question": "q", "answer": answer}), ".json")
    assert len(found) == 1 and "answer" in found[0]


def test_answer_over_2000_characters_is_rejected_with_its_length():
    found = problems(json_file({"id": "a", "question": "q", "answer": "x" * (MAX_ANSWER + 1)}), ".json")
    assert len(found) == 1 and "answer" in found[0] and str(MAX_ANSWER + 1) in found[0]


def test_answer_of_exactly_2000_characters_is_accepted():
    assert len(read_items(json_file({"id": "a", "question": "q", "answer": "đ" * MAX_ANSWER}), ".json")[0].answer) == 2000


def test_invalid_review_date_is_rejected():
    found = problems(json_file({**GOOD, "reviewed_at": "2024-13-01"}), ".json")
    assert len(found) == 1 and "reviewed_at" in found[0]


@pytest.mark.parametrize("suffix", [".txt", ".xls", ""])
def test_unsupported_extension_is_refused_on_read_and_write(suffix):
    found = problems(b"id,question,answer\na,q,x\n", suffix)
    assert len(found) == 1 and ".json" in found[0]
    with pytest.raises(FaqFileError):
        write_items(ITEMS, suffix)


def test_broken_json_reports_the_line_of_the_syntax_error():
    data = b'[\n  {"id": "a", "question": "q", "answer": "x"},\n  {"id": "b" "question": "q"}\n]\n'
    found = problems(data, ".json")
    assert len(found) == 1 and found[0].startswith("dòng 3:") and "JSON" in found[0]


def test_json_that_is_not_a_list_is_refused():
    found = problems(json.dumps(GOOD).encode(), ".json")
    assert len(found) == 1 and found[0].startswith("dòng 1:")


def test_json_list_item_that_is_not_an_object_is_reported():
    found = problems(b'[\n  "chi la chu"\n]', ".json")
    assert len(found) == 1


def test_non_utf8_csv_is_refused_with_a_hint():
    data = "id,question,answer\na,Quên mã?,Dạ.\n".encode("cp1258", errors="replace")  # Windows Vietnamese
    assert b"Qu\xean" in data
    found = problems(data, ".csv")
    assert len(found) == 1 and "UTF-8" in found[0]


def test_broken_xlsx_is_refused():
    found = problems(b"PK\x03\x04 not really a workbook", ".xlsx")
    assert len(found) == 1 and found[0].startswith("dòng 1:")


def test_a_file_with_one_bad_row_yields_no_items_at_all():
    with pytest.raises(FaqFileError):
        read_items(csv_bytes("id,question,answer", "a,q,x", "b,q,x", "c,q,"), ".csv")


def test_json_line_is_right_even_after_a_blank_line():
    data = b'[\n  {"id": "a", "question": "q", "answer": "x"},\n\n  {"id": "b", "question": "q", "answer": ""}\n]\n'
    assert problems(data, ".json")[0].startswith("dòng 4:")


def test_csv_row_spanning_lines_is_reported_at_its_first_line():
    data = csv_bytes("id,question,answer", "a,q,x", 'Bad,"dòng một', 'dòng hai",x')
    assert problems(data, ".csv")[0].startswith("dòng 3:")


def test_numeric_id_cell_in_xlsx_is_read_as_its_text():
    assert read_items(xlsx_bytes(["id", "question", "answer"], [101, "q", "x"]), ".xlsx")[0].id == "101"


# --- nothing is half-imported -----------------------------------------------------------------


def _db_state(runtime):
    with runtime.session() as s:
        entries = {e.id: (e.question, e.answer, e.active) for e in s.exec(select(FaqEntry))}
        return entries, store.version(s)


def test_a_file_with_one_bad_row_changes_nothing_in_the_database(runtime, database_url, tmp_path, monkeypatch, capsys):
    before = _db_state(runtime)
    existing = sorted(before[0])[0]
    path = tmp_path / "faq.json"
    path.write_bytes(json_file(
        {"id": "moi-hoan-toan", "question": "Câu mới?", "answer": "Đáp mới."},
        {"id": existing, "question": "Câu đã sửa?", "answer": "Đáp đã sửa."},
        {"id": "Hỏng", "question": "q", "answer": "x"},
    ))
    monkeypatch.setenv("TROLY_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    assert main.cli(["faq", "import", str(path), "--replace"]) != 0
    assert _db_state(runtime) == before


def test_csv_from_excel_with_semicolons_is_read():
    data = "\ufeffid;question;alternates;answer\r\nmot;Câu hỏi?;a|b;Dạ, trả lời.\r\n".encode("utf-8")
    item = read_items(data, ".csv")[0]
    assert (item.id, item.alternates, item.answer) == ("mot", ["a", "b"], "Dạ, trả lời.")


def test_text_fields_and_the_source_lose_nul_and_lone_surrogates():
    # PostgreSQL refuses NUL in text and no database encodes a lone surrogate (JSON's "\ud800").
    item = FaqItem(id="x", question="Giờ m\x00ở cửa\ud800?", answer="Dạ\x00, 7 giờ.", alternates=["a\udfffb"],
                   source_url="https://xa.gov.vn/\x00lich\ud800")
    assert (item.question, item.answer, item.alternates) == ("Giờ m ở cửa ?", "Dạ , 7 giờ.", ["a b"])
    assert item.source_url == "https://xa.gov.vn/ lich"
    assert FaqItem(id="x", question="q", answer="a", source_url="\x00 ").source_url is None
