"""Page rendering shared by the admin modules: Jinja2 with autoescape, the caller and CSRF in every page."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pydantic import AfterValidator

from admin.auth import Principal
from knowledge.normalize import clean

HERE = FilePath(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html

# Row ids are 32-bit integers in PostgreSQL: a larger number in a path would overflow the database (a 500).
RowNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
# A NUL or a lone surrogate in a path would be a database error, not a 404.
PathText = Annotated[str, AfterValidator(clean)]

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
