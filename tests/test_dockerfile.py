"""What can be checked of the Dockerfile without a Docker engine."""

import json
import re
from pathlib import Path

from bot.cli import parser
from main import build_wiring

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_base_image_is_slim_python():
    assert re.search(r"^FROM python:3\.1\d-slim", DOCKERFILE, re.MULTILINE)


def test_runs_as_a_non_root_user():
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


def test_every_copied_path_exists():
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source


def test_the_command_is_a_valid_troly_serve_on_port_8000():
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1))
    assert cmd[0] == "troly"
    args = parser(build_wiring()).parse_args(cmd[1:])
    assert args.command == "serve" and args.port == 8000 and args.host == "0.0.0.0"
    assert "EXPOSE 8000" in DOCKERFILE and "VOLUME" in DOCKERFILE
