"""The village most tests play in: two teams, an admin, a leader and two members, with their passwords."""

from __future__ import annotations

from sqlmodel import Session

from bot import people

PASSWORDS = {"admin": "admin-pass-1", "Chị Lan": "lan-pass-1", "Anh Minh": "minh-pass-1", "Anh Tú": "tu-pass-1"}


def seed_village(s: Session) -> None:
    """Thôn Đông (leader Chị Lan, member Anh Minh) and Thôn Tây (member Anh Tú), plus the admin."""
    people.add_team(s, "Thôn Đông", "xã An Phú")
    people.add_team(s, "Thôn Tây")
    people.add_user(s, "admin", "admin", password=PASSWORDS["admin"])
    people.add_user(s, "Chị Lan", "leader", "Thôn Đông", zalo_id="lan-z", facebook_id="lan-fb",
                    password=PASSWORDS["Chị Lan"])
    people.add_user(s, "Anh Minh", "member", "Thôn Đông", zalo_id="minh-z", password=PASSWORDS["Anh Minh"])
    people.add_user(s, "Anh Tú", "member", "Thôn Tây", zalo_id="tu-z", password=PASSWORDS["Anh Tú"])
