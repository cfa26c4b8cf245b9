"""Operators' platform commands: which platforms are live, the OA's groups, the worker process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

import deliveries as d
import main
from bot.cli import live_platforms
from bot.runtime import Runtime
from bot.settings import Settings
from fake_platform import DEFAULT_GROUPS, FakePlatform

TROLY = Path(sys.executable).parent / "troly"


def env_for(fake: FakePlatform, database_url: str) -> dict[str, str]:
    values = {f"TROLY_{k.upper()}": v for k, v in d.platform_env(fake.base_url).items()}
    return {**os.environ, **values, "TROLY_DATABASE_URL": database_url}


def test_live_platforms_names_only_those_with_secrets(database_url):
    wiring = main.build_wiring()
    assert "chưa có nền tảng nào" in live_platforms(wiring, Settings(database_url=database_url, _env_file=None))
    only_bot = Settings(database_url=database_url, _env_file=None, zalo_bot_token="1:a", zalo_bot_secret_token="s" * 12)
    assert live_platforms(wiring, only_bot) == "zalo-bot"


def test_zalo_groups_lists_every_group_of_the_oa_with_its_id(fake, database_url, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key, value in env_for(fake, database_url).items():
        if key.startswith("TROLY_"):
            monkeypatch.setenv(key, value)
    assert main.cli(["zalo", "groups", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert [g["group_id"] for g in groups] == [g["group_id"] for g in DEFAULT_GROUPS]
    assert main.cli(["zalo", "groups"]) == 0
    out = capsys.readouterr().out
    assert DEFAULT_GROUPS[0]["group_id"] in out and DEFAULT_GROUPS[0]["name"] in out


def test_zalo_groups_explains_a_missing_configuration(database_url, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TROLY_DATABASE_URL", database_url)
    assert main.cli(["zalo", "groups"]) == 2
    assert "TROLY_ZALO_APP_ID" in capsys.readouterr().err


def test_a_separate_worker_process_answers_what_the_web_process_stored(fake, database_url, tmp_path):
    settings = Settings(database_url=database_url, _env_file=None, worker_in_serve=False,
                        **d.platform_env(fake.base_url))
    web = main.create_app(runtime=Runtime.start(settings))
    with TestClient(web) as client:
        body, headers = d.zalo("quen mat khau vneid", sender="w1")
        assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
    web.state.runtime.engine.dispose()
    env = {**env_for(fake, database_url), "TROLY_WORKER_POLL_SECONDS": "0.05"}
    worker = subprocess.Popen([str(TROLY), "worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert fake.wait_for(1, timeout=20)
        assert fake.delivered[0].body["recipient"] == {"user_id": "w1"}
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=10)
    assert worker.returncode == 0 and "zalo" in out
