"""The ``objspec`` command line: verify the expressivity results, draw the diagram, evaluate.

Subcommands
-----------
``objspec verify``
    Checks every registered construction on seeded random rational environments and
    policies (same total preorder, ties included, exact where the formalisms allow),
    re-checks every separation witness, prints the 17 x 17 table (``Y``: row can express
    column, ``N``: it cannot, ``=``: diagonal, ``?``: undecided) with the evidence of every
    pair, the equivalence classes and the cover edges. Exits with status 1 if anything
    failed or any pair is undecided.
``objspec hasse -o FILE``
    Draws the Hasse diagram (SVG, PNG or PDF by suffix).
``objspec evaluate FILE``
    Evaluates and ranks policies under a specification in an environment, all given in one
    JSON file (format below).

Evaluate file format (JSON; every number may also be a string ``"p/q"``, read exactly)::

    {
      "environment": {
        "transitions": [[[...]]],        # [S][A][S] probabilities
        "initial": [...],                # [S]
        "labels": {"0": ["p"], ...},     # optional state labels (state index -> names)
        "state_names": [...], "action_names": [...]     # optional
      },
      "specification": {"formalism": "MR", "reward": ..., "gamma": 0.9},
      "policies": [[[...]], ...]         # one or more [S][A] policies
    }

Specification kinds: ``MR`` (reward, gamma), ``LAR`` (reward), ``LTL`` (formula),
``RM`` (edges ``[[u, u_next, guard, reward], ...]``, initial, gamma), ``ONMR`` and ``INMR``
(reward, ``f`` a formula in ``x`` such as ``"-(x - 1/2)**2"``, gamma), ``RRL`` (reward,
regulariser ``"negative_entropy"`` or a formula in ``p`` (the action distribution, e.g.
``"p[0]**2 + p[1]**2"``), alpha, gamma), ``OMORL`` (rewards, ``f`` a formula in ``v0, v1,
...``, gamma), ``GOMORL`` (rewards, gamma; lexicographic order). ``--exact`` evaluates in
rational arithmetic where the formalism allows it.

Examples
--------
>>> main(["hasse", "--help"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
SystemExit: 0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "build_parser", "load_problem", "spec_from_json", "format_table"]


def _number(x: Any, where: str) -> Any:
    from objspec.errors import InvalidSpecificationError

    if isinstance(x, bool):
        raise InvalidSpecificationError(f"{where}: expected a number, got {x!r}")
    if isinstance(x, int | float):
        return x
    if isinstance(x, str):
        try:
            return Fraction(x)
        except ValueError:
            raise InvalidSpecificationError(f"{where}: {x!r} is not a number") from None
    raise InvalidSpecificationError(f"{where}: expected a number, got {x!r}")


def _array(x: Any, where: str) -> np.ndarray:
    from objspec.errors import InvalidSpecificationError

    def conv(v: Any, path: str) -> Any:
        if isinstance(v, list):
            return [conv(u, f"{path}[{i}]") for i, u in enumerate(v)]
        return _number(v, path)

    if not isinstance(x, list):
        raise InvalidSpecificationError(f"{where}: expected a (nested) list of numbers")
    data = conv(x, where)
    flat = np.array(data, dtype=object)
    if any(isinstance(v, Fraction) for v in flat.ravel()):
        return np.vectorize(Fraction, otypes=[object])(flat)
    return np.array(data, dtype=np.float64)


def _formula(text: Any, names: Sequence[str], where: str) -> Any:
    import sympy

    from objspec.errors import InvalidSpecificationError

    if not isinstance(text, str):
        raise InvalidSpecificationError(f"{where}: expected a formula string, got {text!r}")
    symbols = {n: sympy.Symbol(n) for n in names}
    try:
        expr = sympy.sympify(text, locals=symbols, rational=True)
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise InvalidSpecificationError(f"{where}: cannot parse {text!r}: {exc}") from None
    unknown = {str(s) for s in expr.free_symbols} - set(names)
    if unknown:
        raise InvalidSpecificationError(
            f"{where}: unknown names {sorted(unknown)} in {text!r}; allowed: {list(names)}"
        )
    return expr, [symbols[n] for n in names]


def _scalar_function(text: Any, where: str) -> Any:
    import sympy

    expr, (x,) = _formula(text, ["x"], where)

    def f(value: Any) -> Any:
        out = expr.subs(x, sympy.Rational(value) if isinstance(value, Fraction) else value)
        return Fraction(str(out)) if out.is_Rational else float(out)

    return f


def _vector_function(text: Any, k: int, where: str) -> Any:
    import sympy

    names = [f"v{i}" for i in range(k)]
    expr, syms = _formula(text, names, where)

    def f(vec: Any) -> Any:
        vals = [sympy.Rational(v) if isinstance(v, Fraction) else v for v in vec]
        out = expr.subs(dict(zip(syms, vals, strict=True)))
        return Fraction(str(out)) if out.is_Rational else float(out)

    return f


def _regulariser(text: Any, n_actions: int, where: str) -> Any:
    import sympy

    from objspec.formalisms import regularisers

    if text == "negative_entropy":
        return regularisers.negative_entropy
    p = sympy.IndexedBase("p")
    from objspec.errors import InvalidSpecificationError

    if not isinstance(text, str):
        raise InvalidSpecificationError(f"{where}: expected 'negative_entropy' or a formula")
    try:
        expr = sympy.sympify(text, locals={"p": p}, rational=True)
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise InvalidSpecificationError(f"{where}: cannot parse {text!r}: {exc}") from None

    def F(dist: Any) -> Any:
        subs = {p[i]: (sympy.Rational(v) if isinstance(v, Fraction) else float(v))
                for i, v in enumerate(dist)}
        out = expr.subs(subs)
        return Fraction(str(out)) if out.is_Rational else float(out)

    return F


def spec_from_json(data: Any, n_actions: int) -> Any:
    """A specification from the ``"specification"`` object of an evaluate file."""
    from objspec.errors import InvalidSpecificationError
    from objspec.reductions.registry import formalism_class

    if not isinstance(data, dict) or "formalism" not in data:
        raise InvalidSpecificationError("specification: expected an object with 'formalism'")
    kind = str(data["formalism"]).upper()

    def need(key: str) -> Any:
        if key not in data:
            raise InvalidSpecificationError(f"specification ({kind}): missing '{key}'")
        return data[key]

    where = f"specification ({kind})"
    if kind == "MR":
        return formalism_class("MR")(_array(need("reward"), f"{where}.reward"),
                                     _number(need("gamma"), f"{where}.gamma"))
    if kind == "LAR":
        return formalism_class("LAR")(_array(need("reward"), f"{where}.reward"))
    if kind == "LTL":
        return formalism_class("LTL")(need("formula"))
    if kind == "RM":
        edges = [(int(u), int(v), str(g), _number(r, f"{where}.edges"))
                 for u, v, g, r in need("edges")]
        return formalism_class("RM")(edges, int(data.get("initial", 0)),
                                     _number(need("gamma"), f"{where}.gamma"))
    if kind in ("ONMR", "INMR"):
        return formalism_class(kind)(_array(need("reward"), f"{where}.reward"),
                                     _scalar_function(need("f"), f"{where}.f"),
                                     _number(need("gamma"), f"{where}.gamma"))
    if kind == "RRL":
        return formalism_class("RRL")(
            _array(need("reward"), f"{where}.reward"),
            _regulariser(need("regulariser"), n_actions, f"{where}.regulariser"),
            _number(need("alpha"), f"{where}.alpha"), _number(need("gamma"), f"{where}.gamma"))
    if kind == "OMORL":
        rewards = _array(need("rewards"), f"{where}.rewards")
        return formalism_class("OMORL")(rewards, _vector_function(need("f"), rewards.shape[0],
                                                                   f"{where}.f"),
                                        _number(need("gamma"), f"{where}.gamma"))
    if kind == "GOMORL":
        from objspec import orders

        return formalism_class("GOMORL")(_array(need("rewards"), f"{where}.rewards"),
                                         orders.lexicographic(),
                                         _number(need("gamma"), f"{where}.gamma"))
    raise InvalidSpecificationError(
        f"specification: formalism {kind!r} is not supported by 'objspec evaluate' (use MR, "
        "LAR, LTL, RM, ONMR, INMR, RRL, OMORL or GOMORL)"
    )


def load_problem(path: str | Path) -> tuple[Any, Any, list[Any]]:
    """``(env, spec, policies)`` from an evaluate JSON file."""
    from objspec import FiniteMDP, Policy
    from objspec.errors import InvalidModelError, ObjspecError

    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ObjspecError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ObjspecError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ObjspecError(f"{path}: expected a JSON object with environment, specification, "
                           "policies")
    for key in ("environment", "specification", "policies"):
        if key not in data:
            raise ObjspecError(f"{path}: missing the '{key}' entry")
    e = data["environment"]
    if not isinstance(e, dict) or "transitions" not in e or "initial" not in e:
        raise InvalidModelError("environment: expected an object with transitions and initial")
    labels = e.get("labels")
    if labels is not None:
        labels = {int(k): v for k, v in labels.items()}
    env = FiniteMDP(_array(e["transitions"], "environment.transitions"),
                    _array(e["initial"], "environment.initial"), labels=labels,
                    state_names=e.get("state_names"), action_names=e.get("action_names"))
    spec = spec_from_json(data["specification"], env.n_actions)
    raw = data["policies"]
    if not isinstance(raw, list) or not raw:
        raise ObjspecError("policies: expected a non-empty list of [S][A] policies")
    if not isinstance(raw[0], list) or not raw[0] or not isinstance(raw[0][0], list):
        raw = [raw]
    policies = [Policy(_array(p, f"policies[{i}]")) for i, p in enumerate(raw)]
    return env, spec, policies


def format_table() -> str:
    """The 17 x 17 table of the computed preorder (row can express column)."""
    from objspec.hasse import verdicts
    from objspec.reductions.registry import FORMALISMS

    v = verdicts()
    width = max(len(f) for f in FORMALISMS) + 1
    head = " " * width + " ".join(f"{b:>6}" for b in FORMALISMS)
    rows = [head]
    for a in FORMALISMS:
        rows.append(f"{a:<{width}}" + " ".join(f"{v[a, b].symbol:>6}" for b in FORMALISMS))
    return "\n".join(rows)


def _verify(args: argparse.Namespace) -> int:
    from objspec.errors import ObjspecError
    from objspec.hasse import (
        class_name,
        contradictions,
        equivalence_classes,
        hasse_diagram,
        undecided_pairs,
        verdicts,
    )
    from objspec.reductions import constructions, separations
    from objspec.reductions.checking import verify_construction
    from objspec.reductions.registry import FORMALISMS

    failures = 0
    print(f"== constructions (seed {args.seed}, {args.envs} random environments each)")
    for i, c in enumerate(constructions()):
        rep = verify_construction(c, seed=args.seed + i, n_envs=args.envs)
        status = "ok  " if rep.ok else "FAIL"
        failures += not rep.ok
        mode = "exact" if rep.exact else "certified tolerance"
        extra = f"  {rep.error}" if rep.error else ""
        print(f"  {status} {c.source:>6} -> {c.target:<6} {c.name}: {rep.instances} specs, "
              f"{rep.policies} policies, {mode}{extra}")
    print("== separation witnesses")
    for w in separations():
        try:
            wrep = w.check()
            print(f"  ok   {w.name:<12} {w.a:>6} cannot express {w.b:<6} [{wrep.kind}"
                  f"{', exact' if wrep.exact else ', certified tolerance'}]")
            if args.verbose:
                print("       " + "\n       ".join(wrep.facts))
        except ObjspecError as exc:
            failures += 1
            print(f"  FAIL {w.name:<12} {w.a:>6} cannot express {w.b:<6} {exc}")
    from objspec.reductions import five_way_lines

    lines, five_failed = five_way_lines()
    failures += five_failed
    print("== five-way claim (abstract): one witness per formalism, none of the other four")
    print("\n".join(lines))
    print("== expressivity preorder (row A, column B: Y = A can express every B ordering)")
    print(format_table())
    if not args.quiet:
        print("== evidence")
        for (a, b), v in verdicts().items():
            if a != b:
                print(f"  {a:>6} {'>=' if v.holds else 'not >=' if v.holds is False else '?':>6}"
                      f" {b:<6} {v.evidence}")
    und, bad = undecided_pairs(), contradictions()
    classes = equivalence_classes()
    h = hasse_diagram()
    print(f"== {len(classes)} equivalence classes")
    for cls in classes:
        print(f"  {class_name(cls)}")
    print(f"== {h.number_of_edges()} cover edges")
    for u, v in sorted(h.edges, key=lambda e: (FORMALISMS.index(e[1].split(' ')[0]), e)):
        print(f"  {u}  >  {v}")
    if und:
        print(f"UNDECIDED pairs ({len(und)}): " + ", ".join(f"{a}>={b}" for a, b in und))
    if bad:
        print(f"CONTRADICTIONS ({len(bad)}): " + "; ".join(v.evidence for v in bad))
    ok = failures == 0 and not und and not bad
    if args.diagram:
        from objspec.hasse import draw

        draw(args.diagram)
        print(f"== wrote the Hasse diagram to {args.diagram}")
    print(f"== verify: {'OK' if ok else 'FAILED'} ({failures} failed checks, {len(und)} "
          f"undecided pairs)")
    return 0 if ok else 1


def _hasse(args: argparse.Namespace) -> int:
    from objspec.hasse import draw

    draw(args.output)
    print(f"wrote {args.output}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    env, spec, policies = load_problem(args.file)
    from objspec.errors import ObjspecError

    if args.exact:
        try:
            ev = spec.compile(env, exact=True)
        except (TypeError, ObjspecError) as exc:
            print(f"note: exact evaluation unavailable ({exc}); using floats", file=sys.stderr)
            ev = spec.compile(env)
    else:
        ev = spec.compile(env)
    ranks = ev.rank(policies)
    print(f"specification: {spec!r}")
    for i, p in enumerate(policies):
        line = f"policy {i}: rank {int(ranks[i])}"
        if hasattr(ev, "values"):
            if getattr(ev, "exact", False) and hasattr(ev, "exact_value"):
                line += f", value {ev.exact_value(p)}"
            else:
                line += f", value {float(ev.values([p])[0]):.12g}"
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``objspec`` command."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="objspec",
        description="Executable expressivity theory of RL objective-specification formalisms "
        "(Subramani et al., ICLR 2024).",
        epilog=doc[doc.index("Evaluate file format"):doc.index("Examples\n")],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check every construction and witness; print the table",
                       description="Check every construction (random rational environments, "
                       "exact orderings) and every separation witness, print the 17x17 table "
                       "with evidence, the classes and the cover edges; exit 1 on any failure "
                       "or undecided pair.")
    v.add_argument("--seed", type=int, default=0, help="base seed of the random instances")
    v.add_argument("--envs", type=int, default=3, help="random environments per construction")
    v.add_argument("-q", "--quiet", action="store_true", help="omit the per-pair evidence list")
    v.add_argument("-v", "--verbose", action="store_true", help="print each witness's facts")
    v.add_argument("-o", "--diagram", default="hasse.svg", metavar="FILE",
                   help="where to draw the Hasse diagram (.svg, .png or .pdf; default "
                   "hasse.svg; an empty string skips it)")
    v.set_defaults(run=_verify)
    h = sub.add_parser("hasse", help="draw the Hasse diagram",
                       description="Draw the computed Hasse diagram; format from the suffix.")
    h.add_argument("-o", "--output", required=True, help="output file: .svg, .png or .pdf")
    h.set_defaults(run=_hasse)
    e = sub.add_parser("evaluate", help="rank policies under a spec (JSON file)",
                       description="Evaluate policies under a specification in an environment "
                       "given as one JSON file.",
                       epilog=doc[doc.index("Evaluate file format"):doc.index("Examples\n")],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("file", help="JSON file with environment, specification and policies")
    e.add_argument("--exact", action="store_true", help="rational arithmetic where possible")
    e.set_defaults(run=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``objspec`` console script; returns the exit status."""
    from objspec.errors import ObjspecError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ObjspecError as exc:
        print(f"objspec {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
