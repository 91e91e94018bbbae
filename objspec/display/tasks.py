"""An example task as HTML: its description, specification and drawings.

Examples
--------
>>> from objspec.environments import example_task
>>> "<h4>" in task_html(example_task("return_near_c"))
True
"""

from __future__ import annotations

from typing import Any

from objspec.display.mdps import mdp_repr_svg
from objspec.display.svg import escape

__all__ = ["task_html"]


def task_html(task: Any) -> str:
    """An :class:`~objspec.environments.ExampleTask` as HTML: name, formalism, description,
    where it is (not) expressible, and the environment's drawing when it is small enough.

    Automata, reward machines, LTL specifications and the Hasse diagram render themselves
    (their own ``_repr_svg_``); this printer embeds the specification's drawing when it
    has one.

    Examples
    --------
    >>> from objspec.environments import example_task
    >>> text = task_html(example_task("return_near_c"))
    >>> "ONMR" in text and "<svg" in text
    True
    """
    parts = [
        f"<div><h4>{escape(task.name)} <small>({escape(task.formalism)})</small></h4>",
        f"<p>{escape(task.description)}</p>",
    ]
    if task.expressible_in:
        parts.append(f"<p><b>expressible in:</b> {escape(', '.join(task.expressible_in))}")
        if task.not_expressible_in:
            parts.append(
                f"; <b>not in:</b> {escape(', '.join(task.not_expressible_in))}"
            )
        parts.append("</p>")
    parts.append(f"<p><b>specification:</b> <code>{escape(repr(task.spec))}</code></p>")
    env_svg = mdp_repr_svg(task.env)
    spec_svg = getattr(task.spec, "_repr_svg_", None)
    drawings = [d for d in (env_svg, spec_svg() if callable(spec_svg) else None) if d]
    if drawings:
        parts.append('<div style="display:flex;gap:1em;align-items:flex-start">'
                     + "".join(f"<div>{d}</div>" for d in drawings) + "</div>")
    parts.append("</div>")
    return "".join(parts)
