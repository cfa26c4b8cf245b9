"""The `troly` command line as evaluations and operators call it (design: "Interfaces")."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge import store
from knowledge.transfer import read_file

TROLY = Path(sys.executable).parent / "troly"
ASK_KEYS = {"decision", "faq_id", "score", "suggestions", "reply"}
AMBIGUOUS_CANDIDATES = ["the", "mat khau", "lua dao", "cccd", "lam the", "bao hiem", "tai khoan", "dang ky",
                        "chuyen khoan", "dinh danh", "the bhyt", "vneid", "ngan hang", "app"]


def imported_counts(out: str) -> tuple[int, int, int, int]:
    m = re.search(r"(\d+) mới, (\d+) sửa, (\d+) giữ nguyên, (\d+) ngừng dùng", out)
    assert m, out
    return tuple(int(g) for g in m.groups())


# --- ask ----------------------------------------------------------------------------------------


def test_ask_json_prints_exactly_the_design_keys(troly):
    code, out, _ = troly("ask", "--json", "quen mat khau vneid")
    row = json.loads(out)
    assert code == 0 and set(row) == ASK_KEYS
    assert row["decision"] == "answer" and row["faq_id"] == "vneid-quen-mat-khau"
    assert isinstance(row["score"], float) and row["suggestions"][0] == "vneid-quen-mat-khau"
    assert "Quên mật khẩu" in row["reply"]


def test_ask_plain_prints_decision_entry_and_reply(troly):
    code, out, _ = troly("ask", "quen mat khau vneid")
    assert code == 0
    assert out.startswith("[answer] vneid-quen-mat-khau (")
    assert "Quên mật khẩu" in out


def test_ask_group_chatter_is_ignored_without_a_reply(troly):
    code, out, _ = troly("ask", "--group", "--json", "ha ha")
    assert code == 0 and json.loads(out)["decision"] == "ignore" and json.loads(out)["reply"] is None


def test_ask_without_text_is_a_usage_error(troly):
    code, out, err = troly("ask")
    assert code == 2 and out == "" and "troly ask" in err


def test_ask_jsonl_answers_one_line_per_input_in_order(troly, runtime):
    texts = ["quen mat khau vneid", "ha ha", "lam the can cuoc o dau", "xin chào", "cccd"]
    contexts = ["private", "group", "group", "private", "private"]
    stdin = "".join(json.dumps({"text": t, "context": c}, ensure_ascii=False) + "\n" for t, c in zip(texts, contexts))
    code, out, _ = troly("ask", "--jsonl", stdin=stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    kb = runtime.knowledge()
    assert code == 0
    assert rows == [kb.ask(t, group=c == "group").as_json() for t, c in zip(texts, contexts)]
    assert all(set(r) == ASK_KEYS for r in rows)


def test_ask_jsonl_reports_a_malformed_line_and_answers_the_rest(troly):
    stdin = '{"text": "quen mat khau vneid"}\nthis is not json\n["a list"]\n{"text": "lua dao qua mang"}\n'
    code, out, _ = troly("ask", "--jsonl", stdin=stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 4
    assert rows[0]["faq_id"] == "vneid-quen-mat-khau"
    assert set(rows[1]) == {"error"} and "dòng 2" in rows[1]["error"]
    assert set(rows[2]) == {"error"} and "dòng 3" in rows[2]["error"]
    assert set(rows[3]) == ASK_KEYS


def test_ask_jsonl_without_context_is_a_private_chat(troly, runtime):
    code, out, _ = troly("ask", "--jsonl", stdin='{"text": "ha ha"}\n')
    assert json.loads(out) == runtime.knowledge().ask("ha ha", group=False).as_json()
    assert json.loads(out)["decision"] != "ignore"  # a private chat always gets a reply


# --- eval ---------------------------------------------------------------------------------------


def test_eval_prints_accuracy_over_the_file(troly, tmp_path, runtime):
    kb = runtime.knowledge()
    question = kb.question("vneid-quen-mat-khau")
    assert kb.ask(question).as_json()["faq_id"] == "vneid-quen-mat-khau"
    lines = [
        {"text": question, "context": "private", "expect": "vneid-quen-mat-khau"},
        {"text": question, "context": "private", "expect": "tt-chuyen-nham"},
        {"text": "ha ha", "context": "group", "expect": "ignore"},
        {"text": "ha ha", "context": "group", "expect": "escalate"},
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    code, out, _ = troly("eval", str(path))
    assert code == 0
    assert "accuracy: 2/4 = 50.0%" in out
    assert "faq first choice 1/2 = 50.0%" in out
    assert "confident wrong answers: 1" in out


def test_eval_of_a_missing_file_fails(troly, tmp_path):
    code, _, err = troly("eval", str(tmp_path / "none.jsonl"))
    assert code == 2 and "none.jsonl" in err


# --- faq import / export --------------------------------------------------------------------------


def test_faq_export_on_a_fresh_database_exports_the_54_seeded_entries(troly, tmp_path):
    code, out, _ = troly("faq", "export", str(tmp_path / "faq.json"))
    assert code == 0 and "54" in out
    assert len(read_file(tmp_path / "faq.json")) == 54


@pytest.mark.parametrize("suffix", [".json", ".csv", ".xlsx"])
def test_faq_export_then_import_changes_nothing(troly, tmp_path, suffix):
    path = tmp_path / f"faq{suffix}"
    assert troly("faq", "export", str(path))[0] == 0
    code, out, _ = troly("faq", "import", str(path))
    assert code == 0 and imported_counts(out) == (0, 0, 54, 0)


def test_faq_import_of_a_broken_file_exits_nonzero_names_the_line_and_changes_nothing(troly, tmp_path, runtime):
    with runtime.session() as s:
        before = store.version(s), [store.to_item(e) for e in store.all_entries(s)]
    path = tmp_path / "faq.csv"
    path.write_text("id,question,answer\nmoi-1,Hỏi một?,Đáp một.\nmoi-2,Hỏi hai?,\n", encoding="utf-8")
    code, out, err = troly("faq", "import", str(path), "--replace")
    assert code != 0 and "dòng 3" in err and "answer" in err
    with runtime.session() as s:
        assert (store.version(s), [store.to_item(e) for e in store.all_entries(s)]) == before


def test_faq_import_of_a_missing_file_fails(troly, tmp_path):
    code, _, err = troly("faq", "import", str(tmp_path / "none.json"))
    assert code != 0 and "none.json" in err


def test_faq_import_replace_swaps_in_a_faq_of_another_domain(troly, tmp_path, runtime):
    path = tmp_path / "thu-vien.json"
    path.write_text(json.dumps([
        {"id": "gio-mo-cua", "category": "thư viện", "question": "Thư viện mở cửa mấy giờ?",
         "alternates": ["thu vien mo cua luc nao", "giờ mở cửa thư viện"], "answer": "Thư viện mở cửa 7 giờ sáng.",
         "source_url": None, "reviewed_at": "2025-03-01"},
        {"id": "muon-sach", "category": "thư viện", "question": "Mượn sách cần những gì?",
         "alternates": ["muon sach can gi"], "answer": "Mang thẻ thư viện là mượn được.", "source_url": None,
         "reviewed_at": None},
    ], ensure_ascii=False), encoding="utf-8")
    code, out, _ = troly("faq", "import", str(path), "--replace")
    assert code == 0 and imported_counts(out) == (2, 0, 0, 54)
    code, out, _ = troly("ask", "--json", "thư viện mở cửa lúc mấy giờ")
    assert json.loads(out)["faq_id"] == "gio-mo-cua"
    troly("faq", "export", str(tmp_path / "after.json"))
    assert [i.id for i in read_file(tmp_path / "after.json")] == ["gio-mo-cua", "muon-sach"]


def test_faq_export_to_an_unsupported_format_fails_without_writing(troly, tmp_path):
    code, _, err = troly("faq", "export", str(tmp_path / "faq.txt"))
    assert code != 0 and ".txt" in err
    assert not (tmp_path / "faq.txt").exists()


# --- chat ---------------------------------------------------------------------------------------


def ambiguous_question(runtime) -> tuple[str, list[str]]:
    kb = runtime.knowledge()
    for text in AMBIGUOUS_CANDIDATES:
        out = kb.ask(text).as_json()
        if out["decision"] == "suggest":
            return text, out["suggestions"]
    pytest.fail(f"none of {AMBIGUOUS_CANDIDATES} yields numbered suggestions")


def test_chat_number_reply_picks_the_suggested_entry(troly, runtime):
    text, suggestions = ambiguous_question(runtime)
    kb = runtime.knowledge()
    code, out, _ = troly("chat", stdin=f"{text}\n1\n")
    assert code == 0
    assert f"1. {kb.question(suggestions[0])}" in out
    assert out.rstrip().endswith(kb.answer_for(suggestions[0]))


def test_chat_second_choice_picks_the_second_entry(troly, runtime):
    text, suggestions = ambiguous_question(runtime)
    kb = runtime.knowledge()
    _, out, _ = troly("chat", stdin=f"{text}\nsố 2 ạ\n")
    assert out.rstrip().endswith(kb.answer_for(suggestions[1]))


def test_chat_number_out_of_range_asks_again(troly, runtime):
    text, suggestions = ambiguous_question(runtime)
    _, out, _ = troly("chat", stdin=f"{text}\n9\n")
    numbers = ", ".join(str(i) for i in range(1, len(suggestions) + 1))
    assert f"chọn một trong các số {numbers}" in out


def test_chat_choice_is_used_only_once(troly, runtime):
    text, suggestions = ambiguous_question(runtime)
    kb = runtime.knowledge()
    _, out, _ = troly("chat", stdin=f"{text}\n1\n1\n")
    assert out.count(kb.answer_for(suggestions[0])) == 1


# --- fresh database, entry point -------------------------------------------------------------------


@pytest.mark.parametrize("args, stdin", [
    (["ask", "--json", "quen mat khau vneid"], None),
    (["ask", "--jsonl"], '{"text": "quen mat khau vneid"}\n'),
    (["chat"], "quen mat khau vneid\n"),
    (["faq", "export", "faq.csv"], None),
])
def test_every_command_works_on_a_fresh_database_and_seeds_it(troly, runtime_free_check, args, stdin):
    code, out, _ = troly(*args, stdin=stdin)
    assert code == 0 and out
    assert runtime_free_check() == 54


@pytest.fixture
def runtime_free_check(database_url):
    """Counts active entries straight from the file, without starting (and seeding) a runtime."""
    import sqlite3

    def count() -> int:
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as db:
            return db.execute("select count(*) from faqentry where active").fetchone()[0]

    return count


def test_eval_and_import_work_on_a_fresh_database(troly, tmp_path, runtime_free_check):
    (tmp_path / "e.jsonl").write_text('{"text": "ha ha", "context": "group", "expect": "ignore"}\n', encoding="utf-8")
    assert troly("eval", str(tmp_path / "e.jsonl"))[0] == 0
    (tmp_path / "f.json").write_text('[{"id": "x", "question": "Hỏi?", "answer": "Đáp."}]', encoding="utf-8")
    code, out, _ = troly("faq", "import", str(tmp_path / "f.json"))
    assert code == 0 and imported_counts(out) == (1, 0, 0, 0)
    assert runtime_free_check() == 55


def test_installed_console_script_answers_as_json(tmp_path):
    env = {**os.environ, "TROLY_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    done = subprocess.run([str(TROLY), "ask", "--json", "quen mat khau vneid"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert set(row) == ASK_KEYS and row["faq_id"] == "vneid-quen-mat-khau"


def test_reply_leaves_out_placeholder_lines_but_keeps_the_rest_of_the_answer(troly):
    _, out, _ = troly("ask", "--json", "liên hệ tổ công nghệ số cộng đồng của thôn thế nào")
    row = json.loads(out)
    assert row["faq_id"] == "kns-lien-he-to"
    assert row["reply"].startswith("Dạ,") and "\nKhi nhờ giúp" in row["reply"]  # line breaks kept; {placeholder} lines left out
    assert "{" not in row["reply"]
