"""The test console: any team member types a message and sees how the bot reads it and what it replies."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from admin import auth
from admin.web import render
from bot.runtime import Runtime
from knowledge.base import KnowledgeBase, Outcome

DECISIONS = {
    "answer": "Trả lời bằng một mục hỏi đáp",
    "suggest": "Gợi ý vài câu để người hỏi chọn số",
    "escalate": "Chuyển cho tổ công nghệ số trả lời",
    "ignore": "Im lặng (tin trò chuyện trong nhóm, không hỏi bot)",
    "smalltalk": "Chào hỏi, cảm ơn",
}


def view(kb: KnowledgeBase, outcome: Outcome) -> dict:
    """What the page shows of one outcome: the reading, the decision, the five best entries."""
    decision, result = outcome.decision, outcome.result
    return {
        "normalized": result.normalized.text,
        "folded": result.normalized.folded_text,
        "kind": decision.kind,
        "decision": DECISIONS.get(decision.kind, decision.kind),
        "faq_id": decision.faq_id,
        "score": decision.score,
        "suggestions": decision.suggestions,
        "candidates": [{"faq_id": c.faq_id, "question": kb.question(c.faq_id), "score": c.score,
                        "phrasing": c.phrasing} for c in result.candidates[:5]],
        "reply": outcome.reply,
    }


def router(rt: Runtime) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/admin/console")
    def console(request: Request) -> Response:
        who = auth.require(rt, request, "member")
        return render(request, "console.html", who, text="", context="private", mentioned=False)

    @api.post("/admin/console/ask")
    def ask(request: Request, csrf: str = Form(""), text: str = Form(""), context: str = Form("private"),
            mentioned: bool = Form(False)) -> Response:
        who = auth.principal(rt, request)
        if who is None:
            raise HTTPException(401, "Cần đăng nhập.")
        auth.check_csrf_form(who, csrf)  # a plain form: the token comes in the body, not a header
        group = context == "group"
        kb = rt.knowledge()
        # The same call as the FAQ handler makes for a chat message, so the reply is the one people get.
        shown = view(kb, kb.ask(text, group=group, mentioned=group and mentioned))
        return render(request, "console.html", who, text=text, context="group" if group else "private",
                      mentioned=mentioned, shown=shown)

    return api
