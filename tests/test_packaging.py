"""The Dockerfile, the README's two commands and CI agree with what is in the repository."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def _copy_sources() -> list[str]:
    sources = []
    for line in (REPOSITORY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            parts = shlex.split(line)[1:]
            sources.extend(p for p in parts[:-1] if not p.startswith("--"))
    return sources


def test_every_path_the_dockerfile_copies_exists():
    sources = _copy_sources()
    assert "unmix" in sources and "configurations" in sources
    for source in sources:
        assert (REPOSITORY / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_dockerignore_keeps_runs_caches_and_data_out():
    ignored = set((REPOSITORY / ".dockerignore").read_text().split())
    assert {"runs", "cache", ".venv", ".env"} <= ignored


def test_docker_commands_in_the_readme_are_the_entry_points():
    readme = (REPOSITORY / "README.md").read_text()
    commands = re.findall(r"docker run [^\n`]*unmix/unmix (\S+)", readme)
    assert {"predict.py", "train.py"} <= set(commands)
    entry = (REPOSITORY / "docker-entrypoint.py").read_text()
    for command in commands:
        assert f'"{command}"' in entry
    result = subprocess.run([sys.executable, str(REPOSITORY / "docker-entrypoint.py"), "predict.py", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--run_folder" in result.stdout
    result = subprocess.run([sys.executable, str(REPOSITORY / "docker-entrypoint.py"), "rm", "-rf"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2


def test_ci_runs_exactly_the_readmes_test_command():
    readme = (REPOSITORY / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in re.findall(r"```bash\n(.*?)```", quick_start, re.S)[0].splitlines() if line.strip()]
    assert commands == ["bash scripts/quickstart.sh", "bash scripts/test.sh"]
    ci = [line.strip() for line in (REPOSITORY / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == "bash scripts/test.sh"
