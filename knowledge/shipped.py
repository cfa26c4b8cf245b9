"""The data that ships with the project: FAQ files, the teencode dictionary, the team's subjects."""

import json
from pathlib import Path

from knowledge.normalize import Expansion, Lexicon
from knowledge.question import DomainTerms

DATA = Path(__file__).parent / "data"
FAQ_DIR = DATA / "faq"
LEXICON_FILE = DATA / "lexicon.json"
STOPWORDS_FILE = DATA / "stopwords.json"
DOMAIN_FILE = DATA / "domain_terms.json"
OUT_OF_SCOPE_FILE = DATA / "out_of_scope.json"


def faq_files() -> list[Path]:
    return sorted(FAQ_DIR.glob("*.json"))


def lexicon_rows() -> list[Expansion]:
    return [Expansion(**row) for row in json.loads(LEXICON_FILE.read_text(encoding="utf-8"))]


def shipped_lexicon() -> Lexicon:
    return Lexicon.build(lexicon_rows())


def shipped_stopwords() -> frozenset[str]:
    return frozenset(json.loads(STOPWORDS_FILE.read_text(encoding="utf-8")))


def shipped_domain_terms() -> DomainTerms:
    """The reviewed list of the team's subjects: what a group question must mention to be escalated."""
    groups = json.loads(DOMAIN_FILE.read_text(encoding="utf-8"))["terms"]
    return DomainTerms.build(term for terms in groups.values() for term in terms)


def shipped_out_of_scope() -> dict[str, list[str]]:
    """Subjects villagers ask the team about that the FAQ does not answer: slug -> phrasings."""
    return json.loads(OUT_OF_SCOPE_FILE.read_text(encoding="utf-8"))["topics"]
