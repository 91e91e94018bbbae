"""The ``objspec`` command line: verify the expressivity results, draw the diagram, evaluate
and optimise.

Subcommands
-----------
``objspec verify [--seed N] [--envs N] [-o FILE] [--json]``
    Checks every registered construction on seeded random rational environments and
    policies (same total preorder, ties included, exact where the formalisms allow),
    re-checks every separation witness, prints the 17 x 17 table (``Y``: row can express
    column, ``N``: it cannot, ``=``: diagonal, ``?``: undecided) with the evidence of every
    pair, the equivalence classes and the cover edges. Exits with status 1 if anything
    failed or any pair is undecided.
``objspec hasse -o FILE [--colour-by class|guarantee]``
    Draws the Hasse diagram (SVG, PNG or PDF by suffix); ``--colour-by guarantee`` fills
    each class with the colour of the strongest optimisation guarantee of its members.
``objspec evaluate FILE [--exact] [--json]``
    Evaluates and ranks policies under a specification in an environment, all given in one
    JSON file (format below).
``objspec fit DATA --env ENV --formalism F [--gamma G] [--policies P] [--exact] [--soft] [--json]``
    Fits a specification of formalism ``F`` to a comparison table (CSV or Parquet), or
    prints the exact certificate that none exists (exit status 1); see
    ``objspec.learning.command_line``.
``objspec profile DATA --env ENV [--gamma G] [--policies P] [-o FILE] [--json]``
    Which formalisms can explain the comparisons (fits / cannot fit / unknown, monotone
    along the Hasse diagram); ``-o`` draws the coloured diagram.
``objspec optimise FILE [--exact] [--seed N] [--time-limit S] [--policies P] [--json]``
    Optimises the specification of an evaluate file (the ``"policies"`` entry is optional
    and ignored) with the optimiser its formalism registers: prints the policy found (by
    state and action names), its value under the formalism's own evaluator, the guarantee
    (exact, certified with its bound, local with its test, or heuristic), the method,
    iterations and time. ``--policies finite-memory`` is accepted only for formalisms whose
    optimiser supports it.
``objspec optimise --table [--static] [--states N] [--time-limit S] [--json]``
    Prints the tractability table computed from the registry (method, guarantee,
    finite-memory support, complexity statement) with the time of one optimisation per
    formalism on a seeded benchmark environment of ``--states`` states (``--static``:
    the registered columns only, instantly). ``objspec verify`` prints the static table.
``objspec study run STUDY.toml --results DIR [--workers N | --scheduler ADDRESS] [--batch N]``
    Runs a quantitative expressivity study (docs/studies.md) on a local Dask cluster (one
    worker process per core; ``--workers 0``: in this process) or an existing scheduler
    (answering within ``--timeout S`` seconds, default 10); ``--batch N`` sends N task ids
    per Dask task. Rows stream to a Parquet dataset in DIR, and a rerun resumes.
    ``objspec study report DIR [-o FILE] [--csv FILE]`` prints the expressed fractions
    against the computed verdicts and draws them; it exits with status 1 if an instance
    contradicts the theory.
``objspec --version``
    Prints the version.

Exit status: 0 on success, 1 when ``verify`` finds a failure, 2 on any input error (a bad
argument or a malformed file), reported as one line naming the argument or the field, for
example ``objspec evaluate: error: specification (RM).edges[2]: expected [u, u_next, guard,
reward], got 3 entries``. Arguments (``--envs``, ``--seed``, ``--time-limit``, output
folders and suffixes) are checked before any work starts. ``--json`` prints one JSON
object instead of text.

Evaluate file format (JSON; every number may also be a string ``"p/q"`` or ``"0.1"``,
read exactly)::

    {
      "environment": {
        "transitions": [[[...]]],        # [S][A][S] probabilities
        "initial": [...],                # [S]
        "labels": {"0": ["p"], ...},     # optional: state index or name -> propositions
        "state_names": [...], "action_names": [...],    # optional
        "enabled": [[true, false], ...], # optional [S][A] mask of the enabled actions
        "propositions": ["p", "hazard"]  # optional alphabet (a superset of the labels)
      },
      "specification": {"formalism": "MR", "reward": ..., "gamma": 0.9},
      "policies": [[[...]], ...]         # one or more [S][A] policies, or
                                         # {"name": [[...]], ...} to name them
    }

Specification kinds: ``MR`` (reward, gamma), ``LAR`` (reward), ``LTL`` (formula),
``RM`` (edges ``[[u, u_next, guard, reward], ...]`` with machine states integers or
names, initial, gamma), ``ONMR`` and ``INMR`` (reward, ``f`` a formula in ``x`` such as
``"-(x - 1/2)**2"``, gamma), ``RRL`` (reward, regulariser ``"negative_entropy"`` or a
formula in ``p[0], p[1], ...``, the action distribution, e.g. ``"p[0]**2 + p[1]**2"``,
alpha, gamma), ``OMORL`` (rewards, ``f`` a formula in ``x[0], x[1], ...`` (or ``v0, v1,
...``), gamma), ``GOMORL`` (rewards, gamma; lexicographic order).

Formulas are read by a restricted grammar, never evaluated as code: numbers, the
variables above, ``+ - * / **``, parentheses and the functions exp, log, sqrt, abs, min,
max, sin, cos, tanh (see ``objspec.expressions``). A formula that is undefined, not real
or not finite where it is used (``1/x`` at ``x = 0``) is an error naming the policy.

``--exact`` evaluates in rational arithmetic where the formalism allows it; every number
must then be exact: write ``"1/10"``, not ``0.1`` (which is not 1/10 in binary).
Output names states, actions and policies by the file's names (``s0, a0`` and the
policy's position by default).

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
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from objspec.errors import (
    InvalidModelError,
    InvalidPolicyError,
    InvalidSpecificationError,
    ObjspecError,
)
from objspec.formalisms.reading import field_errors as _field
from objspec.formalisms.reading import one_line as _one_line
from objspec.formalisms.reading import read_array as _array
from objspec.formalisms.reading import show as _show

__all__ = ["main", "build_parser", "load_problem", "spec_from_json", "format_table", "Problem"]

_DIAGRAM_SUFFIXES = (".svg", ".png", ".pdf")

# ---------------------------------------------------------------------------- numbers












# ---------------------------------------------------------------------------- specifications

def _readable() -> str:
    """The formalisms ``objspec evaluate`` reads, as ``"MR, LAR, ... or GOMORL"``."""
    from objspec.formalisms.registry import registered_formalisms

    names = [i.acronym for i in registered_formalisms() if i.reader is not None]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def spec_from_json(data: Any, n_actions: int, *, exact: bool = False) -> Any:
    """A specification from the ``"specification"`` object of an evaluate file.

    The formalism is named by acronym or name (``"MR"``, ``"MarkovReward"``); its
    registered :class:`~objspec.formalisms.registry.SpecificationReader` reads the other
    keys. Formulas (``f``, ``regulariser``) are parsed by :mod:`objspec.expressions`, never
    evaluated as code; with ``exact``, every number must be exact (``"1/10"``).

    Raises
    ------
    InvalidSpecificationError
        Naming the field, for any malformed entry.
    """
    from objspec.formalisms.reading import SpecificationFields
    from objspec.formalisms.registry import formalism_info

    if not isinstance(data, dict) or "formalism" not in data:
        raise InvalidSpecificationError(
            f"specification: expected an object with 'formalism' ({_readable()})")
    if not isinstance(data["formalism"], str):
        raise InvalidSpecificationError(
            f"specification.formalism: expected a name such as \"MR\", got "
            f"{_show(data['formalism'])}")
    try:
        info = formalism_info(data["formalism"])
    except InvalidSpecificationError:
        info = None
    reader = info.reader if info is not None else None
    if info is None or reader is None:
        kind = info.acronym if info is not None else data["formalism"].upper()
        raise InvalidSpecificationError(
            f"specification.formalism: {kind!r} is not supported by 'objspec evaluate' (use "
            f"{_readable()})")
    kind = info.acronym
    where = f"specification ({kind})"
    unknown = sorted(set(data) - set(reader.keys) - {"formalism"})
    if unknown:
        raise InvalidSpecificationError(
            f"{where}: unknown key {unknown[0]!r}; {kind} takes {', '.join(reader.keys)}")
    for key in reader.keys:
        if key not in data and key not in reader.optional:
            raise InvalidSpecificationError(f"{where}: missing '{key}'")
    fields = SpecificationFields(data, where, exact=exact, n_actions=n_actions)
    with _field(where):
        return reader.build(fields)


# ---------------------------------------------------------------------------- problems


class Problem(tuple[Any, Any, list[Any]]):
    """``(env, spec, policies)`` of an evaluate file, with ``names`` of the policies."""

    names: list[str]

    def __new__(cls, env: Any, spec: Any, policies: list[Any], names: list[str]) -> Problem:
        self = super().__new__(cls, (env, spec, policies))
        self.names = names
        return self


def _labels(raw: Any, n_states: int, state_names: Any) -> dict[int, Any]:
    where = "environment.labels"
    if not isinstance(raw, dict):
        raise InvalidModelError(
            f"{where}: expected an object mapping a state (index or name) to propositions, "
            f"got {_show(raw)}")
    names = state_names if isinstance(state_names, list) else []
    out: dict[int, Any] = {}
    for key, props in raw.items():
        if key.strip().isdigit() and 0 <= int(key) < n_states:
            s = int(key)
        elif key in names:
            s = names.index(key)
        else:
            valid = f"0..{n_states - 1}" + (" or a state name" if names else "")
            raise InvalidModelError(f"{where}: {key!r} is not a state ({valid})")
        if isinstance(props, str):
            props = [props]
        if not isinstance(props, list) or not all(isinstance(p, str) for p in props):
            raise InvalidModelError(
                f"{where}[{key!r}]: expected a list of proposition names, got {_show(props)}")
        out[s] = list(out.get(s, [])) + props
    return out


def _environment(e: Any, exact: bool) -> Any:
    from objspec import FiniteMDP

    if not isinstance(e, dict):
        raise InvalidModelError(f"environment: expected an object, got {_show(e)}")
    allowed = ("transitions", "initial", "labels", "state_names", "action_names", "enabled",
               "propositions")
    unknown = sorted(set(e) - set(allowed))
    if unknown:
        raise InvalidModelError(
            f"environment: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    for key in ("transitions", "initial"):
        if key not in e:
            raise InvalidModelError(f"environment: missing '{key}'")
    transitions = _array(e["transitions"], "environment.transitions", exact, ndims=(3,),
                         error=InvalidModelError)
    initial = _array(e["initial"], "environment.initial", exact, ndims=(1,),
                     error=InvalidModelError)
    labels = e.get("labels")
    if labels is not None:
        labels = _labels(labels, transitions.shape[0], e.get("state_names"))
    enabled = e.get("enabled")
    if enabled is not None and not (
        isinstance(enabled, list)
        and all(isinstance(row, list) and all(isinstance(x, bool) for x in row)
                for row in enabled)
    ):
        raise InvalidModelError("environment.enabled: expected an [S][A] list of true/false")
    with _field("environment"):
        for key in ("state_names", "action_names"):
            if key in e and not isinstance(e[key], list):
                raise InvalidModelError(f"{key}: expected a list of names, got {_show(e[key])}")
        props = e.get("propositions")
        if props is not None and not (isinstance(props, list)
                                      and all(isinstance(x, str) for x in props)):
            raise InvalidModelError(f"propositions: expected a list of names, got {_show(props)}")
        return FiniteMDP(transitions, initial, labels=labels, state_names=e.get("state_names"),
                         action_names=e.get("action_names"), enabled=enabled,
                         propositions=props)


def _policies(raw: Any, env: Any, exact: bool) -> tuple[list[Any], list[str]]:
    from objspec import Policy

    if isinstance(raw, dict):
        if not raw:
            raise InvalidPolicyError("policies: expected at least one policy")
        items = [(str(k), v, f"policies[{json.dumps(k)}]") for k, v in raw.items()]
    elif isinstance(raw, list) and raw:
        if not (isinstance(raw[0], list) and raw[0] and isinstance(raw[0][0], list)):
            raw = [raw]  # a single [S][A] policy
        items = [(str(i), p, f"policies[{i}]") for i, p in enumerate(raw)]
    else:
        raise InvalidPolicyError(
            "policies: expected a non-empty list of [S][A] policies or an object naming them, "
            f"got {_show(raw)}")
    policies = []
    S, A = env.n_states, env.n_actions
    for _, p, where in items:
        arr = _array(p, where, exact, ndims=(2,), error=InvalidPolicyError)
        if arr.shape != (S, A):
            raise InvalidPolicyError(
                f"{where}: expected [S][A] = [{S}][{A}] probabilities, got {list(arr.shape)}")
        with _field(where):
            policies.append(Policy(arr))
    return policies, [name for name, _, _ in items]


def load_problem(path: str | Path, *, exact: bool = False,
                 require_policies: bool = True) -> Problem:
    """``(env, spec, policies)`` from an evaluate JSON file (``.names``: policy names).

    Parameters
    ----------
    path : str or Path
    exact : bool
        Require exact numbers (``"1/10"``; floats only when exactly the decimal written).
    require_policies : bool
        Whether the ``"policies"`` entry must be there (``objspec optimise`` reads files
        without it; when present it is still checked). Without it, ``policies`` is empty.

    Raises
    ------
    ObjspecError
        One-line message naming the field, for an unreadable or malformed file.
    """
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ObjspecError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ObjspecError(f"{path} is not a UTF-8 text file") from None
    except json.JSONDecodeError as exc:
        raise ObjspecError(f"{path} is not valid JSON: {exc}") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4300 digits
        raise ObjspecError(f"{path} is not valid JSON: {_one_line(exc)}") from None
    except RecursionError:
        raise ObjspecError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ObjspecError(f"{path}: expected a JSON object with environment, specification, "
                           "policies")
    for key in ("environment", "specification", "policies"):
        if key not in data and (require_policies or key != "policies"):
            raise ObjspecError(f"{path}: missing the '{key}' entry")
    unknown = sorted(set(data) - {"environment", "specification", "policies", "description"})
    if unknown:
        raise ObjspecError(f"{path}: unknown entry {unknown[0]!r} (expected environment, "
                           "specification, policies and optionally description)")
    env = _environment(data["environment"], exact)
    spec = spec_from_json(data["specification"], env.n_actions, exact=exact)
    if "policies" not in data:
        return Problem(env, spec, [], [])
    policies, names = _policies(data["policies"], env, exact)
    return Problem(env, spec, policies, names)


# ---------------------------------------------------------------------------- verify


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
    from objspec.hasse import (
        class_name,
        contradictions,
        equivalence_classes,
        hasse_diagram,
        undecided_pairs,
        verdicts,
    )
    from objspec.hasse.tractability import tractability_table
    from objspec.reductions import constructions, separations
    from objspec.reductions.checking import verify_construction
    from objspec.reductions.registry import FORMALISMS

    text = not args.json
    out: dict[str, Any] = {"seed": args.seed, "envs": args.envs, "constructions": [],
                           "witnesses": []}
    failures = 0
    if text:
        print(f"== constructions (seed {args.seed}, {args.envs} random environments each)")
    for i, c in enumerate(constructions()):
        rep = verify_construction(c, seed=args.seed + i, n_envs=args.envs)
        failures += not rep.ok
        mode = "exact" if rep.exact else "certified tolerance"
        out["constructions"].append({
            "name": c.name, "source": c.source, "target": c.target, "ok": rep.ok,
            "specs": rep.instances, "policies": rep.policies, "mode": mode, "error": rep.error})
        if text:
            status = "ok  " if rep.ok else "FAIL"
            extra = f"  {rep.error}" if rep.error else ""
            print(f"  {status} {c.source:>6} -> {c.target:<6} {c.name}: {rep.instances} specs, "
                  f"{rep.policies} policies, {mode}{extra}")
    if text:
        print("== separation witnesses")
    for w in separations():
        entry: dict[str, Any] = {"name": w.name, "a": w.a, "b": w.b}
        try:
            wrep = w.check()
            entry.update(ok=True, kind=wrep.kind,
                         mode="exact" if wrep.exact else "certified tolerance",
                         facts=list(wrep.facts))
            if text:
                print(f"  ok   {w.name:<12} {w.a:>6} cannot express {w.b:<6} [{wrep.kind}"
                      f"{', exact' if wrep.exact else ', certified tolerance'}]")
                if args.verbose:
                    print("       " + "\n       ".join(wrep.facts))
        except ObjspecError as exc:
            failures += 1
            entry.update(ok=False, error=_one_line(exc))
            if text:
                print(f"  FAIL {w.name:<12} {w.a:>6} cannot express {w.b:<6} {_one_line(exc)}")
        out["witnesses"].append(entry)
    from objspec.reductions import five_way_lines

    lines, five_failed = five_way_lines()
    failures += five_failed
    out["five_way"] = {"lines": lines, "failed": five_failed}
    if text:
        print("== five-way claim (abstract): one witness per formalism, none of the other four")
        print("\n".join(lines))
    v = verdicts()
    if text:
        print("== expressivity preorder (row A, column B: Y = A can express every B ordering)")
        print(format_table())
        if not args.quiet:
            print("== evidence")
            for (a, b), verdict in v.items():
                if a != b:
                    rel = ">=" if verdict.holds else "not >=" if verdict.holds is False else "?"
                    print(f"  {a:>6} {rel:>6} {b:<6} {verdict.evidence}")
    und, bad = undecided_pairs(), contradictions()
    classes = equivalence_classes()
    h = hasse_diagram()
    edges = sorted(h.edges, key=lambda e: (FORMALISMS.index(e[1].split(" ")[0]), e))
    tractability = tractability_table()
    if text:
        print(f"== {len(classes)} equivalence classes")
        for cls in classes:
            print(f"  {class_name(cls)}")
        print(f"== {h.number_of_edges()} cover edges")
        for a, b in edges:
            print(f"  {a}  >  {b}")
        print("== tractability of optimisation (registered optimisers; objspec optimise "
              "--table times them)")
        print("  " + str(tractability).replace("\n", "\n  "))
        if und:
            print(f"UNDECIDED pairs ({len(und)}): " + ", ".join(f"{a}>={b}" for a, b in und))
        if bad:
            print(f"CONTRADICTIONS ({len(bad)}): " + "; ".join(x.evidence for x in bad))
    ok = failures == 0 and not und and not bad
    if args.diagram:
        from objspec.hasse import draw

        draw(args.diagram)
        if text:
            print(f"== wrote the Hasse diagram to {args.diagram}")
    if text:
        print(f"== verify: {'OK' if ok else 'FAILED'} ({failures} failed checks, {len(und)} "
              f"undecided pairs)")
    else:
        out = {"ok": ok, "failed_checks": failures, **out}
        out.update(
            table={a: {b: v[a, b].symbol for b in FORMALISMS} for a in FORMALISMS},
            evidence=[{"a": a, "b": b, "holds": x.holds, "evidence": x.evidence}
                      for (a, b), x in v.items() if a != b],
            classes=[class_name(c) for c in classes],
            cover_edges=[list(e) for e in edges],
            undecided=[list(p) for p in und],
            contradictions=[x.evidence for x in bad],
            tractability=tractability.as_dicts(),
            diagram=str(args.diagram) if args.diagram else None)
        print(json.dumps(out, indent=2))
    return 0 if ok else 1


def _hasse(args: argparse.Namespace) -> int:
    from objspec.hasse import draw

    if args.colour_by == "guarantee":
        from objspec.hasse.tractability import draw_guarantees

        draw_guarantees(args.output)
    else:
        draw(args.output)
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------------------- evaluate


def _value_text(x: Any) -> str:
    return str(x) if isinstance(x, Fraction) else f"{float(x):.12g}"


def _describe_policy(env: Any, probs: np.ndarray) -> str:
    """``state: action`` per state (``1/2 a0 + 1/2 a1`` when stochastic), by name."""
    parts = []
    for s, row in enumerate(probs):
        support = [(a, p) for a, p in enumerate(row) if p != 0]
        if len(support) == 1:
            choice = env.action_names[support[0][0]]
        else:
            choice = " + ".join(f"{_value_text(p)} {env.action_names[a]}" for a, p in support)
        parts.append(f"{env.state_names[s]}: {choice}")
    return "; ".join(parts)


def _locate(ev: Any, policies: list[Any], names: list[str], exact: bool,
            error: ObjspecError) -> NoReturn:
    """Re-raise ``error`` (from a formula) naming the first policy that triggers it."""
    from objspec.expressions import ExpressionDomainError

    for p, name in zip(policies, names, strict=True):
        try:
            if exact and hasattr(ev, "exact_value"):
                ev.exact_value(p)
            else:
                ev.values([p])
        except ExpressionDomainError as exc:
            exc.args = (f"{_one_line(exc)} (policy {name!r})",)
            raise exc from None
        except ObjspecError:
            continue
    raise error


def _evaluate(args: argparse.Namespace) -> int:
    from objspec.expressions import ExpressionDomainError

    problem = load_problem(args.file, exact=args.exact)
    env, spec, policies = problem
    names = problem.names
    where = f"specification ({spec.acronym})"
    notes = []
    with _field(where):
        if args.exact:
            try:
                ev = spec.compile(env, exact=True)
            except (TypeError, ObjspecError) as exc:
                notes.append(f"exact evaluation unavailable ({_one_line(exc)}); using floats")
                ev = spec.compile(env)
        else:
            ev = spec.compile(env)
    exact = bool(getattr(ev, "exact", False))
    values: list[Any] | None = None
    with _field(where):
        try:
            ranks = ev.rank(policies)
            if hasattr(ev, "values"):
                if exact and hasattr(ev, "exact_value"):
                    values = [ev.exact_value(p) for p in policies]
                else:
                    values = [float(x) for x in ev.values(policies)]
        except ExpressionDomainError as exc:
            _locate(ev, policies, names, exact, exc)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    rows = []
    for i, (p, name) in enumerate(zip(policies, names, strict=True)):
        row: dict[str, Any] = {"name": name, "rank": int(ranks[i])}
        if values is not None:
            row["value"] = (str(values[i]) if isinstance(values[i], Fraction)
                            else float(values[i]))
        probs = p.probabilities
        if exact:
            try:
                probs = p.exact_probabilities()
            except ObjspecError:
                pass
        row["actions"] = _describe_policy(env, probs)
        rows.append(row)
    if args.json:
        print(json.dumps({
            "file": str(args.file), "specification": repr(spec), "formalism": spec.acronym,
            "exact": exact, "method": getattr(ev, "method", None),
            "states": list(env.state_names), "actions": list(env.action_names),
            "policies": rows, "notes": notes}, indent=2))
        return 0
    print(f"specification: {spec!r}")
    print(f"environment: {env.n_states} states ({', '.join(env.state_names)}), "
          f"{env.n_actions} actions ({', '.join(env.action_names)})")
    for row in rows:
        line = f"policy {row['name']}: rank {row['rank']}"
        if "value" in row:
            line += f", value {row['value'] if exact else _value_text(row['value'])}"
        print(line)
        if env.n_states <= 12:
            print(f"    {row['actions']}")
    return 0


# ---------------------------------------------------------------------------- optimise


class _Progress:
    """Progress on stderr while a search runs: a tqdm bar when tqdm is installed, else a
    line rewritten in place; shown only when stderr is a terminal (never in pipes, logs
    or tests, where it would be noise)."""

    def __init__(self, what: str, total: int | None = None,
                 time_limit: float | None = None) -> None:
        self.what, self.total, self.time_limit = what, total, time_limit
        self.enabled = sys.stderr.isatty()
        self.bar: Any = None
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Progress:
        if not self.enabled:
            return self
        try:
            from tqdm import tqdm  # optional

            self.bar = tqdm(total=self.total, desc=self.what, file=sys.stderr, leave=False)
        except ImportError:
            self.bar = None
        if self.total is None:  # one long call: tick the elapsed time
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            if self.bar is not None:
                self.bar.set_postfix_str(f"{time.monotonic() - self.start:.1f} s")
            else:
                self._line("")

    def _line(self, item: str) -> None:
        elapsed = time.monotonic() - self.start
        limit = f" of {self.time_limit:g} s" if self.time_limit is not None else ""
        print(f"\r{self.what} {item}{elapsed:.1f} s{limit}   ", end="", file=sys.stderr,
              flush=True)

    def update(self, done: int, total: int, item: str) -> None:
        """``done`` of ``total`` steps finished; ``item`` is the next one."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.n = done
            self.bar.set_postfix_str(item)
            self.bar.refresh()
        else:
            self._line(f"[{done}/{total}] {item} ")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print("\r" + " " * 72 + "\r", end="", file=sys.stderr, flush=True)


def _json_number(x: Any) -> Any:
    """A value for JSON: a Fraction as ``"p/q"``, a number as float, None as null."""
    if x is None:
        return None
    if isinstance(x, Fraction):
        return str(x)
    return float(x)


def _policy_record(env: Any, policy: Any, exact: bool) -> dict[str, Any]:
    """The optimum's policy for output: a stationary one by its ``[S][A]`` probabilities
    (``"p/q"`` strings when ``exact``) and a ``state: action`` description; a
    finite-memory one by its ``[S][memory][A]`` action probabilities."""
    probs = getattr(policy, "probabilities", None)
    if probs is not None:
        shown = probs
        if exact:
            try:
                shown = policy.exact_probabilities()
            except ObjspecError:
                exact = False
        cells = [[str(Fraction(x)) if exact else float(x) for x in row] for row in shown]
        return {"kind": "stationary", "probabilities": cells,
                "description": _describe_policy(env, shown)}
    table = getattr(policy, "action_probabilities", None)
    record: dict[str, Any] = {"kind": type(policy).__name__}
    if table is not None:
        record["action_probabilities"] = np.asarray(table, dtype=float).tolist()
        record["memory_states"] = int(np.asarray(table).shape[1])
        record["description"] = (f"{type(policy).__name__} with "
                                 f"{record['memory_states']} memory states")
    else:
        record["description"] = repr(policy)
    return record


def _optimise(args: argparse.Namespace) -> int:
    if args.table:
        if args.file is not None:
            raise ObjspecError("give either a FILE to optimise or --table, not both")
        return _optimise_table(args)
    if args.file is None:
        raise ObjspecError("give a FILE to optimise (an evaluate file) or --table")
    for flag, given in (("--static", args.static), ("--states", args.states is not None)):
        if given:
            raise ObjspecError(f"{flag} applies only to --table")
    problem = load_problem(args.file, exact=args.exact, require_policies=False)
    env, spec, _ = problem
    from objspec.formalisms.optimisation import GENERIC
    from objspec.formalisms.registry import formalism_info

    info = formalism_info(spec)
    optimiser = info.optimiser if info.optimiser is not None else GENERIC
    if args.policies == "finite-memory" and not optimiser.finite_memory:
        raise InvalidSpecificationError(
            f"--policies finite-memory has no meaning for {info.acronym}: its optimiser "
            f"({optimiser.method}) searches stationary policies, the paper's class")
    where = f"specification ({spec.acronym})"
    with _field(where), _Progress(f"optimising {spec.acronym}", time_limit=args.time_limit):
        opt = spec.optimise(env, policies=args.policies, exact=args.exact, seed=args.seed,
                            time_limit=args.time_limit)
    policy = _policy_record(env, opt.policy, args.exact)
    record = {
        "file": str(args.file), "formalism": spec.acronym, "specification": repr(spec),
        "policies": opt.policies, "exact": args.exact, "seed": args.seed,
        "time_limit": args.time_limit, "value": _json_number(opt.value),
        "guarantee": opt.guarantee, "bound": _json_number(opt.bound), "test": opt.test,
        "method": opt.method, "evidence": opt.evidence, "iterations": int(opt.iterations),
        "seconds": float(opt.seconds), "states": list(env.state_names),
        "actions": list(env.action_names), "policy": policy}
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(f"specification: {spec!r}")
    print(f"environment: {env.n_states} states, {env.n_actions} actions")
    print(f"policy ({opt.policies}): {policy['description']}")
    if opt.value is None:
        print("value: none (an ordering formalism: see evidence)")
    else:
        print(f"value: {_value_text(opt.value)}")
    line = f"guarantee: {opt.guarantee}"
    if opt.bound is not None:
        line += f" (bound {_value_text(opt.bound)}: optimum - value <= bound)"
    print(line)
    if opt.test:
        print(f"test: {opt.test}")
    print(f"method: {opt.method}")
    if opt.evidence:
        print(f"evidence: {opt.evidence}")
    print(f"iterations: {opt.iterations}; time: {opt.seconds:.3g} s")
    return 0


def _optimise_table(args: argparse.Namespace) -> int:
    from objspec.hasse.tractability import tractability_table

    for flag, given in (("--exact", args.exact), ("--policies",
                                                    args.policies != "stationary")):
        if given:
            raise ObjspecError(f"{flag} applies to a FILE, not to --table")
    if args.static:
        table = tractability_table()
    else:
        states = 20 if args.states is None else args.states
        limit = 5.0 if args.time_limit is None else args.time_limit
        seed = 0 if args.seed is None else args.seed
        with _Progress("timing", total=len(tractability_table().rows)) as bar:
            table = tractability_table(measure=True, n_states=states, seed=seed,
                                       time_limit=limit, progress=bar.update)
    if args.json:
        print(json.dumps({"measured": table.measured, "settings": table.settings,
                          "rows": table.as_dicts()}, indent=2))
        return 0
    if table.measured:
        st = table.settings
        print(f"tractability (each formalism optimised once: seeded random {st['n_states']}-"
              f"state, {st['n_actions']}-action labelled MDP, or a rational acyclic one of at "
              f"most {st['acyclic_states']} states for inner nonlinear formalisms; seed "
              f"{st['seed']}; time limit {st['time_limit']:g} s each)")
    print(table)
    return 0


# ---------------------------------------------------------------------------- arguments


class _ArgumentParser(argparse.ArgumentParser):
    """Argument errors as one line (``objspec verify: error: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer_at_least(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers ``>= minimum`` (``what`` names them)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_positive_int = _integer_at_least(1, "a positive integer")


def _seconds(text: str) -> float:
    """An argparse ``type`` accepting a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds, got {text}")
    return value

_seed = _integer_at_least(0, "an integer >= 0")


def _output_file(optional: bool) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not text:
            if optional:
                return text
            raise argparse.ArgumentTypeError("expected a file name")
        path = Path(text)
        if path.suffix.lower() not in _DIAGRAM_SUFFIXES:
            raise argparse.ArgumentTypeError(
                f"{text!r}: the suffix must be .svg, .png or .pdf")
        parent = path.parent
        if not parent.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r}: the folder {str(parent)!r} does not "
                                             "exist")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder")
        return text

    return check


def _version() -> str:
    from objspec import __version__

    return f"objspec {__version__}"


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``objspec`` command."""
    doc = __doc__ or ""
    fmt = doc[doc.index("Evaluate file format"):doc.index("Examples\n")]
    parser = _ArgumentParser(
        prog="objspec",
        description="Executable expressivity theory of RL objective-specification formalisms "
        "(Subramani et al., ICLR 2024).",
        epilog=fmt,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check every construction and witness; print the table",
                       description="Check every construction (random rational environments, "
                       "exact orderings) and every separation witness, print the 17x17 table "
                       "with evidence, the classes and the cover edges; exit 1 on any failure "
                       "or undecided pair.")
    v.add_argument("--seed", type=_seed, default=0, help="base seed of the random instances")
    v.add_argument("--envs", type=_positive_int, default=3,
                   help="random environments per construction (>= 1)")
    v.add_argument("-q", "--quiet", action="store_true", help="omit the per-pair evidence list")
    v.add_argument("-v", "--verbose", action="store_true", help="print each witness's facts")
    v.add_argument("-o", "--diagram", default="hasse.svg", metavar="FILE",
                   type=_output_file(optional=True),
                   help="where to draw the Hasse diagram (.svg, .png or .pdf; default "
                   "hasse.svg; an empty string skips it)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(run=_verify)
    h = sub.add_parser("hasse", help="draw the Hasse diagram",
                       description="Draw the computed Hasse diagram; format from the suffix.")
    h.add_argument("-o", "--output", required=True, type=_output_file(optional=False),
                   help="output file: .svg, .png or .pdf")
    h.add_argument("--colour-by", choices=("class", "guarantee"), default="class",
                   help="fill the classes by size (default) or by the strongest "
                   "optimisation guarantee of their members")
    h.set_defaults(run=_hasse)
    e = sub.add_parser("evaluate", help="rank policies under a spec (JSON file)",
                       description="Evaluate policies under a specification in an environment "
                       "given as one JSON file.",
                       epilog=fmt,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("file", help="JSON file with environment, specification and policies")
    e.add_argument("--exact", action="store_true",
                   help="rational arithmetic where possible (numbers must be exact: \"1/10\")")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(run=_evaluate)
    from objspec.learning.command_line import add_parsers as _add_learning_parsers

    _add_learning_parsers(sub, _environment)  # objspec fit, objspec profile
    o = sub.add_parser("optimise", help="optimise a spec (JSON file), or print the "
                       "tractability table",
                       description="Optimise the specification of an evaluate file (its "
                       "'policies' entry is optional) with the optimiser its formalism "
                       "registers, or print the tractability table (--table).",
                       epilog=fmt,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    o.add_argument("file", nargs="?", default=None,
                   help="JSON file with environment and specification (as for evaluate)")
    o.add_argument("--exact", action="store_true",
                   help="verify and report in rational arithmetic (numbers must be exact)")
    o.add_argument("--seed", type=_seed, default=None, help="seed of the randomised searches")
    o.add_argument("--time-limit", type=_seconds, default=None, metavar="S",
                   help="stop searching after S seconds (> 0); with --table: per formalism "
                   "(default 5)")
    o.add_argument("--policies", choices=("stationary", "finite-memory"),
                   default="stationary",
                   help="the policy class (default: stationary, the paper's)")
    o.add_argument("--table", action="store_true",
                   help="print the tractability table of the registered formalisms")
    o.add_argument("--static", action="store_true",
                   help="with --table: the registered columns only (no timing)")
    o.add_argument("--states", type=_positive_int, default=None, metavar="N",
                   help="with --table: states of the benchmark environment (default 20)")
    o.add_argument("--json", action="store_true", help="print one JSON object")
    o.set_defaults(run=_optimise)
    st = sub.add_parser("study", help="run or report a quantitative expressivity study",
                        description="Quantitative expressivity studies (docs/studies.md): "
                        "run a study declared in TOML on a Dask cluster, or report its "
                        "results.")
    st_sub = st.add_subparsers(dest="study_command", required=True)
    sr = st_sub.add_parser("run", help="run a study (TOML) into a results folder",
                           description="Run the tasks of a study not yet in the results "
                           "folder (resumes), on a local Dask cluster (one worker process "
                           "per core) or on an existing scheduler; rows stream to a Parquet "
                           "dataset in the folder.")
    sr.add_argument("study", help="the study, a TOML file")
    sr.add_argument("--results", required=True, metavar="DIR",
                    help="results folder (created; resumed when it holds this study)")
    where = sr.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_seed, default=None, metavar="N",
                       help="worker processes of the local cluster (default: one per core; "
                       "0: in this process, without Dask)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of an existing Dask scheduler (tcp://host:port)")
    sr.add_argument("--timeout", type=_seconds, default=10.0, metavar="S",
                    help="seconds to wait for --scheduler (default 10)")
    sr.add_argument("--batch", type=_positive_int, default=1, metavar="N",
                    help="task ids per Dask task (default 1; larger batches divide the "
                    "scheduler's per-task overhead on large clusters)")
    sr.set_defaults(run=_study_run)
    sp = st_sub.add_parser("report", help="report a study's results",
                           description="Print the fraction of B-instances each target A "
                           "expressed (95%% Wilson intervals) against the computed verdicts, "
                           "the separations' witness checks and every instance contradicting "
                           "the theory (exit status 1 if any), and draw the figure.")
    sp.add_argument("results", metavar="DIR", help="results folder of objspec study run")
    sp.add_argument("-o", "--figure", default=None, metavar="FILE",
                    type=_output_file(optional=True),
                    help="where to draw the figure (.svg, .png or .pdf; default "
                    "DIR/_report.svg, a name pandas.read_parquet(DIR) skips; an empty string "
                    "skips it)")
    sp.add_argument("--csv", default=None, metavar="FILE",
                    help="also write the rates table as CSV")
    sp.set_defaults(run=_study_report)
    return parser


def _studies() -> Any:
    """objspec.studies, or a named error when its extra (dask, pandas, pyarrow) is missing."""
    from objspec.errors import StudyError

    try:
        import distributed  # noqa: F401
        import pandas  # noqa: F401
        import tqdm  # noqa: F401

        import objspec.studies as studies
    except ImportError as exc:
        raise StudyError(f"objspec study needs the studies extra ({exc.name} is missing): "
                         "pip install 'objspec[studies]'") from None
    return studies


def _study_run(args: argparse.Namespace) -> int:
    studies = _studies()
    load_study, run_study = studies.load_study, studies.run_study
    study = load_study(args.study)
    summary = run_study(study, args.results, workers=args.workers, scheduler=args.scheduler,
                        timeout=args.timeout, batch=args.batch)
    print(f"study {study.name!r}: {summary.total} tasks, {summary.skipped} already done, "
          f"{summary.ran} run ({summary.errors} failed) in {summary.seconds:.1f} s; "
          f"results in {args.results}")
    return 0


def _study_report(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rep = _studies().report(args.results)
    print(rep)
    figure = str(Path(args.results) / "_report.svg") if args.figure is None else args.figure
    if figure:
        fig = rep.figure()
        fig.savefig(figure, bbox_inches="tight")
        plt.close(fig)
        print(f"figure: {figure}")
    if args.csv:
        rep.rates.to_csv(args.csv, index=False)
    if rep.bugs:
        print(f"objspec study report: BUG: {rep.bugs} instance(s) contradict the theory "
              "(listed above)", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``objspec`` console script; returns the exit status.

    Input errors print one line ``objspec COMMAND: error: ...`` on stderr and return 2.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ObjspecError as exc:
        print(f"objspec {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C during a long search: one line, no traceback
        print(f"objspec {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (``| head``)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
