"""What can be checked of the example deployment without Docker: services, commands, settings, proxy."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.cli import parser
from bot.settings import Settings
from main import build_wiring, create_app

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def command(service: str):
    return parser(build_wiring()).parse_args(SERVICES[service]["command"][1:])


def test_two_app_processes_and_two_workers_share_one_postgresql():
    assert {command(s).command for s in ("app1", "app2")} == {"serve"}
    assert {command(s).command for s in ("worker1", "worker2")} == {"worker"}
    for name in ("app1", "app2", "worker1", "worker2"):
        env = SERVICES[name]["environment"]
        assert env["TROLY_DATABASE_URL"].startswith("postgresql+psycopg://") and "@db:5432/" in env["TROLY_DATABASE_URL"]
        assert env["TROLY_WORKER_IN_SERVE"] == "false"  # the workers do the work; apps only acknowledge
        assert SERVICES[name]["depends_on"]["db"]["condition"] == "service_healthy"
    assert command("app1").host == "0.0.0.0"


def test_the_proxy_spreads_over_the_apps_and_asks_an_existing_readiness_route(tmp_path):
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile).group(1).split()
    assert upstreams == ["app1:8000", "app2:8000"]
    health = re.search(r"health_uri (\S+)", caddyfile).group(1)
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/t.db", _env_file=None))
    assert health in {getattr(route, "path", None) for route in app.routes}
    app.state.runtime.engine.dispose()


def test_every_variable_of_the_example_env_is_a_setting():
    names = re.findall(r"^(TROLY_\w+)=", (DEPLOY / ".env.example").read_text(encoding="utf-8"), re.M)
    fields = {f"TROLY_{name.upper()}" for name in Settings.model_fields}
    assert names and set(names) <= fields
