"""Issue 9, finding 15: installed from a wheel, ``campaign init`` works from any
folder, and the wheel installs one name (``workflow``), no top-level ``cli`` or
``commands`` modules."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(REPO)],
        check=True, capture_output=True, timeout=300, cwd=out,
    )
    (built,) = out.glob("campaign-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return target


def test_finding_15_the_wheel_installs_the_library_and_its_demo_only(wheel: Path) -> None:
    """No generic top-level names (``cli``, ``commands``, ``definitions``): the
    library, ``workflow``, and apart from it (issue 10) its demonstration."""
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"workflow", "campaign_demo"}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "workflow/definitions/self_review.yaml" in names
    assert "workflow/definitions/campaigns/mianyang-2014.yaml" in names


def test_finding_15_campaign_init_works_from_any_folder_when_installed(
        installed: Path, tmp_path: Path) -> None:
    # -S keeps the checkout's editable install out: only the wheel's files and
    # the dependencies are importable, as on a machine that pip-installed it.
    dependencies = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": f"{installed}:{dependencies}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-S", "-m", "workflow.cli.main", "--db", "sqlite:///c.db", "init"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "self_review" in result.stdout
    located = subprocess.run(
        [sys.executable, "-S", "-c", "import workflow; print(workflow.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert located.stdout.strip().startswith(str(installed))
