"""A real server (uvicorn on loopback), a fake platform and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn

from bot import people
from main import create_app
from village import PASSWORDS, seed_village

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

if not shutil.which("chromium"):
    pytest.skip("Chromium is not installed (apt-get install chromium): browser tests skipped", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser tests skipped")


@pytest.fixture
def server(live_settings):
    """The whole app served over HTTP, with the test village and all platforms at the fake."""
    app = create_app(live_settings)
    with app.state.runtime.session() as s:
        seed_village(s)
        people.link_chat(s, "zalo", "g-dong", "Thôn Đông")
        s.commit()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    app.state.base_url = f"http://127.0.0.1:{port}"
    yield app
    running.should_exit = True
    thread.join(timeout=10)
    sock.close()
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    # Per module: Playwright's sync API keeps an event loop on the main thread while it runs, which
    # would break asyncio.run() in tests collected after the browser tests.
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.state.base_url, viewport={"width": 1000, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def log_in(page):
    """log_in("Chị Lan") logs that person in on `page`."""
    def run(name: str) -> None:
        page.goto("/admin/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORDS[name])
        page.click("button[type=submit]")
        page.wait_for_url("**/admin")

    return run
