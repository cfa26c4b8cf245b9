"""Personal numbers are masked; amounts, dates and short numbers are not."""

import pytest

from bot.privacy import MASK, has_personal_number, mask


@pytest.mark.parametrize("text", [
    "số cccd của cháu là 001203004567",
    "cmnd cũ 123456789",
    "sdt em 0912 345 678",
    "gọi +84912345678 nhé",
    "stk 1903-5678-9012-345 techcombank",
    "mã OTP là 482913",
    "ma xac nhan 1234",
])
def test_personal_numbers_are_masked(text):
    masked = mask(text)
    assert MASK in masked
    assert not any(run in masked for run in ("4567", "6789", "678", "345", "2913", "1234"))


@pytest.mark.parametrize("text", [
    "chuyển nhầm 500.000đ thì sao",
    "lệ phí 20.000.000 đồng",
    "hẹn ngày 28/11/2026",
    "năm 2024 làm căn cước",
    "mức 2 vneid",
])
def test_amounts_dates_and_short_numbers_stay(text):
    assert mask(text) == text and not has_personal_number(text)
