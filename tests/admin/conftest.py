"""An app over a temporary database with a team, people of each role, and logged-in clients."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from main import create_app
from village import PASSWORDS, seed_village



@pytest.fixture
def web_settings(database_url) -> Settings:
    return Settings(database_url=database_url, _env_file=None, seed_admin=False, worker_in_serve=False)


@pytest.fixture
def web_app(web_settings):
    app = create_app(web_settings)
    with app.state.runtime.session() as s:
        seed_village(s)
        s.commit()
    yield app
    app.state.runtime.engine.dispose()


@pytest.fixture
def anonymous(web_app):
    with TestClient(web_app) as client:
        yield client


def logged_in(app, name: str) -> TestClient:
    """A client with a session cookie and the page's CSRF token sent on every request."""
    client = TestClient(app)
    response = client.post("/admin/login", data={"username": name, "password": PASSWORDS[name]}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/admin").text
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    client.headers["X-CSRF-Token"] = csrf
    return client


@pytest.fixture
def as_admin(web_app):
    with logged_in(web_app, "admin") as client:
        yield client


@pytest.fixture
def as_leader(web_app):
    with logged_in(web_app, "Chị Lan") as client:
        yield client


@pytest.fixture
def as_member(web_app):
    with logged_in(web_app, "Anh Minh") as client:
        yield client


@pytest.fixture
def as_other_member(web_app):
    with logged_in(web_app, "Anh Tú") as client:
        yield client
