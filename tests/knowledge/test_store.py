"""The FAQ in the database: seeded once, every change a revision, imports that can replace."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.runtime import Runtime
from bot.settings import Settings
from knowledge import store
from knowledge.models import FaqEntry, FaqRevision
from knowledge.shipped import faq_files
from knowledge.transfer import FaqItem, read_file

SHIPPED_IDS = sorted(item.id for path in faq_files() for item in read_file(path))


def item(faq_id: str = "moi", **fields) -> FaqItem:
    values = {"question": "Đăng ký xe máy online thế nào?", "answer": "Dạ, bác vào Cổng dịch vụ công ạ.",
              "category": "dich-vu-cong", "alternates": ["dang ky xe online"]} | fields
    return FaqItem(id=faq_id, **values)


def revisions(session, faq_id: str) -> list[FaqRevision]:
    return list(session.exec(select(FaqRevision).where(FaqRevision.faq_id == faq_id).order_by(FaqRevision.id)))


def count_revisions(session) -> int:
    return len(session.exec(select(FaqRevision)).all())


# --- seeding -----------------------------------------------------------------------------------


def test_first_start_seeds_every_shipped_entry(session):
    assert len(SHIPPED_IDS) == 54
    assert [e.id for e in store.active_entries(session)] == SHIPPED_IDS


def test_seeded_entries_have_a_created_revision_by_seed(session):
    first = SHIPPED_IDS[0]
    [rev] = revisions(session, first)
    assert (rev.author, rev.action) == ("seed", "created")
    assert rev.snapshot["id"] == first and rev.snapshot["active"] is True


def test_second_start_on_the_same_database_does_not_reseed(runtime, settings, session):
    before = (store.version(session), count_revisions(session))
    again = Runtime.start(settings)
    again.engine.dispose()
    with runtime.session() as s:
        assert (store.version(s), count_revisions(s)) == before


def test_entries_an_admin_deactivated_stay_deactivated_after_restart(runtime, settings, session):
    assert store.deactivate(session, "vneid-cai-dat", author="admin")
    session.commit()
    Runtime.start(settings).engine.dispose()
    with runtime.session() as s:
        assert s.get(FaqEntry, "vneid-cai-dat").active is False
        assert "vneid-cai-dat" not in runtime.knowledge(s).entries


def test_entries_an_admin_edited_keep_the_edit_after_restart(runtime, settings, session):
    edited = store.to_item(session.get(FaqEntry, "vneid-cai-dat")).model_copy(update={"answer": "Đáp án của tổ."})
    store.save_item(session, edited, author="admin")
    session.commit()
    Runtime.start(settings).engine.dispose()
    with runtime.session() as s:
        assert s.get(FaqEntry, "vneid-cai-dat").answer == "Đáp án của tổ."


def test_seeding_can_be_switched_off(tmp_path):
    rt = Runtime.start(Settings(database_url=f"sqlite:///{tmp_path}/empty.db", seed_faq=False, _env_file=None))
    try:
        with rt.session() as s:
            assert store.all_entries(s) == []
    finally:
        rt.engine.dispose()


def test_seeded_entry_reads_back_as_the_shipped_item(session):
    shipped = {i.id: i for path in faq_files() for i in read_file(path)}
    entry = session.get(FaqEntry, "vneid-quen-mat-khau")
    assert store.to_item(entry) == shipped["vneid-quen-mat-khau"]


def test_seeded_answers_keep_their_line_breaks(session):
    answer = session.get(FaqEntry, "vneid-cai-dat").answer
    assert "Cách cài:\n1. " in answer


# --- save_item and revisions ---------------------------------------------------------------


def test_saving_a_new_entry_creates_it_with_a_created_revision(session):
    before = store.version(session)
    changed = store.save_item(session, item(reviewed_at=date(2025, 1, 2)), author="lan")
    session.commit()
    assert set(changed) == set(store.FIELDS)
    [rev] = revisions(session, "moi")
    assert (rev.author, rev.action) == ("lan", "created")
    assert rev.snapshot["question"] == "Đăng ký xe máy online thế nào?"
    assert rev.snapshot["reviewed_at"] == "2025-01-02"
    assert store.version(session) == before + 1
    assert store.to_item(session.get(FaqEntry, "moi")) == item(reviewed_at=date(2025, 1, 2))


def test_saving_an_unchanged_entry_makes_no_revision_and_keeps_the_version(session):
    store.save_item(session, item(), author="lan")
    session.commit()
    before = (store.version(session), count_revisions(session))
    assert store.save_item(session, item(), author="hung") == []
    session.commit()
    assert (store.version(session), count_revisions(session)) == before


def test_changing_an_entry_records_author_and_only_the_changed_fields(session):
    store.save_item(session, item(), author="lan")
    session.commit()
    before = store.version(session)
    changed = store.save_item(session, item(answer="Dạ, câu trả lời mới ạ.", alternates=["khac"]), author="hung")
    session.commit()
    assert sorted(changed) == ["alternates", "answer"]
    last = revisions(session, "moi")[-1]
    assert (last.author, last.action, sorted(last.changed_fields)) == ("hung", "updated", ["alternates", "answer"])
    assert last.snapshot["answer"] == "Dạ, câu trả lời mới ạ."
    assert store.version(session) == before + 1
    assert session.get(FaqEntry, "moi").answer == "Dạ, câu trả lời mới ạ."


def test_deactivating_records_a_revision_and_only_once(session):
    before = store.version(session)
    assert store.deactivate(session, "vneid-cai-dat", author="lan") is True
    assert store.deactivate(session, "vneid-cai-dat", author="lan") is False
    assert store.deactivate(session, "khong-co", author="lan") is False
    session.commit()
    last = revisions(session, "vneid-cai-dat")[-1]
    assert (last.author, last.action, last.changed_fields) == ("lan", "deactivated", ["active"])
    assert store.version(session) == before + 1
    assert "vneid-cai-dat" not in [e.id for e in store.active_entries(session)]


def test_saving_a_deactivated_entry_makes_it_active_again(session):
    entry = store.to_item(session.get(FaqEntry, "vneid-cai-dat"))
    store.deactivate(session, "vneid-cai-dat", author="lan")
    assert store.save_item(session, entry, author="lan") == ["active"]
    session.commit()
    assert session.get(FaqEntry, "vneid-cai-dat").active is True


def test_a_committed_change_reaches_the_next_knowledge_snapshot(runtime, session):
    old = runtime.knowledge(session)
    store.save_item(session, item("xe-may", question="Đăng ký xe máy trực tuyến", alternates=[]), author="lan")
    session.commit()
    new = runtime.knowledge()
    assert "xe-may" not in old.entries and "xe-may" in new.entries


# --- import_items ----------------------------------------------------------------------------


def test_import_counts_created_updated_and_unchanged(session):
    unchanged = store.to_item(session.get(FaqEntry, "vneid-cai-dat"))
    updated = store.to_item(session.get(FaqEntry, "vneid-quen-mat-khau")).model_copy(update={"answer": "Mới ạ."})
    report = store.import_items(session, [unchanged, updated, item("moi")], author="cli")
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (1, 1, 1, 0)


def test_import_without_replace_leaves_absent_entries_active(session):
    store.import_items(session, [item("moi")], author="cli")
    session.commit()
    assert len(store.active_entries(session)) == 55


def test_import_with_replace_deactivates_entries_absent_from_the_file(session):
    keep = store.to_item(session.get(FaqEntry, "vneid-cai-dat"))
    report = store.import_items(session, [keep, item("moi")], author="cli", replace=True)
    session.commit()
    assert report.deactivated == 53
    assert [e.id for e in store.active_entries(session)] == ["moi", "vneid-cai-dat"]
    assert len(store.all_entries(session)) == 55  # deactivated, not deleted
    assert revisions(session, "vneid-quen-mat-khau")[-1].action == "deactivated"


def test_replace_does_not_count_entries_that_were_already_inactive(session):
    store.deactivate(session, "vneid-quen-mat-khau", author="admin")
    report = store.import_items(session, [item("moi")], author="cli", replace=True)
    assert report.deactivated == 53


def test_replace_with_the_whole_faq_deactivates_nothing(session):
    everything = [store.to_item(e) for e in store.active_entries(session)]
    before = store.version(session)
    report = store.import_items(session, everything, author="cli", replace=True)
    assert (report.unchanged, report.deactivated, report.created, report.updated) == (54, 0, 0, 0)
    assert store.version(session) == before
