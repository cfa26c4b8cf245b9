"""The shipped FAQ covers every topic of faq-topics.md, within the limits, with real phrasings."""

import re
from pathlib import Path

import pytest

from knowledge.normalize import fold, normalize
from knowledge.shipped import faq_files, shipped_lexicon, shipped_out_of_scope
from knowledge.transfer import read_file

TOPICS_FILE = Path(__file__).resolve().parents[3] / "shared" / "faq-topics.md"
ITEMS = [item for path in faq_files() for item in read_file(path)]
CATEGORIES = {"vneid", "can-cuoc", "dich-vu-cong", "bao-hiem", "thanh-toan", "ky-nang-so"}


def topic_ids() -> set[str]:
    if not TOPICS_FILE.exists():
        pytest.skip(f"{TOPICS_FILE} not present")
    return set(re.findall(r"^\| ([a-z0-9-]+) \|", TOPICS_FILE.read_text(encoding="utf-8"), re.MULTILINE)) - {"id"}


def test_every_topic_is_present_exactly_once():
    ids = [i.id for i in ITEMS]
    assert len(ids) == len(set(ids))
    assert topic_ids() <= set(ids)
    assert len(topic_ids()) == 54


def test_categories_are_the_six_of_the_topics():
    assert {i.category for i in ITEMS} == CATEGORIES


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.id)
def test_entry_is_complete_and_within_limits(item):
    assert item.answer.startswith("Dạ")
    assert len(item.answer) <= 1000
    assert item.source_url and item.source_url.startswith(("https://", "http://"))
    assert item.reviewed_at is not None
    assert len(item.alternates) >= 8


def test_no_phrasing_is_shared_by_two_entries():
    owner: dict[str, str] = {}
    lexicon = shipped_lexicon()
    for item in ITEMS:
        for phrasing in {normalize(p, lexicon).folded_text for p in [item.question, *item.alternates]}:
            assert owner.setdefault(phrasing, item.id) == item.id, f"{phrasing!r}: {owner[phrasing]} and {item.id}"


def test_phrasings_are_written_with_and_without_diacritics():
    for item in ITEMS:
        plain = sum(1 for p in item.alternates if fold(p) == p)
        assert 0 < plain < len(item.alternates), item.id


def test_answers_never_ask_for_personal_secrets():
    for item in ITEMS:
        assert not re.search(r"(gửi|nhắn|cho) (cháu|em|tổ) (mã OTP|mật khẩu|số căn cước)", item.answer), item.id


def test_out_of_scope_topics_are_slugs_with_real_phrasings_that_no_entry_shares():
    topics = shipped_out_of_scope()
    assert len(topics) >= 30
    lexicon = shipped_lexicon()
    faq = {normalize(p, lexicon).folded_text for item in ITEMS for p in [item.question, *item.alternates]}
    for slug, phrasings in topics.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
        assert len(phrasings) >= 8 and len(set(phrasings)) == len(phrasings), slug
        assert not faq & {normalize(p, lexicon).folded_text for p in phrasings}, slug


def test_no_out_of_scope_phrasing_is_answered_and_no_entry_phrasing_is_taken_for_one(tmp_path):
    from bot.runtime import Runtime
    from bot.settings import Settings
    from knowledge.decide import in_scope

    rt = Runtime.start(Settings(database_url=f"sqlite:///{tmp_path}/kb.db", _env_file=None, seed_admin=False))
    kb = rt.knowledge()
    rt.engine.dispose()
    for slug, phrasings in shipped_out_of_scope().items():
        for phrasing in phrasings:
            assert kb.ask(phrasing).decision.kind != "answer", (slug, phrasing)
    for entry in kb.entries.values():
        for phrasing in entry.phrasings:
            assert in_scope(kb.matcher.search(phrasing, k=1).candidates[0].faq_id), (entry.id, phrasing)
