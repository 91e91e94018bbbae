"""One study task: sample an environment and a source specification, fit every target.

:func:`run_task` is what a worker runs. It never raises: a task that fails is a row whose
``error`` says why (the runner writes it like any other). Everything in a row except the
timings and the worker's name is a function of the study and the task id.

A target's outcome is one of

* ``expressible = True``: :func:`objspec.learning.fit` found a specification (``margin``);
* ``expressible = False``: it raised :class:`~objspec.errors.NotExpressibleError` with a
  certificate (``certificate_size`` comparisons; ``certificate_ok`` whether
  ``certificate.check()`` passed);
* ``expressible = None`` with a ``reason``: the target registers no fitter, a bounded search
  found nothing (:class:`~objspec.errors.NoFitFoundError`), or the fit failed.

Examples
--------
>>> from objspec.studies.definition import parse_study
>>> study = parse_study('''
... sources = ["MR"]
... targets = ["MR", "PO"]
... instances = 1
... [[environments]]
... generator = "random_rational_mdp"
... states = 2
... ''')
>>> row = run_task(study, study.task_ids()[0])
>>> row["error"], row["MR.expressible"], row["PO.expressible"]
(None, True, True)
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import NoFitFoundError, NotExpressibleError, ObjspecError
from objspec.formalisms.registry import formalism_info
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.studies.definition import EnvironmentGenerator, Study, _witnesses, task_rng

__all__ = ["TARGET_FIELDS", "Instance", "instance", "run_task", "target_columns",
           "task_columns"]

#: Per-target columns of a row (named ``"<target>.<field>"``) with their Arrow types.
TARGET_FIELDS: dict[str, str] = {
    "expressible": "bool", "reason": "string", "margin": "float64",
    "certificate_size": "int64", "certificate_ok": "bool", "method": "string",
    "seconds": "float64",
}

_TASK_FIELDS: dict[str, str] = {
    "task_id": "string", "generator": "string", "source": "string", "witness": "string",
    "environment": "int64", "specification": "int64", "n_states": "int64",
    "n_actions": "int64", "n_policies": "int64", "n_classes": "int64",
    "source_exact": "bool", "gamma": "string", "gamma_from": "string", "error": "string",
    "worker": "string", "sample_seconds": "float64", "task_seconds": "float64",
}


def task_columns() -> dict[str, str]:
    """The columns every row has, with their Arrow types."""
    return dict(_TASK_FIELDS)


def target_columns(targets: tuple[str, ...]) -> dict[str, str]:
    """The per-target columns of a study with these targets, with their Arrow types."""
    return {f"{t}.{k}": v for t in targets for k, v in TARGET_FIELDS.items()}


class Instance:
    """A sampled instance: environment, source specification, policies, their ordering."""

    def __init__(self, env: FiniteMDP, spec: Any, policies: list[Any], ranks: np.ndarray,
                 exact: bool, source: str, witness: str | None) -> None:
        self.env, self.spec, self.policies = env, spec, policies
        self.ranks, self.exact, self.source, self.witness = ranks, exact, source, witness

    def comparisons(self) -> Any:
        """The source ordering as :class:`objspec.learning.Comparisons` (a full ranking)."""
        from objspec.formalisms.fitting import Comparisons

        groups: dict[int, list[int]] = {}
        for i, r in enumerate(self.ranks):
            groups.setdefault(int(r), []).append(i)
        return Comparisons.from_ranking(self.policies,
                                        [tuple(groups[k]) for k in sorted(groups)])


def _environment(study: Study, g: EnvironmentGenerator, key: str, acyclic: bool) -> FiniteMDP:
    from objspec.environments.generators import random_labelled_mdp, random_mdp
    from objspec.reductions.checking import random_rational_mdp

    rng = task_rng(study.seed, key)
    if g.generator == "random_rational_mdp":
        return random_rational_mdp(g.states, g.actions, rng, acyclic=acyclic)
    if g.generator == "random_mdp":
        return random_mdp(g.states, g.actions, g.successors, seed=rng)
    return random_labelled_mdp(g.states, g.actions, g.propositions, g.successors,
                               density=g.density, seed=rng)


def instance(study: Study, task_id: str) -> Instance:
    """The instance of a task (deterministic in the study and the task id)."""
    from objspec.reductions.checking import induced_ranks, rational_policies

    k, rest = task_id.split("-", 1)
    g = study.environments[int(k)]
    if g.generator == "witness":
        w = _witnesses([rest.split("-", 1)[1]])[0]
        env, spec, policies = w.env, w.spec, list(w.policies)
        ranks, exact = induced_ranks(spec, env, policies)
        return Instance(env, spec, policies, ranks, exact, w.b, w.name)
    source, e, _ = rest.rsplit("-", 2)
    info = formalism_info(source)
    acyclic = info.acyclic_sampler if g.acyclic is None else g.acyclic
    env_key = f"{k}-env-{e}-{'acyclic' if acyclic else 'cyclic'}"
    env = _environment(study, g, env_key, acyclic)
    policies = rational_policies(env, study.policies.random, task_rng(study.seed, env_key),
                                 max_deterministic=study.policies.max_deterministic)
    if not policies:
        raise ObjspecError(f"{task_id}: no policies sampled (policies.random = 0 and more "
                           f"than {study.policies.max_deterministic} deterministic ones)")
    assert info.sampler is not None  # Study checks every source has one
    spec = info.sampler(env, task_rng(study.seed, task_id))
    if env.is_exact:
        ranks, exact = induced_ranks(spec, env, policies)
    else:  # float transitions: float policies and the float evaluator (ties by its tolerance)
        policies = [Policy(p.probabilities) for p in policies]
        ranks, exact = np.asarray(spec.compile(env).rank(policies)), False
    return Instance(env, spec, policies, ranks, exact, source, None)


def _gamma_for(study: Study, spec: Any) -> tuple[Any, str]:
    """The source's own discount when it has one (constructions keep it), else the study's;
    and which it is (``"source"`` or ``"study"``)."""
    g = getattr(spec, "gamma", None)
    if isinstance(g, (Fraction, float, int)) and not isinstance(g, bool):
        return g, "source"
    return study.gamma, "study"


def _fit_one(study: Study, target: str, inst: Instance, data: Any, gamma: Any
             ) -> dict[str, Any]:
    from objspec.learning import fit

    out: dict[str, Any] = {"expressible": None, "reason": None, "margin": None,
                           "certificate_size": None, "certificate_ok": None, "method": None}
    if formalism_info(target).fitter is None:
        out["reason"] = f"no fitter: {target} registers none"
        return out
    start = time.perf_counter()
    try:
        result = fit(target, inst.env, data, gamma=gamma, exact=study.exact,
                     **study.target_options.get(target, {}))
    except NotExpressibleError as exc:
        out["expressible"] = False
        cert = exc.certificate
        if cert is None:
            out["reason"] = "not expressible, without a certificate"
        else:
            out["certificate_size"] = len(getattr(cert, "comparisons", ()))
            if study.check_certificates:
                out["certificate_ok"] = _certificate_ok(cert)
    except NoFitFoundError as exc:
        out["reason"] = f"bounded search: {exc}"
    except Exception as exc:  # a fitter's failure is this target's outcome, not the task's
        out["reason"] = f"fit failed: {type(exc).__name__}: {exc}"
    else:
        out["expressible"] = bool(result.consistent)
        out["margin"] = None if result.margin is None else float(result.margin)
        out["method"] = result.method
    out["seconds"] = time.perf_counter() - start
    return out


def _certificate_ok(cert: Any) -> bool:
    try:
        cert.check()
    except ObjspecError:
        return False
    return True


def run_task(study: Study, task_id: str) -> dict[str, Any]:
    """The result row of one task (never raises: failures are recorded in ``error``)."""
    start = time.perf_counter()
    row: dict[str, Any] = dict.fromkeys([*task_columns(), *target_columns(study.targets)])
    k, rest = task_id.split("-", 1)
    row.update(task_id=task_id, worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        g = study.environments[int(k)]
        row["generator"] = g.label()
        if g.generator != "witness":
            source, e, j = rest.rsplit("-", 2)
            row.update(source=source, environment=int(e[1:]), specification=int(j[1:]))
        inst = instance(study, task_id)
        gamma, gamma_from = _gamma_for(study, inst.spec)
        row.update(source=inst.source, witness=inst.witness, n_states=inst.env.n_states,
                   n_actions=inst.env.n_actions, n_policies=len(inst.policies),
                   n_classes=int(np.max(inst.ranks)) + 1, source_exact=bool(inst.exact),
                   gamma=str(gamma), gamma_from=gamma_from,
                   sample_seconds=time.perf_counter() - start)
        if len(inst.policies) < 2:
            for t in study.targets:
                row[f"{t}.reason"] = f"no comparisons: {len(inst.policies)} policy"
        else:
            data = inst.comparisons()
            for t in study.targets:
                for key, value in _fit_one(study, t, inst, data, gamma).items():
                    row[f"{t}.{key}"] = value
    except Exception as exc:  # recorded, not lost: the report counts and lists errors
        last = traceback.extract_tb(exc.__traceback__)[-1]
        row["error"] = (f"{type(exc).__name__}: {exc} "
                        f"({last.filename.rsplit('/', 1)[-1]}:{last.lineno})")
    row["task_seconds"] = time.perf_counter() - start
    return row
