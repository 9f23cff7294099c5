"""`autocrm demo` end to end in a fresh data directory (slow: it embeds the demo KB and answers
four tickets): every demo ticket gets a whole reply, and the demo ends with the workspace URL and
the demo sign-ins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_prints_whole_replies_and_the_workspace_sign_in(tmp_path):
    env = os.environ | {"AUTOCRM_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("AUTOCRM_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from autocrm.cli.main import main; main()", "demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        out = done.stdout
        assert done.returncode == 0, done.stderr[-2000:]
        assert out.count("\n#") >= 4  # the four demo tickets, each with its reply
        assert "http://127.0.0.1:8000/" in out and "autocrm serve --dev" in out
        assert "daniel.reyes@flowdesk.io" in out and "olivia.chen@brightline.example" in out
        assert "Traceback" not in out + done.stderr
    finally:
        subprocess.run(
            [sys.executable, "-c", "from autocrm.cli.main import main; main()", "db", "stop"],
            env=env,
            capture_output=True,
            timeout=120,
        )
