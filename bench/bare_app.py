"""The baseline for bench/webhook_speed.py: a bare FastAPI app whose webhook does nothing.

`POST /webhooks/zalo` answers 200 `{"ok": true}` without reading the body, verifying or storing
anything; `GET /healthz` answers like ours. Served the same way as our app:

    .venv/bin/python -m uvicorn bare_app:app --app-dir bench --log-level warning --no-access-log
"""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI(title="bare")


@app.post("/webhooks/zalo")
async def webhook() -> JSONResponse:
    return JSONResponse({"ok": True})


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
