"""Chinese by default, English on request: every text is written in both
where it is used (``t("登录", "Sign in")``), so no catalog can drift from
the pages.  The choice comes from ``?lang=`` and stays in a cookie."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

LANGUAGES = ("zh", "en")
COOKIE = "campaign_lang"

Translate = Callable[[str, str], str]


def language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in LANGUAGES else "zh"


def translator(lang: str) -> Translate:
    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh
    return t


def label(lang: str, zh: str, en: str | None) -> str:
    """A definition's label in the page's language (English falls back to Chinese)."""
    return (en or zh) if lang == "en" else zh
