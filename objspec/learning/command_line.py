"""``objspec fit`` and ``objspec profile``: learning from a comparison table on the command line.

``objspec fit DATA --env ENV --formalism F [--gamma G] [--policies P] [--trajectories]
[--exact] [--soft] [--json]``
    Fits a specification of formalism ``F`` to the comparisons in ``DATA`` (a CSV or
    Parquet table, format of :mod:`objspec.formalisms.comparison_tables`) on the
    environment of ``ENV`` (the ``"environment"`` object of an ``objspec evaluate`` file,
    or a file holding that object alone). Prints the method, the margin, the violated
    comparisons (``--soft``) and the fitted specification (the reward table for MR); exit
    status 0. When no specification exists it prints the certificate (the comparisons,
    their rows and the exact multipliers) and exits with status 1; the same for
    inconsistent data (the cycle) and a bounded search that found nothing.
``objspec profile DATA --env ENV [--gamma G] [--policies P] [--exact] [-o FILE] [--json]``
    Fits every registered formalism and prints which can explain the data (fits, cannot
    fit with a certificate, unknown), closed under the expressivity preorder; ``-o``
    draws the coloured Hasse diagram (``.svg``, ``.png`` or ``.pdf``).

Input errors (an unreadable file, policies of another environment, an unknown formalism,
an empty table, NaN, a malformed row) are reported as one line naming the row and column,
with exit status 2, as for every ``objspec`` command.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from objspec.errors import (
    InconsistentComparisonsError,
    InvalidModelError,
    NoFitFoundError,
    NotExpressibleError,
    ObjspecError,
)
from objspec.formalisms.fitting import Comparisons, Fit, ImpossibilityCertificate
from objspec.formalisms.reading import read_number
from objspec.formalisms.registry import formalism_info
from objspec.mdp.model import FiniteMDP

__all__ = ["add_parsers", "load_comparisons", "load_environment_file", "run_fit",
           "run_profile"]

LoadEnvironment = Callable[[Any, bool], FiniteMDP]


def load_environment_file(path: str | Path, load: LoadEnvironment, *, exact: bool = False
                          ) -> FiniteMDP:
    """The environment of an ``objspec evaluate`` file (its ``"environment"`` entry) or of a
    file holding that object alone, read by ``load(object, exact)``."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ObjspecError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ObjspecError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(raw, dict) and "environment" in raw:
        raw = raw["environment"]
    if not isinstance(raw, dict):
        raise InvalidModelError(f"{path}: expected a JSON object (an environment, or an "
                                "evaluate file with an 'environment' entry)")
    return load(raw, exact)


def load_comparisons(path: str | Path, env: FiniteMDP, *, policies: str | None = None,
                     trajectories: bool = False) -> Comparisons:
    """A comparison table from a ``.csv`` or ``.parquet`` file, for ``env``."""
    suffix = Path(path).suffix.lower()
    traj: Any = True if trajectories else None
    if suffix in (".parquet", ".pq"):
        return Comparisons.read_parquet(path, policies, trajectories=traj,
                                        n_actions=env.n_actions)
    if suffix in (".csv", ".txt", ""):
        return Comparisons.read_csv(path, policies, trajectories=traj, n_actions=env.n_actions)
    raise ObjspecError(f"{path}: expected a .csv or .parquet comparison table")


def _gamma(text: str | None, exact: bool) -> Any:
    if text is None:
        return None
    value = read_number(text, "--gamma", exact=exact)
    return value if exact else float(value)


def _number(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, Fraction):
        return str(x)
    return float(x)


def _certificate_record(cert: ImpossibilityCertificate) -> dict[str, Any]:
    return {
        "comparisons": [str(c) for c in cert.comparisons],
        "rows": list(cert.rows),
        "strict_multipliers": [str(x) for x in cert.strict_multipliers],
        "tie_multipliers": [str(x) for x in cert.tie_multipliers],
        "explanation": cert.explanation(),
    }


def _fit_record(result: Fit) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "formalism": result.formalism, "fits": True, "method": result.method,
        "exact": result.exact, "margin": _number(result.margin),
        "normalisation": result.normalisation,
        "violated": [{"comparison": str(c), "row": c.row} for c in result.violated],
        "specification": repr(result.spec), "seconds": result.seconds,
    }
    try:
        arr = result.reward_array(exact=result.exact)
    except ObjspecError:
        arr = None
    if arr is not None:
        rec["reward"] = (np.vectorize(str, otypes=[object])(arr).tolist() if result.exact
                         else arr.tolist())
    return rec


def _setup(args: argparse.Namespace, load: LoadEnvironment) -> tuple[FiniteMDP, Comparisons]:
    env = load_environment_file(args.env, load, exact=args.exact)
    data = load_comparisons(args.data, env, policies=args.policies,
                            trajectories=args.trajectories)
    data.validate(env)
    return env, data


def run_fit(args: argparse.Namespace, load: LoadEnvironment) -> int:
    """``objspec fit``: 0 when a specification fits, 1 when none does (or none was found)."""
    info = formalism_info(args.formalism)
    env, data = _setup(args, load)
    try:
        result = _fit(info.acronym, env, data, args)
    except InconsistentComparisonsError as exc:
        return _no_fit(args, info.acronym, {"inconsistent": True, "cycle": [
            {"comparison": str(c), "row": getattr(c, "row", None)} for c in exc.cycle]},
            str(exc))
    except NotExpressibleError as exc:
        cert = getattr(exc, "certificate", None)
        record = _certificate_record(cert) if isinstance(cert, ImpossibilityCertificate) else {}
        return _no_fit(args, info.acronym, {"certificate": record}, str(exc))
    except NoFitFoundError as exc:
        return _no_fit(args, info.acronym, {"bounded": True,
                                            "bound": _number_or_str(exc)}, str(exc))
    rec = _fit_record(result)
    if args.json:
        print(json.dumps(rec, indent=2))
        return 0
    print(str(result))
    print(f"specification: {result.spec!r}")
    if result.violated:
        print("violated: " + ", ".join(f"{c} (row {c.row})" for c in result.violated))
    if "reward" in rec and env.n_states <= 20:
        names = env.action_names
        print("reward r(s, a):")
        for s, row in enumerate(rec["reward"]):
            cells = ", ".join(f"{names[a]}: {_show(x)}" for a, x in enumerate(row))
            print(f"  {env.state_names[s]}: {cells}")
    return 0


def _show(x: Any) -> str:
    return x if isinstance(x, str) else f"{x:.6g}" if isinstance(x, float) else str(x)


def _number_or_str(exc: NoFitFoundError) -> Any:
    bound = getattr(exc, "bound", None)
    return None if bound is None else _number(bound) if isinstance(
        bound, int | float | Fraction) else str(bound)


def _fit(acronym: str, env: FiniteMDP, data: Comparisons, args: argparse.Namespace) -> Fit:
    from objspec.learning.fitting import fit

    return fit(acronym, env, data, gamma=_gamma(args.gamma, args.exact), soft=args.soft,
               exact=args.exact)


def _no_fit(args: argparse.Namespace, acronym: str, extra: dict[str, Any], text: str) -> int:
    if args.json:
        print(json.dumps({"formalism": acronym, "fits": False, **extra}, indent=2))
    else:
        print(text)
    return 1


def run_profile(args: argparse.Namespace, load: LoadEnvironment) -> int:
    """``objspec profile``: the expressibility profile as a table (or JSON); exit 0."""
    from objspec.learning.profile import profile

    env, data = _setup(args, load)
    result = profile(env, data, gamma=_gamma(args.gamma, args.exact), exact=args.exact)
    if args.output:
        result.draw(args.output)
    rows = result.rows()
    if args.json:
        print(json.dumps({"fits": result.fits, "rows": rows, "seconds": result.seconds},
                         indent=2))
        return 0
    width = max(len(r["formalism"]) for r in rows)
    for r in rows:
        source = f" [{r['source']}]" if r["source"] else ""
        print(f"{r['formalism']:<{width}}  {r['status']:<24}{source}  {r['evidence']}")
    return 0


def _diagram_file(text: str) -> str:
    if Path(text).suffix.lower() not in (".svg", ".png", ".pdf"):
        raise argparse.ArgumentTypeError(f"{text!r}: the suffix must be .svg, .png or .pdf")
    if not Path(text).parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: the folder does not exist")
    return text


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="comparison table (.csv or .parquet): columns first, second, "
                   "relation")
    p.add_argument("--env", required=True, metavar="ENV",
                   help="JSON file with the environment (an evaluate file, or its "
                   "'environment' object alone)")
    p.add_argument("--gamma", default=None, metavar="G",
                   help="the discount, taken as given (a number or p/q)")
    p.add_argument("--policies", default=None, metavar="P",
                   help="JSON (or .npy) file of the [S][A] policies the table's indices name "
                   "(default: policies are written in the cells)")
    p.add_argument("--trajectories", action="store_true",
                   help="the cells are trajectories 's0 a0 s1 a1 ... sT'")
    p.add_argument("--exact", action="store_true",
                   help="verify in rational arithmetic (numbers of ENV must be exact)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_parsers(sub: Any, load: LoadEnvironment) -> None:
    """Add the ``fit`` and ``profile`` subcommands to the ``objspec`` parser's subparsers;
    ``load(environment_object, exact)`` reads an environment as ``objspec evaluate`` does."""
    f = sub.add_parser("fit", help="fit a specification of a formalism to comparisons",
                       description="Fit a specification of a formalism to a comparison table "
                       "(or print the certificate that none exists, exit status 1).")
    _common(f)
    f.add_argument("--formalism", required=True, metavar="F",
                   help="acronym or name of the formalism (MR, ...)")
    f.add_argument("--soft", action="store_true",
                   help="minimise the violated comparisons instead of requiring all")
    f.set_defaults(run=lambda args: run_fit(args, load))
    p = sub.add_parser("profile", help="which formalisms can explain comparisons",
                       description="Fit every registered formalism to a comparison table and "
                       "print which can explain it, closed under the expressivity preorder.")
    _common(p)
    p.add_argument("-o", "--output", default=None, metavar="FILE", type=_diagram_file,
                   help="draw the coloured Hasse diagram (.svg, .png or .pdf)")
    p.set_defaults(run=lambda args: run_profile(args, load))
