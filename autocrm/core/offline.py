"""Nothing downloads at run time: Hugging Face libraries read only local files.

Called by whatever is about to import them (the CLI's entry point, the embedder), never at import
of one of our modules: importing a module of ours changes no process state.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def forbid_downloads() -> None:
    """Hugging Face hub and transformers use local files only (an explicit setting wins)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
