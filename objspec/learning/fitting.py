"""``fit``: a specification of a formalism that explains comparisons, or a proof that none does.

Each formalism registers its fitter where it is defined
(:attr:`~objspec.formalisms.registry.FormalismInfo.fitter`); :func:`fit` looks it up,
checks the data against the environment, and runs it. docs/learning.md describes every
fitter and what its answer guarantees.
"""

from __future__ import annotations

from typing import Any

from objspec.errors import InvalidSpecificationError
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions
from objspec.formalisms.registry import formalism_info
from objspec.mdp.model import FiniteMDP

__all__ = ["fit"]


def fit(
    formalism: str | type,
    env: FiniteMDP,
    data: Comparisons,
    *,
    gamma: Any = None,
    margin: float | None = None,
    soft: bool = False,
    exact: bool = False,
    **options: Any,
) -> Fit:
    """Fit a specification of ``formalism`` that orders ``data`` as given.

    Parameters
    ----------
    formalism : str or type
        An acronym (``"MR"``), a name (``"Markov rewards"``) or the class.
    env : FiniteMDP
        The environment the policies (or trajectories) belong to.
    data : Comparisons
        The comparisons to explain.
    gamma : float or Fraction, optional
        The discount, taken as given by formalisms that have one (MR, RRL, ONMR, ...).
    margin : float, optional
        The smallest acceptable value gap over strict comparisons, under the fitter's
        normalisation (``Fit.normalisation``); default: the largest margin is sought and any
        positive one accepted. For soft fits, the target gap (default 1).
    soft : bool
        Minimise the violated comparisons (L1 slack) instead of requiring all of them.
    exact : bool
        Verify the fit in rational arithmetic (``Fit.exact``; the margin is then a Fraction).
    **options
        Formalism-specific keywords (e.g. ``regulariser=`` and ``alpha=`` for RRL,
        ``machine=`` for RM, ``max_size=`` for LTL); an unknown keyword is an error.

    Returns
    -------
    Fit

    Raises
    ------
    NotExpressibleError
        No specification of the formalism explains the data; ``certificate`` proves it
        (``certificate.check()`` re-checks it exactly).
    InconsistentComparisonsError
        The data has a strict cycle (``cycle``); no formalism explains it.
    NoFitFoundError
        A bounded search found no specification (not a proof), or the requested margin is
        larger than the largest achievable one.
    InvalidSpecificationError, InvalidPolicyError
        Unknown formalism, a formalism with no fitter, policies of another environment,
        a missing or invalid discount, an unknown keyword.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.learning import Comparisons, fit
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> stay, go = [[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]
    >>> result = fit("MR", env, Comparisons(policies=[stay, go], pairs=[(1, 0, ">")]),
    ...              gamma=0.5, exact=True)
    >>> result.exact, result.margin > 0
    (True, True)
    >>> result.spec.compile(env).compare(go, stay)
    1
    """
    info = formalism_info(formalism if isinstance(formalism, str) else formalism.__name__)
    if info.fitter is None:
        raise InvalidSpecificationError(
            f"fit: formalism {info.acronym} registers no fitter")
    if not isinstance(env, FiniteMDP):
        raise InvalidSpecificationError(
            f"fit: env must be a FiniteMDP, got {type(env).__name__}")
    if not isinstance(data, Comparisons):
        raise InvalidSpecificationError(
            f"fit: data must be objspec.learning.Comparisons, got {type(data).__name__}")
    if margin is not None:
        import math

        try:
            mf = float(margin)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(f"fit: margin={margin!r} is not a number") from None
        if not math.isfinite(mf) or mf <= 0:
            raise InvalidSpecificationError(f"fit: margin={margin!r} must be positive and "
                                            "finite")
    data.validate(env)
    opts = FitOptions(gamma=gamma, margin=margin, soft=bool(soft), exact=bool(exact),
                      extra=dict(options))
    result = info.fitter.fit(env, data, opts)
    unread = opts.unread()
    if unread:
        raise InvalidSpecificationError(
            f"fit({info.acronym}): unknown keyword{'s' if len(unread) > 1 else ''} "
            f"{', '.join(unread)}")
    return result
