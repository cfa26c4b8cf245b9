"""The data that ships with the project: FAQ files and the teencode dictionary."""

import json
from pathlib import Path

from knowledge.normalize import Expansion, Lexicon

DATA = Path(__file__).parent / "data"
FAQ_DIR = DATA / "faq"
LEXICON_FILE = DATA / "lexicon.json"
STOPWORDS_FILE = DATA / "stopwords.json"


def faq_files() -> list[Path]:
    return sorted(FAQ_DIR.glob("*.json"))


def lexicon_rows() -> list[Expansion]:
    return [Expansion(**row) for row in json.loads(LEXICON_FILE.read_text(encoding="utf-8"))]


def shipped_lexicon() -> Lexicon:
    return Lexicon.build(lexicon_rows())


def shipped_stopwords() -> frozenset[str]:
    return frozenset(json.loads(STOPWORDS_FILE.read_text(encoding="utf-8")))
