"""A real server (uvicorn on loopback), a fake platform and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn

import deliveries as d
from bot import people
from bot.settings import Settings
from fake_platform import FakePlatform
from main import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORDS = {"admin": "admin-pass-1", "Chị Lan": "lan-pass-1", "Anh Minh": "minh-pass-1", "Anh Tú": "tu-pass-1"}

if not shutil.which("chromium"):
    pytest.skip("Chromium is not installed (apt-get install chromium): browser tests skipped", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser tests skipped")


@pytest.fixture
def fake():
    with FakePlatform() as server:
        yield server


@pytest.fixture
def server(database_url, fake):
    """The whole app served over HTTP, with a team, people of each role, and all platforms at the fake."""
    settings = Settings(database_url=database_url, _env_file=None, seed_admin=False, worker_poll_seconds=0.05,
                        send_retry_base_seconds=0.05, **d.platform_env(fake.base_url))
    app = create_app(settings)
    with app.state.runtime.session() as s:
        people.add_team(s, "Thôn Đông", "xã An Phú")
        people.add_team(s, "Thôn Tây")
        people.add_user(s, "admin", "admin", password=PASSWORDS["admin"])
        people.add_user(s, "Chị Lan", "leader", "Thôn Đông", zalo_id="lan-z", password=PASSWORDS["Chị Lan"])
        people.add_user(s, "Anh Minh", "member", "Thôn Đông", zalo_id="minh-z", password=PASSWORDS["Anh Minh"])
        people.add_user(s, "Anh Tú", "member", "Thôn Tây", zalo_id="tu-z", password=PASSWORDS["Anh Tú"])
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


@pytest.fixture(scope="session")
def browser():
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
