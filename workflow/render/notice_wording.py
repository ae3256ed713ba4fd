"""A publicity notice's wording: the campaign plan's templates (its ``notice``
block) filled in for one deliverable and window, as plain text.

Templates run in Jinja2's sandbox: a plan is data, and its templates may not
reach into Python objects.  Each format escapes the text its own way
(:mod:`workflow.render.notice_formats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from workflow.campaign import Campaign
from workflow.errors import InvalidInput
from workflow.machine import publicity
from workflow.spec.plan import NoticeSpec
from workflow.store.views import DeliverableView, WindowView


@dataclass(frozen=True)
class NoticeParts:
    """A notice's pieces as plain text, before they are escaped for a format."""

    heading: str
    intro: str
    window: str
    #: Where to object; empty without a publicity window.
    objection: str
    #: The issuer, the office acting for it (if any), the date.
    signature: tuple[str, ...]


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def notice_spec(campaign: Campaign, view: DeliverableView) -> NoticeSpec:
    """How the deliverable's campaign posts notices; the neutral defaults outside one."""
    return campaign.plan.spec(view.plan_id).notice if view.plan_id else NoticeSpec()


def notice_parts(
    settings: NoticeSpec, window: WindowView | None, *, objections: bool, issued: date,
    **given: str,
) -> NoticeParts:
    """The notice's text from ``settings``; ``objections`` if the type takes
    them in a publicity window, ``given`` the deliverable's own values
    (title, type_title, kind) for the templates."""
    values = _values(settings, window, issued=cn_date(issued), **given)
    return NoticeParts(
        heading=_fill(settings.heading, values),
        intro=_fill(settings.intro, values),
        window=_fill(settings.window if window else settings.dated, values),
        objection=_fill(settings.objection, values) if objections and window else "",
        signature=tuple(line for line in (settings.issuer, settings.office, cn_date(issued))
                        if line),
    )


def _values(settings: NoticeSpec, window: WindowView | None, **given: str) -> dict[str, object]:
    """What the templates may use.  The working days are counted from the
    window's own dates, so the sentence states the span the window has."""
    values: dict[str, object] = {
        "issuer": settings.issuer, "office": settings.office,
        "contact": settings.objection_contact, "opens": "", "closes": "", "working_days": "",
        **given,
    }
    if window is not None:
        values.update(opens=cn_date(window.opened_on), closes=cn_date(window.closes_on),
                      working_days=publicity.working_days_between(window.opened_on,
                                                                  window.closes_on))
    return values


@cache
def _templates() -> SandboxedEnvironment:
    """Sandboxed: a plan is data, and its templates may not reach into Python
    objects.  No autoescaping: a template gives plain text, which each format
    escapes its own way."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _fill(template: str, values: dict[str, object]) -> str:
    """A notice template rendered as plain text (the caller escapes it)."""
    try:
        return _templates().from_string(template).render(values).strip()
    except TemplateError as error:
        raise InvalidInput(f"the campaign's notice template {template!r} fails: "
                           f"{error.message}") from None
