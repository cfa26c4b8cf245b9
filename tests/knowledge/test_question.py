"""How a message reads: a question or not, and whether it is the team's business at all."""

import pytest

from knowledge.normalize import normalize
from knowledge.question import DomainTerms, clauses, read
from knowledge.shipped import DOMAIN_FILE, shipped_domain_terms, shipped_lexicon

LEX = shipped_lexicon()
DOMAIN = shipped_domain_terms()


def reading(text: str):
    return read(text, normalize(text, LEX), DOMAIN)


@pytest.mark.parametrize("text", [
    "mất điện từ trưa đến giờ thì báo ai ạ",
    "mat nuoc may may hom nay roi, goi ai",
    "bao giờ xã chi trả trợ cấp người cao tuổi",
    "thủ tục xin giấy phép xây dựng",
    "cccd het han lam lai o dau",  # teencode first: "cccd" is "căn cước công dân"
])
def test_village_and_assistant_subjects_are_relevant(text):
    assert reading(text).relevant


@pytest.mark.parametrize("text", [
    "chủ nhật này ai đi câu cá không",
    "tối nay xem bóng đá ở nhà ai thế",
    "nhà ai còn bưởi bán cho em mấy quả",
    "đi làm xa có vất vả không",  # "xa" written with its own diacritics is not "xã"
])
def test_social_chatter_is_not_relevant(text):
    assert not reading(text).relevant


def test_terms_match_without_diacritics_but_not_with_other_ones():
    terms = DomainTerms.build(["xã"])
    assert terms.mentioned_in(normalize("len xa lam giay"), accented=False)
    assert terms.mentioned_in(normalize("lên xã làm giấy"))
    assert not terms.mentioned_in(normalize("đi xa làm ăn"))


def test_a_term_of_several_words_must_appear_whole():
    terms = DomainTerms.build(["nước sạch"])
    assert terms.mentioned_in(normalize("nước sạch nhà em bị đục"))
    assert not terms.mentioned_in(normalize("rửa sạch rồi đổ nước vào"))


def test_shipped_terms_are_written_with_diacritics_and_unique():
    import json

    groups = json.loads(DOMAIN_FILE.read_text(encoding="utf-8"))["terms"]
    terms = [t for ts in groups.values() for t in ts]
    assert len(terms) == len(set(terms))
    assert all(t == t.strip().lower() for t in terms)


def test_thanks_for_help_given_is_not_a_question():
    assert not reading("Cháu cảm ơn tổ đã giúp bà cài ứng dụng hôm qua").question
    assert reading("cảm ơn tổ, cho hỏi làm căn cước ở đâu?").question


def test_an_announcement_ending_on_nhe_is_not_a_question():
    assert not reading("chiều nay họp thôn, nhà nào có việc gì thì báo trước nhé").question
    assert reading("họp thôn lúc mấy giờ nhé?").question


def test_a_request_for_help_ending_on_nhen_is_still_a_question():
    assert reading("tin nhắn bắt cập nhật sinh trắc học thiệt giả sao, bà con ai biết chỉ giùm nhen").question
    assert not reading("tổ sẽ hướng dẫn cài vneid ở nhà văn hóa, bà con nhớ ra nhé").question


def test_a_problem_told_as_it_happened_asks_for_help():
    assert reading("đổi máy mới vào vneid nó đòi mã xác nhận gửi về máy cũ mà máy cũ hỏng rồi").question
    assert reading("bam link nhom roi ma no bao cho duyet").question
    assert not reading("app ngân hàng của bác bị khóa, tổ đã giúp mở lại rồi nhé").question  # news of it


def test_a_question_ending_on_nha_the_house_is_still_a_question():
    assert reading("làm sao đăng ký bảo hiểm y tế cho cả nhà").question


@pytest.mark.parametrize("text", [
    "lam the can cuoc cho ba noi phai lay dau van tay ha mn",  # "hả" before the people addressed
    "làm thẻ căn cước phải chụp ảnh lấy vân tay hả mọi người",
    "doi the can cuoc het bao nhieu z mn",
    "dang ky dinh danh muc 2 can mang nhung gi v mn",
    "con e 5 tuoi lam the can cuoc dc ko mn",
    "mai e di lam can cuoc thi mang nhung thu gi ra cong an xa ạ",
    "passcode la j vay mn, luc kich hoat tk no bat dat them 6 so nua",
    "vneid muc 1 voi muc 2 khac nhau kieu j vay ca nha",
])
def test_villager_particles_before_the_addressees_make_a_question(text):
    r = reading(text)
    assert r.question and r.relevant and not r.chatter


@pytest.mark.parametrize("text", [
    "e gui anh ban chup giay khai sinh roi a",  # "rồi ạ" reports what was done
    "hom qua e len xa lam xong ho so roi mn a",
    "da em nhan duoc roi a",
    "chiều nay họp thôn lúc 7h nhé mn",  # "nhé" still announces when people are addressed after it
])
def test_reports_and_announcements_closed_politely_are_not_questions(text):
    assert not reading(text).question


def test_addressing_people_after_thanks_or_ok_is_still_chatter():
    assert reading("ok mn").chatter
    assert reading("vâng ạ cả nhà").chatter


def test_a_lone_polite_particle_does_not_make_plain_text_accented():
    # Typed plain with a final "ạ": "xa" may be "xã", as in a message without any diacritics.
    assert reading("mang giay to gi len xa ạ").relevant
    # Typed with diacritics throughout, "xa" is "far".
    assert not reading("đi làm xa có vất vả không ạ").relevant


def test_a_term_of_several_words_typed_bare_counts_in_a_message_typed_with_diacritics():
    terms = DomainTerms.build(["căn cước", "xã"])
    assert terms.mentioned_in(normalize("bắt buộc làm can cuoc cho con dưới 14 ko", LEX), accented=True)
    assert terms.mentioned_in(normalize("bắt buộc làm căn cuoc cho con dưới 14 ko", LEX), accented=True)
    assert not terms.mentioned_in(normalize("bắt buộc làm cán cuoc cho con", LEX), accented=True)  # another mark
    assert not terms.mentioned_in(normalize("con đi làm xa rồi", LEX), accented=True)  # one bare word stays strict


@pytest.mark.parametrize("text", [
    "nang muc 2 ở mô rứa",  # central Vietnam: "ở mô" is "ở đâu"
    "muc 1 voi muc 2 khac chi nhau",  # "chi" is "gì"
    "khai lưu trú trên vneid ra răng",  # "ra răng" is "thế nào"
    "đất tranh chấp ranh giới với nhà bên thì gửi đơn cho ai",
    "mất thẻ atm thì báo ai",
])
def test_regional_and_whom_questions_are_questions(text):
    assert reading(text).question


def test_a_long_message_splits_into_clauses_and_neighbouring_pairs():
    text = "bố em 70 tuổi, mắt kém. Giờ quên mật khẩu vneid thì làm sao ạ, có phải ra xã không"
    assert clauses(text) == [
        "bố em 70 tuổi", "Giờ quên mật khẩu vneid thì làm sao ạ", "có phải ra xã không",
        "bố em 70 tuổi Giờ quên mật khẩu vneid thì làm sao ạ", "Giờ quên mật khẩu vneid thì làm sao ạ có phải ra xã không",
    ]
    assert clauses("ok, vâng ạ") == []


@pytest.mark.parametrize("text", [
    "Thông báo thu bảo hiểm xã hội tự nguyện năm 2025 tại nhà văn hóa",  # "hội", not "hỏi"
    "Mẹ em vừa làm lại cái thẻ",  # "thẻ", not "thế"
    "Chùa làng tổ chức lễ vào rằm tháng giêng",  # "chùa", not "chưa"
])
def test_a_question_word_typed_with_other_diacritics_is_another_word(text):
    assert not reading(text).question


@pytest.mark.parametrize("text", [
    "cho hoi bao hiem xa hoi dong o dau",
    "bảo hiểm xã hội đóng ở đâu",
    "làm lại thẻ căn cước mất bao lâu",
    "thẻ bhyt hết hạn rồi gia hạn thế nào",
    "giấy tờ xong chưa",
    "mẹ em làm được không",
])
def test_question_words_count_typed_bare_or_with_their_own_diacritics(text):
    assert reading(text).question


@pytest.mark.parametrize("text", [
    "[Chuyển tiếp] CẢNH BÁO: giả danh công an gọi điện bắt cài VNeID giả, tuyệt đối không bấm link lạ",
    "Fwd: Thông báo của BHXH huyện về thu BHYT hộ gia đình, hạn chót ngày 31/12",
    "THÔNG BÁO: chiều nay tổ hỗ trợ làm căn cước ở nhà văn hóa, ai chưa làm thì ra nhé",
    "canh bao: lua dao qua tin nhan, khong cung cap ma otp cho ai",
    "Chia sẻ bà con: cảnh giác cuộc gọi giả danh công an, tuyệt đối không bấm link lạ",
    "Bà con lưu ý: không ai được nhờ đọc mã OTP, ai hỏi thì không trả lời",
    "MỌI NGƯỜI CHÚ Ý: điện thoại nào cài app lạ thì gỡ ngay, không bấm vào đường link",
])
def test_a_forwarded_message_or_a_notice_is_news_not_a_question(text):
    assert not reading(text).question


def test_a_notice_asked_about_with_a_question_mark_is_a_question():
    assert reading("Thông báo: thu BHYT hộ gia đình năm nay hạn chót ngày nào vậy ạ?").question
    assert reading("thông báo lỗi khi mở vneid là sao").question  # no colon: the user's own words
    assert reading("bà con lưu ý giúp tôi làm căn cước ở đâu").question


def test_how_many_and_what_time_ask_but_a_bare_may_is_a_machine():
    assert reading("kham bhyt trai tuyen dc huong may phan tram").question
    assert reading("bộ phận một cửa mấy giờ mở").question
    assert not reading("may dien thoai cu cua bo em").question


def test_mobile_coverage_is_the_teams_business():
    assert reading("Mạng Vina ở xóm Đồng không có sóng, gọi cứ rớt, báo ai để người ta lắp thêm trạm").relevant


def test_asking_whether_something_is_true_is_a_question():
    assert reading("co ng goi bao la cong an yeu cau cap nhat dinh danh qua zalo, that hay gia").question
