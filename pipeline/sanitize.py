"""Untrusted text made safe: replies rendered from an allow-list, source URLs checked on write,
ticket text that cannot close the prompt's ``<ticket>`` block.

``sanitize_reply`` keeps plain text plus a Markdown subset: paragraphs, ``**bold**``, ``*italic*``,
```code```, numbered and bulleted lists, pipe tables and ``[n]`` citation markers. Everything else
is reduced to its text: no HTML tag survives (dangerous elements lose their content too), and no
link of any form does (Markdown links and images keep only their text; autolinks, URLs with a
scheme, ``//host``, ``www.``, e-mail addresses, reference definitions and bare domains are removed).
Links in a reply come only from stored articles (the application renders the Sources footer).

Bare domains are the judgement call: ``evil.example/b`` and ``evil.com`` are links to a reader and
to GitHub-style autolinkers, ``config.yaml`` and ``README.md`` are not. A token ``label.tld`` is a
domain when its last label is in ``DOMAIN_TLDS`` (common generic TLDs, country codes that are not
also everyday words or file extensions, and the reserved example/test names). The ambiguous ones
(``.md .py .sh .rs .pl .zip .it .is .to .me …``) count only when a path follows (``evil.md/x``),
so file names keep their extension; a ``label.md`` with no path stays text. Precision over
recall there: a domain in one of those TLDs written bare is not clickable in our renderers
(only ``www.``, scheme and e-mail autolinks are, and those are always removed).
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

# --- Prompt tags ----------------------------------------------------------------------------------

# Also "< /ticket >" and "<ticket id=2>": a model reads those as the tag too.
_TICKET_TAG = re.compile(r"(?i)<\s*/?\s*ticket\b[^<>]*>")


def neutralise_ticket_tags(text: str) -> str:
    """Ticket text sits between ``<ticket>`` and ``</ticket>`` in the prompts: a literal tag in it
    must not end (or restart) that block, or the rest would read as instructions."""
    return _TICKET_TAG.sub("[ticket-tag removed]", text)


# --- Source URLs -----------------------------------------------------------------------------------

MAX_URL_CHARS = 2000
_HOST = re.compile(
    r"(?i)^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_UNSAFE_URL_CHARS = re.compile(r"[\s<>\"'`\\\x00-\x1f\x7f]")


def validate_source_url(url: str) -> str | None:
    """``url`` (stripped) when it is an absolute http(s) URL with a host and nothing a renderer
    could misread; else None. No credentials (``https://trusted@evil``), no spaces or quotes."""
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS or _UNSAFE_URL_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if "@" in parts.netloc or not parts.hostname:
        return None
    host = parts.hostname
    if not (_HOST.match(host) or (host.count(":") >= 2 and re.fullmatch(r"[0-9a-f:.]+", host))):
        return None  # a DNS name, an IPv4 address or an IPv6 literal: nothing else
    return url


# --- Replies ---------------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Elements whose content is code or markup, not prose: dropped with their content.
DANGEROUS_ELEMENTS = _words(
    "script style iframe object embed template noscript svg math textarea title xmp noembed "
    "noframes select head"
)
_DANGEROUS_OPEN = re.compile(rf"(?i)<\s*({'|'.join(sorted(DANGEROUS_ELEMENTS))})\b[^<>]*>")
_DANGEROUS_CLOSE = {name: re.compile(rf"(?i)<\s*/\s*{name}\s*>") for name in DANGEROUS_ELEMENTS}
_COMMENT = re.compile(r"(?s)<!--.*?(?:-->|$)")
# Anything shaped like a tag, a declaration, a processing instruction or an autolink.
_TAG = re.compile(r"<[/!?]?[A-Za-z][^<>]*>|<[!?][^<>]*>")
# `<your-api-key>`, `<token>`: a placeholder, not markup. Kept as its word.
_PLACEHOLDER = re.compile(r"<([A-Za-z][\w-]*)>")
_TAG_NAME = re.compile(r"</?([A-Za-z][\w-]*)")
_AUTOLINK = re.compile(r"<(?:[A-Za-z][\w+.-]*:|[^<>@\s]+@)")
HTML_ELEMENTS = _words(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas
    caption cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed
    fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr
    html i iframe img input ins kbd label legend li link main map mark marquee menu meta meter nav
    noscript object ol optgroup option output p param picture pre progress q rp rt ruby s samp
    script section select small source span strong style sub summary sup table tbody td template
    textarea tfoot th thead time title tr track u ul var video wbr svg math image base xmp"""
)
_OPEN_ANGLE = re.compile(r"<(?=[A-Za-z/!?])")

# Markdown links and images: keep the text. A destination may hold one level of parentheses.
# Whitespace is bounded (no quadratic backtracking); a link the pattern misses is still defused by
# the final "](" rewrite and the URL passes.
_DEST = (
    r"\s{0,16}(?:<[^<>\n]*>|(?:[^\s()]|\([^\s()]*\))*)"
    r"(?:\s{1,16}(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s{0,16}"
)
_IMAGE = re.compile(r"!\[([^\[\]]*)\](?:\(" + _DEST + r"\)|\[[^\[\]]*\])")
_INLINE_LINK = re.compile(r"\[([^\[\]]*)\]\(" + _DEST + r"\)")
_REFERENCE_LINK = re.compile(r"\[([^\[\]]+)\]\[([^\[\]]*)\]")
_DEFINITION = re.compile(r"(?m)^ {0,3}\[[^\]\n]+\]:.*(?:\n|$)")
_CITATION = re.compile(r"\d{1,3}")
_ADJACENT_BRACKETS = re.compile(r"\]\[")
_CITATION_AHEAD = re.compile(r"\d{1,3}\]")
_CITATION_BEHIND = re.compile(r"\[\d{1,3}\Z")

# URLs and link-like tokens. A URL in prose ends before trailing punctuation ("see x.com/a).").
_URL_TAIL = r"(?:[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]*_~])?"
# "scheme://" (or ":\\", which browsers read the same): found by its separator and walked back over
# the scheme, so a long word costs one scan, not one per starting position.
_SCHEME_SEPARATOR = re.compile(r":[/\\]{2}")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_TAIL = re.compile(_URL_TAIL)
_PSEUDO_SCHEME = re.compile(
    r"(?i)\b(?:javascript|vbscript|livescript|data|mailto|file|ftp|https?|wss?|tel|sms|blob|about"
    r"|intent|jar|view-source|ms-[a-z-]+)\s*:(?=\S)[^\s<>\"'`]*"
)
_PROTOCOL_RELATIVE = re.compile(r"(?<![\w:/])//[A-Za-z0-9\[]" + _URL_TAIL)
_WWW = re.compile(r"(?i)(?<![\w.@-])www\d?\.[^\s<>\"'`.,;:!?]" + _URL_TAIL)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IP_WITH_PATH = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?/" + _URL_TAIL)

DOMAIN_TLDS = _words(
    """com net org edu gov mil int info biz io co ai app dev xyz online site shop store cloud tech
    blog live link click top icu buzz fun club vip win loan work page web space website host
    ly gg tk ml ga cf gq ru cn uk de fr nl es eu ca au jp br ch se ir kr tw hk sg nz za mx ar cz
    ua vn tr gr ro hu dk fi pt ie il su cc tv ws fm
    example test invalid localhost local internal onion"""
)
# Also TLDs, but everyday words or file extensions: a domain only when a path follows.
AMBIGUOUS_TLDS = _words(
    """md py sh rs pl ps so zip mov name email id it is in at be to no us me my am as by do go pm
    cx sx"""
)
# A domain starts where no label character (or "label.") comes before it: one attempt per dotted
# run, so "a.a.a.…" is scanned once. Labels may be Unicode (an IDN such as "exаmple.com" with a Cyrillic "а" is still a link).
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_BARE_DOMAIN = re.compile(
    rf"(?i)(?<![^\W_])(?<![^\W_]\.)(?:{_LABEL}\.)+(?P<tld>xn--[a-z0-9-]+|[a-z]{{2,24}})(?![\w-])"
    rf"(?P<rest>(?::\d{{1,5}})?(?:[/?#]{_URL_TAIL})?)"
)

# Block structure outside the allow-list: reduced to its text.
_HEADING = re.compile(r"(?m)^ {0,3}#{1,6}(?:[ \t]+|$)")
_SETEXT_OR_RULE = re.compile(r"(?m)^ {0,3}(?:[=]{2,}|(?:[-*_][ \t]*){3,})[ \t]*$")
_BLOCKQUOTE = re.compile(r"(?m)^ {0,3}(?:>[ \t]?)+")
_FENCE = re.compile(r"(?m)^ {0,3}(?:`{3,}|~{3,}).*$")

# Characters that hide or reorder text (bidi overrides, zero-width spaces) or are controls.
_INVISIBLE = re.compile(r"[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MAX_PASSES = 16
_MARKUP_CHARS = re.compile(r"[<>\[\]()]")


def sanitize_reply(text: str, *, keep: frozenset[str] = frozenset()) -> str:
    """The reply, rendered from the allow-list (see the module docstring). Idempotent.

    ``keep``: bare domains, "www." names and e-mail addresses that the stored articles behind
    the reply write themselves (``article_addresses``): "Sign in at my.kettleby.com" is the
    article's own text, not a link a model or a ticket smuggled in. URLs with a scheme, Markdown
    and HTML links are removed whatever ``keep`` says (a URL with a scheme that the articles
    write leaves its bare address as text): a reply's links come only from its Sources footer."""
    current = text
    for _ in range(_MAX_PASSES):  # a removal can join pieces into new markup: repeat until stable
        cleaned = _blocks(_tidy(_strip_links(_strip_html(_normalise(current)), keep)))
        if cleaned == current:
            return cleaned
        current = cleaned
    # Pathological nesting: drop every character markup and links are made of, then URLs.
    return _blocks(_tidy(_strip_links(_MARKUP_CHARS.sub("", current), keep)))


def article_addresses(texts: list[str]) -> frozenset[str]:
    """The bare domains, "www." names, e-mail addresses and IP blocks written in these texts."""
    found: set[str] = set()
    for text in texts:
        for pattern in (_WWW, _EMAIL, _BARE_DOMAIN, _IP_WITH_PATH):
            found.update(m.group(0).lower() for m in pattern.finditer(text))
    return frozenset(found)


def _normalise(text: str) -> str:
    for _ in range(_MAX_PASSES):  # &amp;lt; → &lt; → <: entities must not smuggle markup past
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    else:
        text = text.replace("&", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    return "".join(
        c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs", "Co")
    )


def _drop_dangerous_elements(text: str) -> str:
    parts: list[str] = []
    pos = 0
    unclosed: set[str] = set()  # no closing tag after some point: none after any later one either
    while match := _DANGEROUS_OPEN.search(text, pos):
        parts.append(text[pos : match.start()])
        name = match.group(1).lower()
        close = None if name in unclosed else _DANGEROUS_CLOSE[name].search(text, match.end())
        if close is None:
            unclosed.add(name)
            pos = match.end()  # an unclosed element: drop the tag, its "content" is plain text
        else:
            pos = close.end()
    parts.append(text[pos:])
    return "".join(parts)


def _strip_html(text: str) -> str:
    text = _drop_dangerous_elements(text)
    text = _COMMENT.sub("", text)

    def tag(match: re.Match[str]) -> str:
        markup = match.group(0)
        name = _TAG_NAME.match(markup)
        if name is None or name.group(1).lower() in HTML_ELEMENTS or _AUTOLINK.match(markup):
            return ""  # markup, a comment, a declaration or an autolink: dropped
        if placeholder := _PLACEHOLDER.fullmatch(markup):
            return placeholder.group(1)  # "<your-api-key>" reads as its word
        return "< " + markup[1:]  # an unknown name: kept as text, but no longer a tag

    return _OPEN_ANGLE.sub("< ", _TAG.sub(tag, text))


def _strip_links(text: str, keep: frozenset[str] = frozenset()) -> str:
    text = _DEFINITION.sub("", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _INLINE_LINK.sub(lambda m: m.group(1), text)

    def reference(match: re.Match[str]) -> str:
        label, ref = match.group(1), match.group(2)
        if _CITATION.fullmatch(label) and _CITATION.fullmatch(ref):
            return match.group(0)  # "[1][2]": two citation markers, not a reference link
        return label

    text = _REFERENCE_LINK.sub(reference, text)
    text = _remove_scheme_urls(text, keep)
    for pattern in (_PSEUDO_SCHEME, _PROTOCOL_RELATIVE):
        text = pattern.sub("", text)
    for pattern in (_WWW, _EMAIL, _IP_WITH_PATH):  # "0.0.0.0/0" in an article is a CIDR block
        text = pattern.sub(lambda m: m.group(0) if m.group(0).lower() in keep else "", text)
    text = _BARE_DOMAIN.sub(
        lambda m: m.group(0) if m.group(0).lower() in keep else _domain(m), text
    )
    # Whatever is left of link syntax (a "](" whose destination did not parse, a "[x [y]][ref]"
    # the patterns did not take) is split so that it cannot link; "[1][2]" stays.
    return _ADJACENT_BRACKETS.sub(_split_brackets, text.replace("](", "] ("))


def _remove_scheme_urls(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Every URL with a scheme goes; one the articles write themselves stays as the bare address
    ("please visit travel.state.gov/passports.html", not a sentence that stops at "visit")."""
    parts: list[str] = []
    pos = 0
    for separator in _SCHEME_SEPARATOR.finditer(text):
        if separator.start() < pos:
            continue  # inside the URL just removed
        start = separator.start()
        while start > pos and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        parts.append(text[pos:start])
        pos = _TAIL.match(text, separator.end()).end()
        bare = text[separator.end() : pos]
        if bare.lower() in keep:
            parts.append(bare)
    parts.append(text[pos:])
    return "".join(parts)


def _split_brackets(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    if _CITATION_BEHIND.search(text, max(0, start - 4), start) and _CITATION_AHEAD.match(
        text, match.end()
    ):
        return match.group(0)
    return "] ["


def _domain(match: re.Match[str]) -> str:
    tld = match.group("tld").lower()
    if (
        tld in DOMAIN_TLDS
        or tld.startswith("xn--")
        or (tld in AMBIGUOUS_TLDS and match.group("rest").startswith("/"))
    ):
        return ""
    return match.group(0)


# "(see https://…)" leaves "( )"; a call like "foo()" keeps its parentheses.
_EMPTY_BRACKETS = re.compile(r"(?<![\w)\]])\(\s*\)")
_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=[^\s<]) +(?=[.,;:!?)]+(?:\s|$))")


def _tidy(text: str) -> str:
    """What the removals leave behind: "( )", runs of spaces, a space before punctuation. Table
    rows keep their spacing (column alignment)."""
    return "\n".join(
        line if line.lstrip().startswith("|") else _tidy_line(line) for line in text.split("\n")
    )


def _tidy_line(line: str) -> str:
    line = _EMPTY_BRACKETS.sub("", line)
    line = _SPACES.sub(" ", line)
    return _SPACE_BEFORE_PUNCT.sub("", line)


def _blocks(text: str) -> str:
    text = _FENCE.sub("", text)
    text = _HEADING.sub("", text)
    text = _BLOCKQUOTE.sub("", text)
    text = _SETEXT_OR_RULE.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _OPEN_ANGLE.sub("< ", text)  # last: nothing after this can start a tag again
