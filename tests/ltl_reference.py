"""Independent references for the LTL tests: lasso-word semantics and Storm oracles.

Not collected as tests (no ``test_`` prefix); imported by ``tests/test_ltl_*.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from objspec.ltl import syntax as s


def holds_on_lasso(
    f: s.Formula, prefix: Sequence[frozenset[str]], cycle: Sequence[frozenset[str]]
) -> bool:
    """Whether ``prefix cycle^omega`` satisfies ``f``, by direct evaluation of the semantics.

    Positions ``0 .. n-1`` with ``n = len(prefix) + len(cycle)``; the successor of ``n-1`` is
    ``len(prefix)``. Until is computed as a least fixpoint over these finitely many positions.
    """
    word = list(prefix) + list(cycle)
    n = len(word)
    loop = len(prefix)

    def nxt(i: int) -> int:
        return i + 1 if i + 1 < n else loop

    memo: dict[s.Formula, list[bool]] = {}

    def ev(g: s.Formula) -> list[bool]:
        if g in memo:
            return memo[g]
        if isinstance(g, s.Constant):
            out = [g.value] * n
        elif isinstance(g, s.Atom):
            out = [g.name in word[i] for i in range(n)]
        elif isinstance(g, s.Not):
            out = [not v for v in ev(g.operand)]
        elif isinstance(g, s.And):
            out = [a and b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Or):
            out = [a or b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Implies):
            out = [(not a) or b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Equivalent):
            out = [a == b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Xor):
            out = [a != b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Next):
            inner = ev(g.operand)
            out = [inner[nxt(i)] for i in range(n)]
        elif isinstance(g, s.Finally):
            out = until([True] * n, ev(g.operand))
        elif isinstance(g, s.Globally):
            out = [not v for v in until([True] * n, [not v for v in ev(g.operand)])]
        elif isinstance(g, s.Until):
            out = until(ev(g.left), ev(g.right))
        elif isinstance(g, s.Release):
            a, b = ev(g.left), ev(g.right)
            out = [not v for v in until([not x for x in a], [not x for x in b])]
        elif isinstance(g, s.WeakUntil):
            a, b = ev(g.left), ev(g.right)
            u = until(a, b)
            gl = [not v for v in until([True] * n, [not x for x in a])]
            out = [x or y for x, y in zip(u, gl, strict=True)]
        elif isinstance(g, s.StrongRelease):
            a, b = ev(g.left), ev(g.right)
            out = until(b, [x and y for x, y in zip(a, b, strict=True)])
        else:
            raise TypeError(g)
        memo[g] = out
        return out

    def until(a: list[bool], b: list[bool]) -> list[bool]:
        val = list(b)
        changed = True
        while changed:
            changed = False
            for i in range(n):
                if not val[i] and a[i] and val[nxt(i)]:
                    val[i] = True
                    changed = True
        return val

    return ev(f)[0]


def storm_environment():  # type: ignore[no-untyped-def]
    """A Storm environment accurate to rounding: native Gauss-Seidel for linear systems and
    policy iteration for MDPs, both with an absolute precision of 1e-14.

    (Storm's defaults, and its Eigen solver, stop at about 1e-6 to 1e-8; with these settings
    Storm agrees with an independent direct solve to about 1e-13.)
    """
    import stormpy
    import stormpy.environments as E

    precision = stormpy.Rational("1/100000000000000")
    env = stormpy.Environment()
    solver = env.solver()
    solver.set_linear_equation_solver_type(E.EquationSolverType.NATIVE)
    native = solver.native()
    native.method = E.NativeLinearEquationSolverMethod.GAUSS_SEIDEL
    native.precision = precision
    native.relative_termination_criterion = False
    native.maximal_number_of_iterations = 10**8
    min_max = solver.min_max()
    min_max.method = E.MinMaxMethod.POLICY_ITERATION
    min_max.precision = precision
    min_max.relative_termination_criterion = False
    return env


def _storm_dtmc(P, labels, propositions=()):  # type: ignore[no-untyped-def]
    """A Storm DTMC from a dense row-stochastic matrix and a list of label sets per state."""
    import numpy as np
    import stormpy.datastructures as d
    import stormpy.models as m

    n = P.shape[0]
    b = d.SparseMatrixBuilder[float](n, n, 0, True, False, 0)
    rows, cols = np.nonzero(P)
    b.add_next_values(rows.tolist(), cols.tolist(), P[rows, cols].tolist())
    lab = m.StateLabeling(n)
    names = sorted(set().union(*labels) | {"init"} | set(propositions))
    for name in names:
        lab.add_label(name)
    for state, ls in enumerate(labels):
        for name in set(ls) | {"init"}:
            lab.add_label_to_state(name, state)
    comp = m.SparseModelComponents[float](transition_matrix=b.build(), state_labeling=lab)
    return m.SparseDtmc[float](comp)


def storm_chain(env, pi):  # type: ignore[no-untyped-def]
    """``(P, labels, mu0)``: a chain whose state-label word is the env's label word under pi.

    State labels: the induced chain itself. Transition labels: one chain state per
    transition ``(s, a, s')`` labelled ``L(s, a, s')``.
    """
    import numpy as np

    tau = np.asarray(env.transitions)
    S, A = env.n_states, env.n_actions
    if env.state_labels is not None:
        P = np.einsum("sa,sat->st", pi, tau)
        return P, [set(x) for x in env.state_labels], np.asarray(env.initial)
    trans = [(s, a, t) for s in range(S) for a in range(A) for t in range(S) if tau[s, a, t] > 0]
    index = {x: i for i, x in enumerate(trans)}
    n = len(trans)
    P = np.zeros((n, n))
    for (_, _, t), i in index.items():
        for a2 in range(A):
            for u in range(S):
                if tau[t, a2, u] > 0:
                    P[i, index[(t, a2, u)]] += pi[t, a2] * tau[t, a2, u]
    # rows of transitions whose source is never left with positive weight still need mass
    for i in range(n):
        if P[i].sum() == 0:
            P[i, i] = 1.0
    mu0 = np.array([env.initial[s] * pi[s, a] * tau[s, a, t] for (s, a, t) in trans])
    labels = [set(env.label(s, a, t)) for (s, a, t) in trans]
    return P, labels, mu0


def without_constants(f: s.Formula, atom: str) -> s.Formula:
    """``f`` with ``true``/``false`` spelled ``atom | !atom`` and ``atom & !atom``.

    Storm 2.0.0 rejects some LTL formulas with boolean constants inside ("unknown label
    '!((!(false) | false))'"), so the oracle never sees a constant.
    """
    if isinstance(f, s.Constant):
        a = s.Atom(atom)
        return s.Or(a, s.Not(a)) if f.value else s.And(a, s.Not(a))
    if isinstance(f, s.UnaryOperator):
        return type(f)(without_constants(f.operand, atom))
    if isinstance(f, s.BinaryOperator):
        return type(f)(without_constants(f.left, atom), without_constants(f.right, atom))
    return f


def storm_text(f: s.Formula, propositions: Sequence[str]) -> str:
    """The formula in Storm syntax, constants spelled out over the first proposition."""
    return without_constants(f, propositions[0] if propositions else "init").to_storm()


def restrict_to_reachable(P, labels, mu0):  # type: ignore[no-untyped-def]
    """The sub-chain on the states reachable from the support of ``mu0``.

    Storm 2.0.0 sometimes fails on chains with states unreachable from the initial ones
    ("Invalid item count of state labeling"), so the oracle only sees reachable states.
    """
    import numpy as np

    seen = set(np.flatnonzero(mu0 > 0).tolist())
    stack = list(seen)
    while stack:
        i = stack.pop()
        for j in np.flatnonzero(P[i] > 0).tolist():
            if j not in seen:
                seen.add(j)
                stack.append(j)
    keep = np.array(sorted(seen))
    return P[np.ix_(keep, keep)], [labels[i] for i in keep], mu0[keep]


def storm_probabilities(env, pis, formula) -> list[float]:  # type: ignore[no-untyped-def]
    """``P=? [formula]`` by Storm for several policies with one model check: the chains of
    all policies as one disjoint union."""
    import numpy as np
    import stormpy

    blocks = [restrict_to_reachable(*storm_chain(env, np.asarray(pi, dtype=float)))
              for pi in pis]
    sizes = [b[0].shape[0] for b in blocks]
    n = sum(sizes)
    P = np.zeros((n, n))
    labels: list[set[str]] = []
    offset = 0
    for (Pb, lb, _), size in zip(blocks, sizes, strict=True):
        P[offset : offset + size, offset : offset + size] = Pb
        labels.extend(lb)
        offset += size
    dtmc = _storm_dtmc(P, labels, env.propositions)
    prop = stormpy.parse_properties(f"P=? [ {storm_text(formula, env.propositions)} ]")[0]
    result = stormpy.model_checking(dtmc, prop, environment=storm_environment())
    values = np.array(result.get_value_vector())
    out, offset = [], 0
    for (_, _, mu0), size in zip(blocks, sizes, strict=True):
        out.append(float(mu0 @ values[offset : offset + size]))
        offset += size
    return out


def storm_probability(env, pi, formula) -> float:  # type: ignore[no-untyped-def]
    """``P=? [formula]`` by Storm on the chain induced by ``pi``, averaged over ``mu0``."""
    import numpy as np
    import stormpy

    P, labels, mu0 = restrict_to_reachable(*storm_chain(env, np.asarray(pi, dtype=float)))
    dtmc = _storm_dtmc(P, labels, env.propositions)
    prop = stormpy.parse_properties(f"P=? [ {storm_text(formula, env.propositions)} ]")[0]
    result = stormpy.model_checking(dtmc, prop, environment=storm_environment())
    values = np.array(result.get_value_vector())
    return float(mu0 @ values)


def _storm_mdp(rows_of_state, labels, propositions):  # type: ignore[no-untyped-def]
    """A Storm MDP: ``rows_of_state[i]`` is a list of choices, each a dict ``{target: p}``."""
    import stormpy.datastructures as d
    import stormpy.models as m

    n = len(rows_of_state)
    b = d.SparseMatrixBuilder[float](0, n, 0, False, True, 0)
    row = 0
    for choices in rows_of_state:
        b.new_row_group(row)
        for choice in choices:
            for t in sorted(choice):
                b.add_next_value(row, t, float(choice[t]))
            row += 1
    lab = m.StateLabeling(n)
    names = sorted(set().union(*labels) | {"init"} | set(propositions))
    for name in names:
        lab.add_label(name)
    for state, ls in enumerate(labels):
        for name in set(ls) | {"init"}:
            lab.add_label_to_state(name, state)
    comp = m.SparseModelComponents[float](transition_matrix=b.build(), state_labeling=lab)
    return m.SparseMdp[float](comp)


def storm_maximal_probability(env, formula) -> float:  # type: ignore[no-untyped-def]
    """``Pmax=? [formula]`` by Storm, from the env's initial distribution.

    State labels: the MDP itself. Transition labels: an MDP whose states are the transitions
    ``(s, a, s')`` (labelled ``L(s, a, s')``), and the first action is maximised by hand:
    ``Pmax(s) = max_a sum_s' tau(s'|s, a) V(s, a, s')``.
    """
    import numpy as np
    import stormpy

    tau = np.asarray(env.transitions)
    S, A = env.n_states, env.n_actions
    prop = stormpy.parse_properties(f"Pmax=? [ {storm_text(formula, env.propositions)} ]")[0]
    if env.state_labels is not None:
        rows = [[{t: tau[s, a, t] for t in np.flatnonzero(tau[s, a])} for a in range(A)]
                for s in range(S)]
        mdp = _storm_mdp(rows, [set(x) for x in env.state_labels], env.propositions)
        result = stormpy.model_checking(mdp, prop, environment=storm_environment())
        return float(np.asarray(env.initial) @ np.array(result.get_value_vector()))
    trans = [(s, a, t) for s in range(S) for a in range(A) for t in range(S) if tau[s, a, t] > 0]
    index = {x: i for i, x in enumerate(trans)}
    rows = [
        [{index[(t, a2, u)]: tau[t, a2, u] for u in np.flatnonzero(tau[t, a2])}
         for a2 in range(A)]
        for (_, _, t) in trans
    ]
    labels = [set(env.label(*x)) for x in trans]
    mdp = _storm_mdp(rows, labels, env.propositions)
    result = stormpy.model_checking(mdp, prop, environment=storm_environment())
    v = np.array(result.get_value_vector())
    best = np.array([
        max(sum(tau[s, a, t] * v[index[(s, a, t)]] for t in np.flatnonzero(tau[s, a]))
            for a in range(A))
        for s in range(S)
    ])
    return float(np.asarray(env.initial) @ best)


def with_time_limit(seconds: float, fn, *args):  # type: ignore[no-untyped-def]
    """Run ``fn(*args)`` in a forked process; raise ``TimeoutError`` after ``seconds``.

    Storm (through Spot) occasionally takes minutes and many GB on a random formula that
    objspec translates in milliseconds; the oracle gives up on those instead of hanging.
    The fork shares ``fn`` and ``args`` (nothing is pickled but the result); exceptions come
    back as ``RuntimeError`` with the original message.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", fn(*args)))
        except Exception as exc:  # reported to the parent
            send.send(("error", f"{type(exc).__name__}: {exc}"))

    process = ctx.Process(target=child)
    process.start()
    try:
        if not receive.poll(seconds):
            raise TimeoutError(f"{getattr(fn, '__name__', fn)} took over {seconds} s")
        status, value = receive.recv()
    finally:
        if process.is_alive():
            process.kill()
        process.join()
    if status == "error":
        raise RuntimeError(value)
    return value


# ---------------------------------------------------------------- an automaton-free oracle


def _normal(g: s.Formula) -> s.Formula:
    """``g`` over ``true``, atoms, ``!``, ``&``, ``X`` and ``U`` only (the derived operators
    rewritten by their definitions in :mod:`objspec.ltl.syntax`)."""
    if isinstance(g, (s.Constant, s.Atom)):
        return g
    if isinstance(g, s.Not):
        return s.Not(_normal(g.operand))
    if isinstance(g, s.Next):
        return s.Next(_normal(g.operand))
    if isinstance(g, s.Finally):
        return s.Until(s.TRUE, _normal(g.operand))
    if isinstance(g, s.Globally):
        return s.Not(s.Until(s.TRUE, s.Not(_normal(g.operand))))
    a, b = _normal(g.left), _normal(g.right)  # type: ignore[attr-defined]
    if isinstance(g, s.And):
        return s.And(a, b)
    if isinstance(g, s.Or):
        return s.Not(s.And(s.Not(a), s.Not(b)))
    if isinstance(g, s.Implies):
        return s.Not(s.And(a, s.Not(b)))
    if isinstance(g, s.Equivalent):
        return s.Not(s.And(s.Not(s.And(a, b)), s.Not(s.And(s.Not(a), s.Not(b)))))
    if isinstance(g, s.Xor):
        return s.Not(s.And(s.Not(s.And(a, s.Not(b))), s.Not(s.And(s.Not(a), b))))
    if isinstance(g, s.Until):
        return s.Until(a, b)
    if isinstance(g, s.Release):  # a R b = !(!a U !b)
        return s.Not(s.Until(s.Not(a), s.Not(b)))
    if isinstance(g, s.WeakUntil):  # a W b = (a U b) | G a
        return _normal(s.Or(s.Until(g.left, g.right), s.Globally(g.left)))
    if isinstance(g, s.StrongRelease):  # a M b = b U (a & b)
        return s.Until(b, s.And(a, b))
    raise TypeError(g)


def objspec_exact_chain_value(objective, P, labels, mu0, propositions):  # type: ignore[no-untyped-def]
    """objspec's exact satisfaction probability of ``objective`` (a formula or an automaton)
    on the Markov chain ``(P, labels, mu0)`` of Fractions, as a one-action MDP."""
    import numpy as np

    from objspec.formalisms import LinearTemporalLogic
    from objspec.mdp.model import FiniteMDP
    from objspec.mdp.policy import Policy

    n = len(labels)
    tau = np.empty((n, 1, n), dtype=object)
    tau[:, 0, :] = np.array(P, dtype=object)
    env = FiniteMDP(tau, np.array(mu0, dtype=object),
                    labels={i: labels[i] for i in range(n)}, propositions=propositions)
    pi = Policy(np.ones((n, 1), dtype=object))
    return LinearTemporalLogic(objective).compile(env, exact=True).exact_value(pi)


def chain_probability(f: s.Formula, P, labels, mu0):  # type: ignore[no-untyped-def]
    """``P(xi |= f)`` for the Markov chain ``(P, mu0)`` with state labels ``labels``, exactly.

    Courcoubetis and Yannakakis's chain refinement (J. ACM 42(4), 1995), without any
    automaton: the temporal subformulas of ``f`` are treated innermost first; for each one
    ``xi``, every state ``s`` is split into ``(s, true)`` and ``(s, false)``, the truth of
    ``xi`` on the path from ``s``, with the transition probabilities conditioned on it (a
    Doob transform): for ``X p``, ``(s, b)`` moves to ``t`` with ``p(t) = b``; for
    ``p U q``, while ``p & !q`` holds, ``(s, b)`` keeps ``b`` with weights
    ``P(s, t) P_t(b) / P_s(b)``. On almost every path of the refined chain every bit equals
    the truth of its subformula, so ``P(f)`` is the initial mass of the states whose bits
    and labels make ``f`` true. Probabilities of ``p U q`` are solved exactly (Fractions);
    nothing of objspec's translation, automata or products is used.

    ``P``: square matrix (rows sum to 1); ``labels``: one set of names per state; ``mu0``:
    the initial distribution. Entries are converted with ``Fraction`` (exact for floats);
    every row must then sum to exactly 1 (``ValueError`` otherwise: float rows rarely do).
    """
    from fractions import Fraction

    n = len(labels)
    F = Fraction
    rows: list[dict[int, Fraction]] = [
        {t: F(P[i][t]) for t in range(n) if P[i][t] != 0} for i in range(n)]
    for i, row in enumerate(rows):
        if sum(row.values()) != 1:
            # the refinement divides by path probabilities: rows that miss 1 by a rounding
            # error give wrong answers, not slightly wrong ones
            raise ValueError(f"row {i} of P sums to {float(sum(row.values()))!r}, not exactly 1; "
                             "give rational rows (Fractions)")
    init = {i: F(mu0[i]) for i in range(n) if mu0[i] != 0}
    # states carry (original state, bits of the subformulas treated so far)
    truth: list[dict[s.Formula, bool]] = [{} for _ in range(n)]
    label_of = [frozenset(x) for x in labels]
    g = _normal(f)

    def holds(state: int, h: s.Formula) -> bool:
        if isinstance(h, s.Constant):
            return h.value
        if isinstance(h, s.Atom):
            return h.name in label_of[state]
        if isinstance(h, s.Not):
            return not holds(state, h.operand)
        if isinstance(h, s.And):
            return holds(state, h.left) and holds(state, h.right)
        return truth[state][h]  # a temporal subformula already refined

    def temporal_post_order(h: s.Formula, out: list[s.Formula]) -> None:
        for c in getattr(h, "children", lambda: ())():
            temporal_post_order(c, out)
        if isinstance(h, (s.Next, s.Until)) and h not in out:
            out.append(h)

    order: list[s.Formula] = []
    temporal_post_order(g, order)
    for xi in order:
        m = len(rows)
        if isinstance(xi, s.Next):
            q = [sum((p for t, p in rows[i].items() if holds(t, xi.operand)), F(0))
                 for i in range(m)]
        else:
            assert isinstance(xi, s.Until)
            good = [holds(i, xi.right) for i in range(m)]
            on = [holds(i, xi.left) and not good[i] for i in range(m)]
            # states that can reach a q-state through p-states
            can = set(i for i in range(m) if good[i])
            changed = True
            while changed:
                changed = False
                for i in range(m):
                    if i not in can and on[i] and any(t in can for t in rows[i]):
                        can.add(i)
                        changed = True
            unknown = [i for i in range(m) if on[i] and i in can]
            value = _solve_reach(rows, unknown, good)
            q = [F(1) if good[i] else value.get(i, F(0)) for i in range(m)]
        # split every state into (state, bit) with positive probability
        new_index: dict[tuple[int, bool], int] = {}
        for i in range(m):
            for bit, w in ((True, q[i]), (False, 1 - q[i])):
                if w > 0:
                    new_index[(i, bit)] = len(new_index)
        new_rows: list[dict[int, Fraction]] = [{} for _ in new_index]
        new_truth: list[dict[s.Formula, bool]] = [{} for _ in new_index]
        new_origin: list[int] = [0] * len(new_index)

        def weight(t: int, c: bool, q: list[Fraction] = q) -> Fraction:
            return q[t] if c else 1 - q[t]

        for (i, bit), k in new_index.items():
            new_truth[k] = {**truth[i], xi: bit}
            new_origin[k] = i
            wb = weight(i, bit)
            out = new_rows[k]
            for t, p in rows[i].items():
                for c in (True, False):
                    if (t, c) not in new_index:
                        continue
                    if isinstance(xi, s.Next):
                        if holds(t, xi.operand) != bit:
                            continue
                        w = p / wb * weight(t, c)
                    elif holds(i, xi.right) or not holds(i, xi.left):
                        w = p * weight(t, c)  # the bit at i does not depend on the future
                    else:
                        if c != bit:
                            continue
                        w = p * weight(t, c) / wb
                    if w:
                        out[new_index[(t, c)]] = out.get(new_index[(t, c)], F(0)) + w
        init = {new_index[(i, c)]: w * weight(i, c) for i, w in init.items()
                for c in (True, False) if (i, c) in new_index}
        label_of = [label_of[new_origin[k]] for k in range(len(new_index))]
        rows, truth = new_rows, new_truth
    return sum((w for i, w in init.items() if holds(i, g)), Fraction(0))


def _solve_reach(rows, unknown, good):  # type: ignore[no-untyped-def]
    """``x_i = sum_t P(i, t) x_t`` on ``unknown`` with ``x = 1`` on ``good`` and 0 elsewhere:
    exact sparse Gaussian elimination over Fractions (the system is non-singular because
    every unknown state reaches a good state)."""
    from fractions import Fraction

    idx = set(unknown)
    eqs: dict[int, dict[int | None, Fraction]] = {}
    for i in unknown:
        row: dict[int | None, Fraction] = {i: Fraction(1)}
        for t, p in rows[i].items():
            if t in idx:
                row[t] = row.get(t, Fraction(0)) - p
            elif good[t]:
                row[None] = row.get(None, Fraction(0)) + p
        eqs[i] = row
    order = list(unknown)
    for k, i in enumerate(order):  # forward elimination, pivot on the diagonal
        piv = eqs[i][i]
        for j in order[k + 1:]:
            factor = eqs[j].get(i)
            if not factor:
                continue
            factor = factor / piv
            for col, v in eqs[i].items():
                nv = eqs[j].get(col, Fraction(0)) - factor * v
                if nv:
                    eqs[j][col] = nv
                else:
                    eqs[j].pop(col, None)
    value: dict[int, Fraction] = {}
    for i in reversed(order):
        row = eqs[i]
        acc = row.get(None, Fraction(0)) - sum(
            (v * value[c] for c, v in row.items() if c is not None and c != i), Fraction(0))
        value[i] = acc / row[i]
    return value
