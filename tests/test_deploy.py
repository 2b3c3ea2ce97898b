"""compose.yaml and the Dockerfile stay consistent with the code (Docker itself is not run here)."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT
from trials_helper.config import SETTINGS, load_settings


def test_compose_runs_two_app_replicas_on_one_redis():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"redis", "app"}
    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["build"] == "."
    env = app["environment"]
    assert set(env) <= {s.env for s in SETTINGS}  # only real settings
    settings = load_settings({k: str(v) for k, v in env.items()})
    assert settings.cache_backend == "redis://redis:6379/0"
    assert "redis" in app["depends_on"]


def test_dockerfile_installs_the_redis_extra_and_ships_the_app():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert '".[redis]"' in text
    for part in ("trials_helper", "app", "streamlit_app.py", ".streamlit"):  # theme: contrast
        assert f"COPY {part} " in text
    assert "--server.port" in text and "8501" in text
