"""The FAQ editor, its history, import/export, the dictionary and the test console, through the web pages."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from markupsafe import escape
from sqlmodel import select

from knowledge import store
from knowledge.models import FaqEntry, FaqRevision
from knowledge.transfer import read_items

ENTRY = "vneid-quen-mat-khau"
NEW_ANSWER = "Dạ, bác bấm Quên mật khẩu trên app VNeID ạ."
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # three days after the shipped entries were reviewed


@pytest.fixture(autouse=True)
def fixed_clock(web_app):
    web_app.state.runtime.clock = lambda: NOW


def runtime(client):
    return client.app.state.runtime


def csrf(client) -> str:
    return client.headers["X-CSRF-Token"]


def entry(client, faq_id: str = ENTRY) -> FaqEntry | None:
    with runtime(client).session() as s:
        return s.get(FaqEntry, faq_id)


def entry_form(client, faq_id: str = ENTRY, **changes) -> dict:
    """The edit form of an entry as the page would post it, with `changes` typed in."""
    page = client.get(f"/admin/faq/{faq_id}").text
    current = entry(client, faq_id)
    base = re.search(r'name="base" value="([^"]*)"', page).group(1)
    return {"csrf": csrf(client), "base": base, "question": current.question,
            "alternates": "\n".join(current.alternates), "answer": current.answer, "category": current.category,
            "source_url": current.source_url or "", "reviewed_at": str(current.reviewed_at or ""), **changes}


def hidden(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def version(client) -> int:
    with runtime(client).session() as s:
        return store.version(s)


# ---- who may see what ---------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/admin/faq", f"/admin/faq/{ENTRY}", f"/admin/faq/{ENTRY}/history", "/admin/faq/new",
                                 "/admin/faq/import", "/admin/faq/export/csv", "/admin/lexicon"])
def test_a_member_is_refused_the_editor_pages(as_member, url):
    assert as_member.get(url).status_code == 403


def test_a_member_cannot_save_an_entry(as_member):
    response = as_member.post(f"/admin/faq/{ENTRY}", data={"csrf": csrf(as_member), "question": "x", "answer": "y"})
    assert response.status_code == 403 and entry(as_member).question != "x"


def test_anonymous_visitors_are_sent_to_the_login_page(anonymous):
    response = anonymous.get("/admin/faq?q=vneid", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login?next=/admin/faq")
    assert anonymous.post("/admin/console/ask", data={"text": "hi"}, follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(as_admin):
    form = entry_form(as_admin, answer="Đổi mà không có mã CSRF.") | {"csrf": "sai"}
    assert as_admin.post(f"/admin/faq/{ENTRY}", data=form).status_code == 403
    assert entry(as_admin).answer != "Đổi mà không có mã CSRF."


def test_a_member_can_use_the_console_but_gets_no_editor_links(as_member):
    page = as_member.post("/admin/console/ask", data={"csrf": csrf(as_member), "text": "quen mk vneid"}).text
    assert "Quên mật khẩu đăng nhập VNeID" in page and f'href="/admin/faq/{ENTRY}"' not in page


# ---- the list -----------------------------------------------------------------------------------

def test_search_without_diacritics_finds_accented_questions(as_admin):
    page = as_admin.get("/admin/faq", params={"q": "quen mat khau"}).text
    assert ENTRY in page and "tt-quen-mat-khau" in page and "can-cuoc-lam-moi" not in page


def test_the_category_filter_keeps_one_topic(as_admin):
    page = as_admin.get("/admin/faq", params={"category": "can-cuoc"}).text
    ids = set(re.findall(r'href="/admin/faq/([a-z0-9.-]+)"', page)) - {"new", "import"}
    assert ids and all(i.startswith("can-cuoc-") for i in ids)


def test_entries_not_reviewed_for_180_days_are_flagged(as_admin):
    with runtime(as_admin).session() as s:
        store.save_item(s, store.to_item(s.get(FaqEntry, ENTRY)).model_copy(
            update={"reviewed_at": NOW.date() - timedelta(days=181)}), "test")
        store.save_item(s, store.to_item(s.get(FaqEntry, "tt-quen-mat-khau")).model_copy(
            update={"reviewed_at": None}), "test")
        store.save_item(s, store.to_item(s.get(FaqEntry, "vneid-cai-dat")).model_copy(
            update={"reviewed_at": NOW.date() - timedelta(days=180)}), "test")
        s.commit()
    page = as_admin.get("/admin/faq").text
    assert page.count("badge warn") == 2
    flagged = as_admin.get("/admin/faq", params={"stale": "1"}).text
    assert ENTRY in flagged and "tt-quen-mat-khau" in flagged and "vneid-cai-dat" not in flagged


# ---- editing ------------------------------------------------------------------------------------

def test_an_edited_answer_is_what_the_bot_answers_at_once(as_admin):
    as_admin.get("/admin/console")  # the matcher is built before the edit
    new_answer = "Dạ, bác bấm “Quên mật khẩu” trên app VNeID rồi nhập mã OTP gửi về máy ạ."
    response = as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, answer=new_answer))
    assert response.status_code == 200 and "Đã lưu" in response.text
    outcome = runtime(as_admin).knowledge().ask("quên mật khẩu vneid")
    assert outcome.decision.faq_id == ENTRY and outcome.reply == new_answer
    with runtime(as_admin).session() as s:
        last = s.exec(select(FaqRevision).where(FaqRevision.faq_id == ENTRY).order_by(FaqRevision.id.desc())).first()
    assert last.author == "admin" and last.changed_fields == ["answer"]


def test_phrasings_are_one_per_line(as_admin):
    as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, alternates="qen pass vneid\r\n\r\nmat mk dinh danh"))
    assert entry(as_admin).alternates == ["qen pass vneid", "mat mk dinh danh"]


def test_a_too_long_answer_is_refused_and_the_form_keeps_what_was_typed(as_admin):
    before = version(as_admin)
    typed = "Dạ " + "rất dài " * 300
    response = as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, answer=typed, question="Câu hỏi mới"))
    assert response.status_code == 422
    assert "quá giới hạn 2000 ký tự" in response.text and str(escape(typed.strip())) in response.text
    assert 'value="Câu hỏi mới"' in response.text
    assert entry(as_admin).question != "Câu hỏi mới" and version(as_admin) == before


def test_a_bad_date_and_an_empty_question_are_shown_beside_their_fields(as_admin):
    response = as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, question="  ", reviewed_at="31/02/2026"))
    assert response.status_code == 422
    assert "Không được để trống." in response.text and "Ngày không đúng dạng" in response.text


def test_saving_over_another_admins_newer_save_asks_first(as_admin):
    stale_form = entry_form(as_admin, answer="Bản của người thứ hai.")
    as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, answer="Bản của người thứ nhất."))
    response = as_admin.post(f"/admin/faq/{ENTRY}", data=stale_form)
    assert response.status_code == 422 and "đã lưu một bản khác" in response.text
    assert entry(as_admin).answer == "Bản của người thứ nhất."
    as_admin.post(f"/admin/faq/{ENTRY}", data=stale_form | {"base": hidden(response.text, "base")})
    assert entry(as_admin).answer == "Bản của người thứ hai."


def test_a_new_entry_gets_an_id_from_its_question_and_answers_at_once(as_admin):
    form = {"csrf": csrf(as_admin), "question": "Đăng ký xe máy online thế nào?", "alternates": "dang ky xe may",
            "answer": "Dạ, bác vào Cổng dịch vụ công, chọn “Đăng ký xe” ạ.", "category": "dich-vu-cong"}
    response = as_admin.post("/admin/faq/new", data=form, follow_redirects=False)
    assert response.headers["location"] == "/admin/faq/dang-ky-xe-may-online-the-nao?msg=created"
    assert runtime(as_admin).knowledge().ask("đăng ký xe máy online").decision.faq_id == "dang-ky-xe-may-online-the-nao"
    again = as_admin.post("/admin/faq/new", data=form | {"id": "dang-ky-xe-may-online-the-nao"})
    assert again.status_code == 422 and "Mã này đã có" in again.text


def test_a_deactivated_entry_is_no_longer_answered(as_admin):
    response = as_admin.post(f"/admin/faq/{ENTRY}/deactivate", data={"csrf": csrf(as_admin)})
    assert "Đã ngừng dùng" in response.text and not entry(as_admin).active
    assert runtime(as_admin).knowledge().ask("quên mật khẩu vneid").decision.faq_id != ENTRY
    assert ENTRY not in as_admin.get("/admin/faq").text
    assert ENTRY in as_admin.get("/admin/faq", params={"inactive": "1"}).text


# ---- history ------------------------------------------------------------------------------------

def test_history_shows_who_changed_what_with_a_word_diff_and_restores(as_admin):
    original = entry(as_admin).answer
    edited = original.replace("Quên mật khẩu", "Lấy lại mật khẩu", 1)
    as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, answer=edited))
    page = as_admin.get(f"/admin/faq/{ENTRY}/history").text
    assert "Sửa</strong> · admin" in page and "Thay đổi: Câu trả lời" in page
    assert "<del>&#34;Quên</del>" in page and "<ins>&#34;Lấy lại</ins>" in page
    first = re.findall(r'name="revision" value="(\d+)"', page)[-1]
    response = as_admin.post(f"/admin/faq/{ENTRY}/restore", data={"csrf": csrf(as_admin), "revision": first})
    assert "Đã khôi phục" in response.text and "Khôi phục</strong> · admin" in response.text
    assert entry(as_admin).answer == original
    assert runtime(as_admin).knowledge().ask("quên mật khẩu vneid").reply == original


def test_restoring_a_revision_of_another_entry_is_refused(as_admin):
    with runtime(as_admin).session() as s:
        other = s.exec(select(FaqRevision).where(FaqRevision.faq_id == "vneid-cai-dat")).first()
    response = as_admin.post(f"/admin/faq/{ENTRY}/restore", data={"csrf": csrf(as_admin), "revision": other.id})
    assert response.status_code == 404


# ---- import and export --------------------------------------------------------------------------

def exported_rows(client) -> list[dict]:
    data = client.get("/admin/faq/export/csv").content
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, data: bytes, name: str = "faq.csv", replace: bool = False):
    fields = {"csrf": csrf(client)} | ({"replace": "1"} if replace else {})
    return client.post("/admin/faq/import", data=fields, files={"file": (name, data, "text/csv")})


def apply(client, preview: str):
    fields = {name: hidden(preview, name) for name in ("csrf", "name", "data", "fingerprint")}
    if 'name="replace" value="1"' in preview:
        fields["replace"] = "1"
    return client.post("/admin/faq/import/apply", data=fields)


def edited_file(client) -> tuple[bytes, int]:
    """The export with one answer changed, one entry left out and one new entry."""
    rows = exported_rows(client)
    changed = next(r for r in rows if r["id"] == ENTRY)
    changed["answer"] = NEW_ANSWER
    rows = [r for r in rows if r["id"] != "vneid-cai-dat"]
    rows.append({**rows[0], "id": "xe-may-online", "question": "Đăng ký xe máy online?", "alternates": "",
                 "answer": "Dạ, bác vào Cổng dịch vụ công ạ."})
    return as_csv(rows), len(rows)


def test_the_import_preview_lists_the_changes_and_applying_does_exactly_that(as_admin):
    data, count = edited_file(as_admin)
    before = version(as_admin)
    preview = upload(as_admin, data, replace=True).text
    assert "1 mục mới" in preview and "1 mục thay đổi" in preview and f"{count - 2} mục giữ nguyên" in preview
    assert "1 mục sẽ ngừng dùng" in preview
    assert re.search(rf"<code>{ENTRY}</code>.*\(Câu trả lời\)", preview, re.S)
    assert "<code>xe-may-online</code>" in preview and "<code>vneid-cai-dat</code>" in preview
    assert version(as_admin) == before and entry(as_admin, "xe-may-online") is None  # nothing applied yet

    done = apply(as_admin, preview).text
    assert "1 mục mới, 1 mục sửa," in done and f"{count - 2} giữ nguyên, 1 ngừng dùng" in done
    assert entry(as_admin, "xe-may-online").active and not entry(as_admin, "vneid-cai-dat").active
    assert entry(as_admin).answer == NEW_ANSWER


def test_without_replace_missing_entries_stay(as_admin):
    data, _ = edited_file(as_admin)
    preview = upload(as_admin, data).text
    assert "ngừng dùng" not in preview.split("Xem trước")[1].split("Áp dụng")[0]
    apply(as_admin, preview)
    assert entry(as_admin, "vneid-cai-dat").active


def test_applying_is_refused_when_the_faq_moved_since_the_preview(as_admin):
    data, _ = edited_file(as_admin)
    preview = upload(as_admin, data).text
    as_admin.post(f"/admin/faq/{ENTRY}", data=entry_form(as_admin, answer=NEW_ANSWER))
    response = apply(as_admin, preview)
    assert "vừa thay đổi sau lần xem trước" in response.text and "0 mục thay đổi" in response.text
    assert entry(as_admin, "xe-may-online") is None


def test_a_broken_csv_shows_its_line_number_and_changes_nothing(as_admin):
    rows = exported_rows(as_admin)[:3]
    rows[0]["answer"] = "Dạ, câu trả lời đổi."
    rows[1]["answer"] = ""
    before = version(as_admin)
    response = upload(as_admin, as_csv(rows), replace=True)
    assert response.status_code == 422
    assert re.search(r"dòng 3: answer: .*không được để trống", response.text) and "Chưa thay đổi gì" in response.text
    assert 'action="/admin/faq/import/apply"' not in response.text
    assert version(as_admin) == before and entry(as_admin, rows[0]["id"]).answer != "Dạ, câu trả lời đổi."


def test_an_unknown_file_type_and_an_empty_upload_are_explained(as_admin):
    assert "không hỗ trợ" in upload(as_admin, b"id,question", name="faq.txt").text
    assert "Vui lòng chọn một tệp" in upload(as_admin, b"").text


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_exports_download_every_active_entry(as_admin, fmt):
    response = as_admin.get(f"/admin/faq/export/{fmt}")
    assert response.headers["content-disposition"] == f'attachment; filename="hoi-dap-2026-12-01.{fmt}"'
    assert len(read_items(response.content, f".{fmt}")) == 54


def test_a_json_and_an_xlsx_upload_preview_too(as_admin):
    for fmt in ("json", "xlsx"):
        preview = upload(as_admin, as_admin.get(f"/admin/faq/export/{fmt}").content, name=f"faq.{fmt}").text
        assert "54 mục giữ nguyên" in preview


# ---- the dictionary -----------------------------------------------------------------------------

def test_a_dictionary_row_changes_matching_at_once_and_can_be_removed(as_admin):
    kb = runtime(as_admin).knowledge
    assert kb().ask("qmk vneid").decision.kind != "answer"
    row = {"csrf": csrf(as_admin), "term": "QMK", "expansion": "quên mật khẩu"}
    response = as_admin.post("/admin/lexicon", data=row)
    assert "Đã lưu từ" in response.text and "<code>qmk</code>" in response.text
    outcome = kb().ask("qmk vneid")
    assert outcome.decision.kind == "answer" and outcome.decision.faq_id == ENTRY
    as_admin.post("/admin/lexicon/delete", data={"csrf": csrf(as_admin), "term": "qmk"})
    assert kb().ask("qmk vneid").decision.kind != "answer"


def test_a_shipped_row_can_be_overridden_and_an_empty_one_is_refused(as_admin):
    page = as_admin.get("/admin/lexicon", params={"edit": "mk"}).text
    assert 'name="term" value="mk"' in page and 'name="expansion" value="mật khẩu"' in page
    as_admin.post("/admin/lexicon", data={"csrf": csrf(as_admin), "term": "mk", "expansion": "mã khoá", "keep": "1"})
    assert "đội đã sửa" in as_admin.get("/admin/lexicon").text
    refused = as_admin.post("/admin/lexicon", data={"csrf": csrf(as_admin), "term": "!!", "expansion": ""})
    assert refused.status_code == 422 and "Vui lòng nhập từ viết tắt" in refused.text


# ---- the test console ---------------------------------------------------------------------------

def test_the_console_shows_the_reading_the_decision_the_top_five_and_the_reply(as_admin):
    form = {"csrf": csrf(as_admin), "text": "Quên MK vneid", "context": "private"}
    page = as_admin.post("/admin/console/ask", data=form).text
    answer = entry(as_admin).answer
    assert "quên mật khẩu vneid" in page and "Trả lời bằng một mục hỏi đáp" in page
    assert str(escape(answer)) in page and "gọi tên người hỏi" not in page
    broad = as_admin.post("/admin/console/ask", data={"csrf": csrf(as_admin), "text": "làm sao đăng ký tài khoản"}).text
    assert 1 <= broad.split('class="candidates"')[1].split("</ol>")[0].count("<li>") <= 5


def test_the_console_in_group_mode_notes_the_mention_and_stays_quiet_on_chatter(as_admin):
    page = as_admin.post("/admin/console/ask", data={"csrf": csrf(as_admin), "text": "quên mật khẩu vneid thì làm sao",
                                                     "context": "group"}).text
    assert "Trong nhóm sẽ gọi tên người hỏi" in page
    chatter = as_admin.post("/admin/console/ask", data={"csrf": csrf(as_admin), "text": "hôm nay trời đẹp quá",
                                                        "context": "group"}).text
    assert "Bot không trả lời tin này" in chatter and "Im lặng" in chatter


# ---- escaping -----------------------------------------------------------------------------------

def test_an_xss_payload_is_shown_as_text_everywhere(as_admin):
    payload = "<script>alert(1)</script>"
    form = {"csrf": csrf(as_admin), "id": "xss", "question": f"Hỏi {payload}", "alternates": payload,
            "answer": f"Dạ <img src=x onerror=alert(1)> {payload}", "category": payload}
    as_admin.post("/admin/faq/new", data=form)
    pages = [as_admin.get("/admin/faq").text, as_admin.get("/admin/faq/xss").text,
             as_admin.get("/admin/faq/xss/history").text,
             as_admin.post("/admin/console/ask", data={"csrf": csrf(as_admin), "text": payload}).text,
             as_admin.post("/admin/console/ask", data={"csrf": csrf(as_admin), "text": "hỏi script alert"}).text]
    for page in pages:
        assert payload not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0] and "&lt;img src=x onerror=alert(1)&gt;" in pages[1]


@pytest.mark.parametrize("path", ["/admin/faq/%00", "/admin/faq/a%00/history", "/admin/inbox/entries/%00"])
def test_an_id_with_a_nul_is_simply_not_found(as_admin, path):
    assert as_admin.get(path).status_code == 404
