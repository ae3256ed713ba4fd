"""The dossier's flow diagram: the deliverable's type with the path it took,
inline SVG sized for an A4 page.  A path the definition no longer knows is
drawn plain with a note; no Graphviz, a note instead of the picture."""

from __future__ import annotations

from html import escape

from workflow.campaign import Campaign
from workflow.errors import CampaignError, InvalidInput
from workflow.render.type_diagram import Step, render
from workflow.store.views import DeliverableView

#: The dossier is printed on A4: top to bottom with the legend under the flow
#: is narrow enough that, scaled to the page's text width (182 mm), the
#: smallest label stays at 10 px or more (tests/test_slide_diagrams.py).
_DIAGRAM_LAYOUT = "tb"
#: A tall flow is shrunk onto one page rather than split across two.
_DIAGRAM_FIT = '<svg style="max-height:260mm" '


def path_taken(campaign: Campaign, view: DeliverableView) -> str:
    spec = campaign.registry.definition_for(view)
    try:
        path = [Step(*step) for step in campaign.reads.path(view.id)]
        svg = render(spec, "svg", current=view.state, path=path, layout=_DIAGRAM_LAYOUT)
    except InvalidInput as problem:  # a path the definition does not know: draw it plain
        try:
            svg = render(spec, "svg", current=view.state, layout=_DIAGRAM_LAYOUT)
        except CampaignError as error:
            return _unavailable(error)
        note = f'<p class="muted">路径无法标注：{escape(str(problem))}</p>'
        return note + _inline_svg(svg)
    except CampaignError as error:  # Graphviz missing
        return _unavailable(error)
    return _inline_svg(svg)


def _unavailable(error: CampaignError) -> str:
    return f'<p class="muted">流程图不可用：{escape(str(error))}</p>'


def _inline_svg(svg: bytes) -> str:
    """The SVG element alone (no XML prolog or doctype inside an HTML page),
    fitted to one page."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    inline = f'<div class="diagram">{text[start:] if start >= 0 else ""}</div>'
    return inline.replace("<svg ", _DIAGRAM_FIT, 1)
