"""Page rendering shared by the admin modules: Jinja2 with autoescape, the caller and CSRF in every page."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from admin.auth import Principal

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html

SECURITY_HEADERS = {
    # No inline scripts or styles anywhere: every page loads /admin/static/*.js and *.css.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render(request: Request, name: str, who: Principal | None, status_code: int = 200, **context) -> HTMLResponse:
    """A page with `who` (the logged-in person, or None) and `csrf` (for forms and fetches)."""
    return templates.TemplateResponse(request, name, {"who": who, "csrf": who.csrf if who else "", **context},
                                      status_code=status_code)
