"""Jupyter printers: SVG state graphs, policy and evaluation tables, reward machines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from objspec import FiniteMDP, Policy
from objspec.display import (
    Table,
    evaluation_table,
    graph_svg,
    mdp_svg,
    policy_html,
)
from objspec.environments import E3, E4, E7, gridworld, office_world, random_mdp
from objspec.errors import InvalidPolicyError, ObjspecError
from objspec.formalisms import MarkovReward

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_mdp_graph_has_states_edges_labels_and_initial_arrow() -> None:
    env = E3(labels={1: ["done"]})
    root = _parse(env._repr_svg_() or "")
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    texts = _texts(root)
    assert {"s0", "s1", "{done}", "any 1"} <= set(texts)
    # one initial arrow (a line) into s0; edges are paths
    assert len(list(root.iter(f"{SVG}line"))) == 1
    assert len(list(root.iter(f"{SVG}path"))) >= 2 + 1  # 2 edges + arrow marker


def test_mdp_graph_groups_actions_by_probability() -> None:
    P = np.zeros((2, 3, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.5, 0.5]
    P[0, 2] = [0.0, 1.0]
    P[1, :, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0], action_names=["x", "y", "z"])
    texts = _texts(_parse(mdp_svg(env)))
    assert "x,y 0.5" in texts and "x,y 0.5; z 1" in texts and "any 1" in texts


def test_policy_chain_edges_carry_probabilities() -> None:
    svg = mdp_svg(E7(), Policy([[0.3, 0.7], [0.5, 0.5]]))
    texts = _texts(_parse(svg))
    assert sorted(texts) == sorted(["0.3", "0.7", "0.5", "0.5", "s1", "s2"])


def test_gridworld_drawn_as_grid_with_walls_and_policy_arrows() -> None:
    env = office_world(label_on="state")
    root = _parse(mdp_svg(env, Policy.deterministic(np.zeros(108, dtype=np.int64), 4)))
    rects = list(root.iter(f"{SVG}rect"))
    assert len(rects) >= 108
    texts = _texts(root)
    assert texts.count("n") == 6 and "S" in texts and texts.count("f") == 2
    lines = list(root.iter(f"{SVG}line"))
    walls = [ln for ln in lines if ln.get("stroke-width") == "3"]
    arrows = [ln for ln in lines if ln.get("stroke") == "#1f5fa8"]
    assert len(walls) > 20
    # "up" moves everywhere except where a wall or the border blocks it
    blocked_up = sum(env.transitions[s, 0, s] == 1.0 for s in range(108))
    assert len(arrows) == 108 - blocked_up


def test_small_gridworld_uses_grid_positions() -> None:
    env = gridworld("S.g")
    root = _parse(mdp_svg(env))
    circles = list(root.iter(f"{SVG}circle"))
    xs = [float(c.get("cx", "0")) for c in circles]
    ys = {c.get("cy") for c in circles}
    assert xs == sorted(xs) and len(ys) == 1


def test_large_mdp_falls_back_to_plain_repr() -> None:
    env = random_mdp(60, 2, 3, seed=0)
    assert env._repr_svg_() is None
    with pytest.raises(ObjspecError, match="60 states"):
        mdp_svg(env)
    assert "<svg" in mdp_svg(env, max_states=60)


def test_policy_html_table() -> None:
    pi = Policy([[0.25, 0.75], [1.0, 0.0]])
    text = pi._repr_html_()
    assert text.count("<tr>") == 3 and "stochastic" in text and "0.75" in text
    det = policy_html(Policy.deterministic([0, 1, 1], 2), state_names=["x", "y", "z"])
    assert "deterministic" in det and "<th>z</th>" in det
    with pytest.raises(InvalidPolicyError, match="2 state names for 3 states"):
        policy_html(Policy.uniform(3, 2), state_names=["x", "y"])
    many = policy_html(Policy.uniform(100, 2), max_rows=10)
    assert "90 more states" in many


def test_evaluation_table_values_and_ranks() -> None:
    env = E4()
    specs = {
        "first a": MarkovReward([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], 0.5),
        "second a": MarkovReward([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], 0.5),
    }
    policies = {
        "aa": Policy.deterministic([0, 0, 0], 2),
        "ab": Policy.deterministic([0, 1, 0], 2),
        "bb": Policy.deterministic([1, 1, 0], 2),
    }
    table = evaluation_table(env, specs, policies, title="E4")
    assert table.columns == ["policy", "first a value", "first a rank", "second a value",
                             "second a rank"]
    assert table.column("first a value") == [1.0, 1.0, 0.0]
    assert table.column("first a rank") == [0, 0, 1]
    assert table.column("second a value") == [0.5, 0.0, 0.0]
    assert table.column("second a rank") == [0, 1, 1]
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "<caption><b>E4</b></caption>" in html
    assert str(table).splitlines()[0] == "E4"
    with pytest.raises(ObjspecError, match="no column"):
        table.column("third")


def test_table_checks_row_lengths() -> None:
    with pytest.raises(ObjspecError, match="row 0 has 1 cells"):
        Table(["a", "b"], [[1]])


def test_task_html_embeds_environment_and_spec_drawings() -> None:
    from objspec.environments import example_task, office_tasks

    text = example_task("same_action_twice")._repr_html_()
    assert text.count("<svg") == 2 and "LTL" in text and "not in:" in text
    office = office_tasks()["coffee"]._repr_html_()
    assert office.count("<svg") == 2 and "office_coffee" in office


def test_objects_of_other_modules_render_themselves() -> None:
    """Automata, reward machines and the Hasse diagram bring their own SVG printers."""
    from objspec.environments import office_tasks
    from objspec.hasse import hasse_diagram, to_svg
    from objspec.ltl.translation import translate

    assert "<svg" in translate("F (a & F b)")._repr_svg_()
    assert "<svg" in office_tasks()["patrol"].spec._repr_svg_()
    assert "<svg" in to_svg(hasse_diagram())


def test_graph_svg_is_well_formed_with_escaping() -> None:
    svg = graph_svg([("x", "<x>"), ("y", "y&z")], [("x", "y", "p < 1"), ("y", "x", "q")])
    root = _parse(svg)
    assert {"<x>", "y&z", "p < 1", "q"} <= set(_texts(root))
    with pytest.raises(ObjspecError, match="at least one node"):
        graph_svg([], [])
    with pytest.raises(ObjspecError, match="positions miss"):
        graph_svg([(0, "a"), (1, "b")], [], positions={0: (0.0, 0.0)})


def test_svg_sizes_are_finite_numbers() -> None:
    for env in (E3(), E4(), E7(), random_mdp(12, 2, 2, seed=1)):
        root = _parse(mdp_svg(env))
        width, height = float(root.get("width", "nan")), float(root.get("height", "nan"))
        assert np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0
        coords = re.findall(r'c[xy]="([^"]+)"', mdp_svg(env))
        assert all(np.isfinite(float(c)) for c in coords)


def test_one_svg_writer_draws_mdps_automata_reward_machines_and_the_hasse_diagram() -> None:
    from objspec.display.svg import Edge, Node
    from objspec.environments import office_tasks
    from objspec.hasse import hasse_diagram, to_svg
    from objspec.ltl.translation import translate

    reference = graph_svg([Node(0, "x")], [Edge(0, 0, "")])
    defs = reference.splitlines()[1]  # the writer's arrow marker
    hasse = to_svg()
    drawings = {
        "mdp": mdp_svg(E4()),
        "automaton": translate("F (a & F b)")._repr_svg_(),
        "reward machine": office_tasks()["patrol"].spec._repr_svg_(),
        "hasse": hasse.split("?>", 1)[1].lstrip(),
    }
    for name, svg in drawings.items():
        root = _parse(svg)
        assert svg.splitlines()[1] == defs, name
        width, height = float(root.get("width", "nan")), float(root.get("height", "nan"))
        for circle in root.iter(f"{SVG}circle"):  # every node inside the picture
            assert 0 < float(circle.get("cx", "nan")) < width, name
            assert 0 < float(circle.get("cy", "nan")) < height, name
    # the Hasse diagram: one box per class, multi-member classes one member per line
    diagram = hasse_diagram()
    root = _parse(drawings["hasse"])
    boxes = [r for r in root.iter(f"{SVG}rect") if r.get("rx")]
    assert len(boxes) == diagram.number_of_nodes()
    texts = set(_texts(root)) | {t.text or "" for t in root.iter(f"{SVG}tspan")}
    for node in diagram.nodes:
        assert set(str(node).split(" = ")) <= texts
    lines = [p for p in root.iter(f"{SVG}path") if p.get("stroke")]  # not the marker's
    assert len(lines) == diagram.number_of_edges()
    assert all(p.get("marker-end") is None for p in lines)  # cover relation: plain lines


def test_graph_svg_boxes_multiline_labels_and_plain_lines() -> None:
    from objspec.display.svg import Edge, Node, circle_layout

    nodes = [Node("a", "first\nsecond", shape="box"), Node("b", "b", initial=True,
                                                         accepting=True)]
    edges = [Edge("a", "b", "x\ny"), Edge("b", "a", "", arrow=False), Edge("b", "b", "loop")]
    svg = graph_svg(nodes, edges, circle_layout(["a", "b"]), caption="bottom line",
                    xml_declaration=True)
    assert svg.startswith("<?xml")
    root = _parse(svg.split("?>", 1)[1])
    spans = [t.text for t in root.iter(f"{SVG}tspan")]
    assert spans[:2] == ["x", "y"] and spans[-2:] == ["first", "second"]
    assert "bottom line" in _texts(root) and "loop" in _texts(root)
    paths = list(root.iter(f"{SVG}path"))[1:]  # after the marker's own path
    assert [p.get("marker-end") is not None for p in paths] == [True, False, True]
    assert len(list(root.iter(f"{SVG}circle"))) == 2  # node b, double-circled
