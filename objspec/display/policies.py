"""A policy's action probabilities as a shaded HTML table (``Policy._repr_html_``).

Examples
--------
>>> from objspec import Policy
>>> "<table" in policy_html(Policy([[0.5, 0.5]]))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from objspec.display.svg import escape, short_number
from objspec.errors import InvalidPolicyError
from objspec.mdp.policy import Policy

__all__ = ["policy_html"]


def policy_html(
    policy: Policy | Any,
    *,
    state_names: Sequence[str] | None = None,
    action_names: Sequence[str] | None = None,
    max_rows: int = 60,
) -> str:
    """A policy's action probabilities as an HTML table, each cell shaded by its probability.

    Examples
    --------
    >>> from objspec import Policy
    >>> text = policy_html(Policy([[0.25, 0.75]]), action_names=["left", "right"])
    >>> "<table" in text and "left" in text and "0.75" in text
    True
    """
    probs = (policy if isinstance(policy, Policy) else Policy(policy)).probabilities
    S, A = probs.shape
    states = list(state_names) if state_names is not None else [f"s{i}" for i in range(S)]
    acts = list(action_names) if action_names is not None else [f"a{i}" for i in range(A)]
    if len(states) != S or len(acts) != A:
        raise InvalidPolicyError(
            f"names do not fit the policy: {len(states)} state names for {S} states, "
            f"{len(acts)} action names for {A} actions"
        )
    kind = "deterministic" if np.all(probs.max(axis=1) == 1.0) else "stochastic"
    head = "".join(f"<th>{escape(a)}</th>" for a in acts)
    rows = []
    for s in range(min(S, max_rows)):
        cells = "".join(
            f'<td style="background:rgba(31,95,168,{0.08 + 0.6 * p:.2f});text-align:right">'
            f"{short_number(p)}</td>"
            for p in probs[s]
        )
        rows.append(f"<tr><th>{escape(states[s])}</th>{cells}</tr>")
    if S > max_rows:
        rows.append(f'<tr><td colspan="{A + 1}">… {S - max_rows} more states</td></tr>')
    return (
        f"<div><b>Policy</b> ({kind}, {S} states × {A} actions)"
        f'<table style="border-collapse:collapse"><tr><th>π(a|s)</th>{head}</tr>'
        + "".join(rows)
        + "</table></div>"
    )
