"""The classifier's second opinion: which entry's phrasings, taken together, explain a message's words."""

import pytest

from knowledge.classifier import NaiveBayes
from knowledge.matcher import Matcher
from knowledge.normalize import normalize

ENTRIES = [
    ("can-cuoc-het-han", ["thẻ căn cước hết hạn khi nào", "mấy tuổi phải đổi thẻ căn cước", "đủ 25 tuổi đi đổi thẻ",
                          "thẻ căn cước dùng được đến năm nào", "mốc tuổi đổi thẻ căn cước"]),
    ("can-cuoc-le-phi", ["làm thẻ căn cước hết bao nhiêu tiền", "lệ phí cấp đổi thẻ căn cước",
                         "đổi thẻ căn cước có mất phí không", "làm căn cước có được miễn phí không"]),
    ("tt-chuyen-nham", ["chuyển khoản nhầm người thì làm sao", "chuyển tiền nhầm số tài khoản lấy lại được không"]),
]


@pytest.fixture(scope="module")
def classifier() -> NaiveBayes:
    matcher = Matcher(ENTRIES)
    return NaiveBayes(matcher.word_incidence, matcher.owner, matcher.entry_ids)


def _ask(classifier: NaiveBayes, text: str):
    return classifier.opinion(normalize(text).folded)


def test_the_entry_whose_phrasings_use_the_distinctive_words_is_likeliest(classifier):
    fee = _ask(classifier, "đổi thẻ lúc 25 tuổi có mất phí không")  # "25 tuổi" is the other entry's
    assert fee.best == "can-cuoc-le-phi" and fee.probability > 0.5
    age = _ask(classifier, "thẻ căn cước của tôi dùng được tới năm nào")
    assert age.best == "can-cuoc-het-han"
    assert age.of("can-cuoc-het-han") > age.of("can-cuoc-le-phi") > 0 and age.of("unknown-entry") == 0.0


def test_probabilities_cover_every_entry_and_add_up_to_one(classifier):
    opinion = _ask(classifier, "chuyển nhầm tiền")
    assert opinion.best == "tt-chuyen-nham"
    assert sum(opinion.of(faq_id) for faq_id, _ in ENTRIES) == pytest.approx(1.0)


def test_an_entry_with_few_phrasings_is_not_outweighed_by_busier_ones_on_its_own_words(classifier):
    # tt-chuyen-nham has two phrasings against the others' four and five: no prior favours the busy topics.
    assert _ask(classifier, "chuyển khoản nhầm").probability > 0.9


def test_a_message_of_unknown_words_gets_no_opinion(classifier):
    assert _ask(classifier, "xyzzy qwerty") is None
    assert _ask(classifier, "") is None
