"""The README's "Python API" example runs as written (issue 10)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def api_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    return code


def test_the_readme_python_api_example_runs(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", api_example()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                               "CAMPAIGN_TZ": "Asia/Shanghai"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 ") and "forward" in lines[0]
    assert lines[1] == "draft"
    assert lines[2] == "['create', 'transition', 'transition']"
    assert int(lines[3]) >= 6
    assert (tmp_path / "api-example.db").exists()
