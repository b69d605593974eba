"""HTML in form definitions: what survey-js-ui puts into the page as markup is cut down to a small
formatting set (nh3, the Ammonia sanitizer) whenever a definition is saved, published or served.

Which properties are markup was read from survey-js-ui 2.5.38 (every `dangerouslySetInnerHTML`):
an `html` element's `html`, the survey's `completedHtml`, `completedBeforeHtml` and `loadingHtml`,
and `completedHtmlOnCondition[].html`. Titles, descriptions and choice texts are markup only when a
page registers `onTextMarkdown`; Portico's pages do not (tests/engine/forms/test_sanitize.py keeps it so),
so survey-js-ui shows them as text and they are left alone here. Any of these may be a localized
object ({"default": ..., "fr": ...}): each language is cleaned.

survey-core also writes answers into that markup where it names them (`{name}`, `{panel.x}`) without
escaping them, so an answer or a record field holding markup would become markup in someone's page
(a guardian's, say). Braces in markup are therefore written as character references: the page
shows them as braces, and survey-core finds nothing to fill in. Answers belong in titles,
descriptions or expression questions, which survey-js-ui shows as text.

`navigateToUrl` and `navigateToUrlOnCondition` send the browser elsewhere once a form is
completed: Portico decides where a finished form goes, so they are removed.
"""

from __future__ import annotations

import nh3

HTML_PROPERTIES = frozenset(("html", "completedHtml", "completedBeforeHtml", "loadingHtml"))
NAVIGATION_PROPERTIES = frozenset(("navigateToUrl", "navigateToUrlOnCondition"))

_CLEANER = nh3.Cleaner(
    tags={
        "p",
        "br",
        "hr",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "small",
        "sub",
        "sup",
        "span",
        "div",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "caption",
    },
    attributes={"a": {"href", "title"}, "th": {"scope"}},
    url_schemes={"http", "https", "mailto", "tel"},
    link_rel="noopener noreferrer",
)


_NO_PLACEHOLDERS = str.maketrans({"{": "&#123;", "}": "&#125;"})


def _clean(markup: str) -> str:
    return _CLEANER.clean(markup).translate(_NO_PLACEHOLDERS)


def clean_html(value):
    """One HTML-bearing value cleaned: a string, or a localized object of strings (others unchanged)."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {k: _clean(v) if isinstance(v, str) else v for k, v in value.items()}
    return value


def sanitize_definition(node):
    """A copy of a definition with every HTML-bearing property cleaned and navigation removed."""
    if isinstance(node, list):
        return [sanitize_definition(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: clean_html(value) if key in HTML_PROPERTIES else sanitize_definition(value)
        for key, value in node.items()
        if key not in NAVIGATION_PROPERTIES
    }
