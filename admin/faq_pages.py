"""The FAQ editor for admins: list and search, the entry form, history with diffs and restore,
import with a preview, export, and the teencode dictionary. The test console lives in console_pages."""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from admin import auth, console_pages
from admin.auth import Principal
from admin.web import PathText, render
from bot.runtime import Runtime
from bot.tables import aware
from knowledge import store
from knowledge.models import FaqEntry, FaqRevision, LexiconRow
from knowledge.normalize import clean, fold, words
from knowledge.shipped import lexicon_rows
from knowledge.transfer import MAX_ANSWER, FaqFileError, FaqItem, read_items, write_items

STALE_DAYS = 180
# The file comes back base64-encoded in a hidden field on "Áp dụng": it must fit Starlette's 1 MB field limit.
MAX_UPLOAD = 700 * 1024
RESERVED_IDS = {"new", "import"}  # these paths are pages, not entries
EXPORTS = {"json": "application/json", "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
LABELS = {"id": "Mã", "category": "Chủ đề", "question": "Câu hỏi", "alternates": "Cách hỏi khác",
          "answer": "Câu trả lời", "source_url": "Nguồn", "reviewed_at": "Ngày xem lại", "active": "Đang dùng"}
ACTIONS = {"created": "Tạo mới", "updated": "Sửa", "deactivated": "Ngừng dùng", "restored": "Khôi phục",
           "imported": "Nhập tệp"}
NOTICES = {
    "created": "Đã tạo mục mới. Bot dùng ngay từ bây giờ.",
    "saved": "Đã lưu. Bot dùng nội dung mới ngay từ bây giờ.",
    "unchanged": "Không có gì thay đổi.",
    "deactivated": "Đã ngừng dùng mục này: bot sẽ không trả lời bằng mục này nữa.",
    "restored": "Đã khôi phục bản cũ thành một bản mới.",
    "lexicon-saved": "Đã lưu từ. Bot hiểu từ này ngay từ bây giờ.",
    "lexicon-deleted": "Đã xoá từ.",
}


class EntryForm(BaseModel):
    """What the entry form posts; everything as typed, so a refused form comes back unchanged."""

    csrf: str = ""
    id: str = ""
    question: str = ""
    alternates: str = ""
    answer: str = ""
    category: str = ""
    source_url: str = ""
    reviewed_at: str = ""
    base: str = ""  # the latest revision id when the form was opened: another admin's save in between is caught


class LexiconForm(BaseModel):
    csrf: str = ""
    term: str = ""
    expansion: str = ""
    at_end: str = ""
    keep: bool = False


@dataclass
class Plan:
    """What an import would do to the FAQ, computed before anything is written."""

    new: list[FaqItem] = field(default_factory=list)
    changed: list[tuple[FaqItem, list[str]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[FaqEntry] = field(default_factory=list)

    def fingerprint(self, data: bytes) -> str:
        """Same file and same effect: "Áp dụng" refuses to apply anything but what was previewed."""
        summary = [[i.id for i in self.new], [[i.id, f] for i, f in self.changed], self.unchanged,
                   [e.id for e in self.retired], hashlib.sha256(data).hexdigest()]
        return hashlib.sha256(json.dumps(summary).encode()).hexdigest()


# ---- list ------------------------------------------------------------------------------------

def searchable(entry: FaqEntry) -> str:
    return fold(" ".join([entry.id, entry.question, entry.category, *entry.alternates, entry.answer])).lower()


def matches(entry: FaqEntry, query: str) -> bool:
    """Every word of the query, without diacritics: "quen mat khau" finds "Quên mật khẩu"."""
    haystack = searchable(entry)
    return all(word in haystack for word in fold(query).lower().split())


def is_stale(entry: FaqEntry, today: date) -> bool:
    return entry.reviewed_at is None or (today - entry.reviewed_at).days > STALE_DAYS


def show_date(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


# ---- entry form ------------------------------------------------------------------------------

def form_of(entry: FaqEntry) -> EntryForm:
    return EntryForm(id=entry.id, question=entry.question, alternates="\n".join(entry.alternates),
                     answer=entry.answer, category=entry.category, source_url=entry.source_url or "",
                     reviewed_at=entry.reviewed_at.isoformat() if entry.reviewed_at else "")


def slug_from(question: str, taken: set[str]) -> str:
    """An id for a new entry whose admin left it empty: the question without diacritics."""
    base = re.sub(r"[^a-z0-9]+", "-", fold(question).lower()).strip("-")[:60].strip("-") or "muc"
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED_IDS:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def phrasings(text: str) -> list[str]:
    # "|" separates phrasings in CSV files: a phrasing holding one would split on the next import.
    return [part for line in text.splitlines() for part in line.split("|")]


def field_message(error: dict) -> str:
    if error["type"] == "value_error":
        return error["msg"].removeprefix("Value error, ").capitalize() + "."
    if error["loc"][0] == "reviewed_at":
        return "Ngày không đúng dạng năm-tháng-ngày."
    return "Giá trị không hợp lệ."


def to_item(form: EntryForm, faq_id: str) -> tuple[FaqItem | None, dict[str, str]]:
    """The entry the form describes, or the message for each refused field."""
    raw = {"id": faq_id, "question": form.question, "alternates": phrasings(form.alternates), "answer": form.answer,
           "category": form.category, "source_url": form.source_url, "reviewed_at": form.reviewed_at}
    length = len(clean(form.answer).strip())
    try:
        return FaqItem.model_validate(raw), {}
    except ValidationError as error:
        errors = {str(e["loc"][0]): field_message(e) for e in error.errors()}
        if length > MAX_ANSWER:
            errors["answer"] = (f"Câu trả lời dài {length} ký tự, quá giới hạn {MAX_ANSWER} ký tự của Zalo và "
                                f"Messenger. Vui lòng rút gọn rồi lưu lại.")
        return None, errors


def latest_revision(s: Session, faq_id: str) -> FaqRevision | None:
    return s.exec(select(FaqRevision).where(FaqRevision.faq_id == faq_id).order_by(FaqRevision.id.desc())).first()


# ---- history ---------------------------------------------------------------------------------

def as_text(value: object) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "có" if value else "không"
    return "" if value is None else str(value)


def diff_segments(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level changes as ("same" | "del" | "ins", text) runs; the template escapes the text."""
    a, b = re.findall(r"\s+|\S+", old), re.findall(r"\s+|\S+", new)
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("del", "".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("ins", "".join(b[j1:j2])))
    return runs


def history_rows(revisions: list[FaqRevision], zone: ZoneInfo) -> list[dict]:
    """Newest first, each with its diff against the revision before it."""
    rows, previous = [], {}
    for rev in revisions:
        fields = [f for f in store.FIELDS if as_text(previous.get(f)) != as_text(rev.snapshot.get(f))]
        rows.append({
            "id": rev.id, "author": rev.author, "action": ACTIONS.get(rev.action, rev.action),
            "when": aware(rev.created_at).astimezone(zone).strftime("%H:%M %d/%m/%Y"),
            "fields": ", ".join(LABELS.get(f, f) for f in rev.changed_fields),
            "diffs": [(LABELS[f], diff_segments(as_text(previous.get(f)), as_text(rev.snapshot.get(f))))
                      for f in fields],
            "first": not previous,
        })
        previous = rev.snapshot
    rows.reverse()
    return rows


# ---- import ----------------------------------------------------------------------------------

def plan_import(s: Session, items: list[FaqItem], replace: bool) -> Plan:
    """What `store.import_items` would do, field by field, with the same comparison as `store.save_item`."""
    existing = {e.id: e for e in store.all_entries(s)}
    plan = Plan()
    for item in items:
        entry = existing.get(item.id)
        if entry is None:
            plan.new.append(item)
            continue
        values = item.model_dump(exclude={"id"}) | {"active": True}
        changed = [f for f in store.FIELDS if getattr(entry, f) != values[f]]
        if changed:
            plan.changed.append((item, changed))
        else:
            plan.unchanged.append(item.id)
    if replace:
        wanted = {i.id for i in items}
        plan.retired = [e for faq_id, e in sorted(existing.items()) if faq_id not in wanted and e.active]
    return plan


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # url-safe: nothing to percent-encode in the form body


def decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError) as error:
        raise FaqFileError(["Tệp gửi lại bị hỏng, vui lòng tải tệp lên lần nữa."]) from error


# ---- lexicon ---------------------------------------------------------------------------------

def lexicon_term(text: str) -> str:
    """The form the dictionary keys on: lower case, one tone placement, words only."""
    return " ".join(words(text))


def check_lexicon(form: LexiconForm) -> tuple[LexiconRow | None, dict[str, str]]:
    term, expansion = lexicon_term(form.term), clean(form.expansion).strip()
    errors = {}
    if not term:
        errors["term"] = "Vui lòng nhập từ viết tắt."
    elif len(term) > 60:
        errors["term"] = "Từ dài quá 60 ký tự."
    if not expansion:
        errors["expansion"] = "Vui lòng nhập nghĩa đầy đủ."
    elif len(expansion) > 200:
        errors["expansion"] = "Nghĩa dài quá 200 ký tự."
    if errors:
        return None, errors
    return LexiconRow(term=term, expansion=expansion, at_end=clean(form.at_end).strip() or None, keep=form.keep), {}


# ---- routes ----------------------------------------------------------------------------------

def router(rt: Runtime, wake: Callable[[], None]) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    api.include_router(console_pages.router(rt))
    zone = ZoneInfo(rt.settings.timezone)

    def edit_page(request: Request, who: Principal, form: EntryForm, new: bool, status: int = 200,
                  errors: dict[str, str] | None = None, notice: str | None = None,
                  entry: FaqEntry | None = None) -> Response:
        with rt.session() as s:
            categories = sorted({e.category for e in store.all_entries(s) if e.category})
        return render(request, "faq_edit.html", who, status_code=status, form=form, new=new, errors=errors or {},
                      notice=notice, entry=entry, categories=categories, limit=MAX_ANSWER)

    @api.get("/admin/faq")
    def faq_list(request: Request, q: str = "", category: str = "", stale: bool = False,
                 inactive: bool = False, msg: str = "") -> Response:
        who = auth.require(rt, request, "admin")
        with rt.session() as s:
            entries = store.all_entries(s)
        today = rt.clock().date()
        rows = [{"entry": e, "stale": is_stale(e, today), "reviewed": show_date(e.reviewed_at)} for e in entries
                if (inactive or e.active) and (not category or e.category == category) and matches(e, q)]
        rows = [r for r in rows if r["stale"] or not stale]
        categories = sorted({e.category for e in entries if e.category})
        return render(request, "faq_list.html", who, rows=rows, total=len(entries), q=q, category=category,
                      stale=stale, inactive=inactive, categories=categories, notice=NOTICES.get(msg),
                      stale_days=STALE_DAYS)

    @api.get("/admin/faq/new")
    def new_form(request: Request) -> Response:
        who = auth.require(rt, request, "admin")
        return edit_page(request, who, EntryForm(reviewed_at=rt.clock().date().isoformat()), new=True)

    @api.post("/admin/faq/new")
    def create(request: Request, form: Annotated[EntryForm, Form()]) -> Response:
        who = auth.require_form(rt, request, form.csrf, "admin")
        with rt.session() as s:
            taken = {e.id for e in store.all_entries(s)}
            faq_id = form.id.strip() or slug_from(form.question, taken)
            item, errors = to_item(form, faq_id)
            if faq_id in taken or faq_id in RESERVED_IDS:
                errors["id"] = "Mã này đã có, vui lòng chọn mã khác."
            if errors:
                return edit_page(request, who, form, new=True, status=422, errors=errors)
            store.save_item(s, item, who.name)
            s.commit()
        return RedirectResponse(f"/admin/faq/{item.id}?msg=created", status_code=303)

    def import_result(request: Request, who: Principal, name: str, replace: bool, data: bytes = b"",
                      errors: list[str] | None = None, moved: bool = False) -> Response:
        """The preview of `data`, or the file's errors (nothing applied in either case)."""
        plan = None
        if not errors:
            try:
                items = read_items(data, Path(name).suffix)
            except FaqFileError as error:
                errors = error.problems
            else:
                with rt.session() as s:
                    plan = plan_import(s, items, replace)
        return render(request, "faq_import.html", who, status_code=422 if errors else 200, filename=name,
                      replace=replace, errors=errors or [], plan=plan, moved=moved, labels=LABELS,
                      data=encode(data) if plan else "", fingerprint=plan.fingerprint(data) if plan else "",
                      max_kb=MAX_UPLOAD // 1024)

    @api.get("/admin/faq/import")
    def import_page(request: Request) -> Response:
        who = auth.require(rt, request, "admin")
        return render(request, "faq_import.html", who, max_kb=MAX_UPLOAD // 1024)

    @api.post("/admin/faq/import")
    def preview(request: Request, csrf: str = Form(""), replace: bool = Form(False),
                file: UploadFile | None = File(None)) -> Response:
        who = auth.require_form(rt, request, csrf, "admin")
        data = file.file.read(MAX_UPLOAD + 1) if file is not None else b""
        name = Path(file.filename or "").name if file is not None else ""
        if not data:
            return import_result(request, who, name, replace, errors=["Vui lòng chọn một tệp .json, .csv hoặc .xlsx."])
        if len(data) > MAX_UPLOAD:
            return import_result(request, who, name, replace, errors=[f"Tệp lớn quá {MAX_UPLOAD // 1024} KB."])
        return import_result(request, who, name, replace, data=data)

    @api.post("/admin/faq/import/apply")
    def apply(request: Request, csrf: str = Form(""), data: str = Form(""), name: str = Form(""),
              replace: bool = Form(False), fingerprint: str = Form("")) -> Response:
        who = auth.require_form(rt, request, csrf, "admin")
        try:
            raw = decode(data)
            items = read_items(raw, Path(name).suffix)
        except FaqFileError as error:
            return import_result(request, who, name, replace, errors=error.problems)
        with rt.session() as s:
            if plan_import(s, items, replace).fingerprint(raw) != fingerprint:
                return import_result(request, who, name, replace, data=raw, moved=True)
            report = store.import_items(s, items, who.name, replace=replace)
            s.commit()
        return render(request, "faq_import.html", who, filename=name, report=report, max_kb=MAX_UPLOAD // 1024)

    @api.get("/admin/faq/export/{fmt}")
    def export(request: Request, fmt: str) -> Response:
        auth.require(rt, request, "admin")
        if fmt not in EXPORTS:
            raise HTTPException(404, "Chỉ xuất được json, csv hoặc xlsx.")
        with rt.session() as s:
            items = [store.to_item(e) for e in store.active_entries(s)]
        filename = f"hoi-dap-{rt.clock().date().isoformat()}.{fmt}"
        return Response(write_items(items, f".{fmt}"), media_type=EXPORTS[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def lexicon_view(request: Request, who: Principal, form: LexiconForm, status: int = 200,
                     errors: dict[str, str] | None = None, notice: str | None = None,
                     prefill: bool = False) -> Response:
        shipped = sorted(lexicon_rows(), key=lambda r: r.term)
        with rt.session() as s:
            ours = list(s.exec(select(LexiconRow).order_by(LexiconRow.term)))
        if prefill and form.term:  # "Sửa" on a row fills the form with that row
            row = next((r for r in [*ours, *shipped] if r.term == form.term), None)
            if row is not None:
                form = LexiconForm(term=row.term, expansion=row.expansion, at_end=row.at_end or "", keep=row.keep)
        overridden = {r.term for r in ours}
        return render(request, "faq_lexicon.html", who, status_code=status, form=form, errors=errors or {},
                      notice=notice, ours=ours, shipped=shipped, overridden=overridden)

    @api.get("/admin/lexicon")
    def lexicon_page(request: Request, edit: str = "", msg: str = "") -> Response:
        who = auth.require(rt, request, "admin")
        return lexicon_view(request, who, LexiconForm(term=edit), notice=NOTICES.get(msg), prefill=True)

    @api.post("/admin/lexicon")
    def lexicon_save(request: Request, form: Annotated[LexiconForm, Form()]) -> Response:
        who = auth.require_form(rt, request, form.csrf, "admin")
        row, errors = check_lexicon(form)
        if errors:
            return lexicon_view(request, who, form, status=422, errors=errors)
        with rt.session() as s:
            s.merge(row)
            store.bump_version(s)  # the matcher rebuilds with the new word at the next message
            s.commit()
        return RedirectResponse("/admin/lexicon?msg=lexicon-saved", status_code=303)

    @api.post("/admin/lexicon/delete")
    def lexicon_delete(request: Request, csrf: str = Form(""), term: str = Form("")) -> Response:
        auth.require_form(rt, request, csrf, "admin")
        with rt.session() as s:
            row = s.get(LexiconRow, term)
            if row is not None:
                s.delete(row)
                store.bump_version(s)
                s.commit()
        return RedirectResponse("/admin/lexicon?msg=lexicon-deleted", status_code=303)

    @api.get("/admin/faq/{faq_id}")
    def edit_form(request: Request, faq_id: PathText, msg: str = "") -> Response:
        who = auth.require(rt, request, "admin")
        with rt.session() as s:
            entry = s.get(FaqEntry, faq_id)
            if entry is None:
                raise HTTPException(404, "Không có mục hỏi đáp này.")
            latest = latest_revision(s, faq_id)
        form = form_of(entry).model_copy(update={"base": str(latest.id) if latest else ""})
        return edit_page(request, who, form, new=False, notice=NOTICES.get(msg), entry=entry)

    @api.post("/admin/faq/{faq_id}")
    def save(request: Request, faq_id: PathText, form: Annotated[EntryForm, Form()]) -> Response:
        who = auth.require_form(rt, request, form.csrf, "admin")
        with rt.session() as s:
            entry = s.get(FaqEntry, faq_id)
            if entry is None:
                raise HTTPException(404, "Không có mục hỏi đáp này.")
            item, errors = to_item(form, faq_id)
            latest = latest_revision(s, faq_id)
            if latest is not None and form.base and form.base != str(latest.id):
                errors["form"] = (f"Trong lúc bạn sửa, {latest.author} đã lưu một bản khác. Vui lòng xem lịch sử; "
                                  f"bấm Lưu lần nữa sẽ ghi đè bản đó bằng nội dung bên dưới.")
                form = form.model_copy(update={"base": str(latest.id)})
            if errors:
                return edit_page(request, who, form, new=False, status=422, errors=errors, entry=entry)
            changed = store.save_item(s, item, who.name)
            s.commit()
        return RedirectResponse(f"/admin/faq/{faq_id}?msg={'saved' if changed else 'unchanged'}", status_code=303)

    @api.post("/admin/faq/{faq_id}/deactivate")
    def deactivate(request: Request, faq_id: PathText, csrf: str = Form("")) -> Response:
        who = auth.require_form(rt, request, csrf, "admin")
        with rt.session() as s:
            if s.get(FaqEntry, faq_id) is None:
                raise HTTPException(404, "Không có mục hỏi đáp này.")
            store.deactivate(s, faq_id, who.name)
            s.commit()
        return RedirectResponse(f"/admin/faq/{faq_id}?msg=deactivated", status_code=303)

    @api.get("/admin/faq/{faq_id}/history")
    def history(request: Request, faq_id: PathText, msg: str = "") -> Response:
        who = auth.require(rt, request, "admin")
        with rt.session() as s:
            entry = s.get(FaqEntry, faq_id)
            revisions = list(s.exec(select(FaqRevision).where(FaqRevision.faq_id == faq_id).order_by(FaqRevision.id)))
        if entry is None:
            raise HTTPException(404, "Không có mục hỏi đáp này.")
        return render(request, "faq_history.html", who, entry=entry, rows=history_rows(revisions, zone),
                      notice=NOTICES.get(msg))

    @api.post("/admin/faq/{faq_id}/restore")
    def restore(request: Request, faq_id: PathText, csrf: str = Form(""), revision: int = Form(0)) -> Response:
        who = auth.require_form(rt, request, csrf, "admin")
        with rt.session() as s:
            old = s.get(FaqRevision, revision)
            if old is None or old.faq_id != faq_id:
                raise HTTPException(404, "Không có bản này trong lịch sử.")
            changed = store.save_item(s, FaqItem.model_validate(old.snapshot), who.name, label="restored")
            s.commit()
        return RedirectResponse(f"/admin/faq/{faq_id}/history?msg={'restored' if changed else 'unchanged'}",
                                status_code=303)

    return api
