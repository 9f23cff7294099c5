"""Normalise article bodies to Markdown and fingerprint them."""

from __future__ import annotations

import hashlib
import re

from markdownify import markdownify

_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_HTML = re.compile(r"<(p|div|h[1-6]|ul|ol|li|br|table|a|span|strong|em)\b", re.IGNORECASE)


def html_to_markdown(html: str) -> str:
    """HTML → Markdown with ATX headings (so the heading-aware chunker sees the structure)."""
    markdown = markdownify(html, heading_style="ATX", strip=["script", "style"], bullets="-")
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"


def looks_like_html(text: str) -> bool:
    return len(_HTML.findall(text[:5000])) >= 2


def title_from_markdown(markdown: str) -> str | None:
    match = _H1.search(markdown)
    if not match:
        return None
    title = re.sub(r"<a [^>]*>\s*</a>", "", match.group(1))
    return re.sub(r"\\(.)", r"\1", title).strip() or None


def content_hash(*, title: str, body: str) -> str:
    """What decides whether an article must be re-chunked and re-embedded."""
    return hashlib.sha256(f"{title}\n\x00\n{body}".encode()).hexdigest()
