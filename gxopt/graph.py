"""The organization's process graph (networkx) and the physical-connection evidence of 6.7 / 7.2.3.

A project at node ``n`` is physically connected to a product with route ``r1 > r2 > ... > rk`` when
``n`` lies on the route, or ``n`` reaches a route node through a directed path of utility edges
(energy, gas, oxygen, power supplied by one unit to another). The evidence kept for every link is
that path followed by the route down to the product's last unit, written with ``~>`` for a
utility step and ``>`` for a material step, e.g. ``H-O2 ~> H-BOF > H-CC1 > H-HSM``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import pandas as pd

ROUTE_SEP = ">"
UTILITY_STEP = " ~> "
MATERIAL_STEP = " > "


def split_route(route: str) -> list[str]:
    """Node ids of a route string ``"a>b>c"`` (surrounding blanks ignored)."""
    return [part.strip() for part in str(route).split(ROUTE_SEP)]


@dataclass(frozen=True)
class ProcessGraph:
    """The process graph: all edges in ``graph`` (edge attribute ``kinds``), one view per edge kind."""

    graph: nx.DiGraph
    material: nx.DiGraph
    utility: nx.DiGraph

    def has_material_edge(self, u: str, v: str) -> bool:
        """True when a material flow goes from ``u`` to ``v``."""
        return self.material.has_edge(u, v)


def build_graph(nodes: pd.DataFrame, edges: pd.DataFrame) -> ProcessGraph:
    """Build the process graph from the typed ``nodes`` and ``edges`` tables."""
    g = nx.DiGraph()
    mat = nx.DiGraph()
    util = nx.DiGraph()
    for node_id, site, process, steel in nodes[["node_id", "site", "process", "steel"]].itertuples(index=False):
        if node_id is None:
            continue
        attrs = {"site": site, "process": process, "steel": bool(steel) if pd.notna(steel) else None}
        for graph in (g, mat, util):
            graph.add_node(node_id, **attrs)
    for source, target, kind in edges[["source", "target", "kind"]].itertuples(index=False):
        if source is None or target is None or kind is None:
            continue
        (mat if kind == "material" else util).add_edge(source, target)
        if g.has_edge(source, target):
            g.edges[source, target]["kinds"].add(kind)
        else:
            g.add_edge(source, target, kinds={kind})
    return ProcessGraph(g, mat, util)


def material_cycle(pg: ProcessGraph) -> list[str] | None:
    """A cycle of material edges as a node list, or None when material flows are acyclic."""
    try:
        cycle = nx.find_cycle(pg.material)
    except nx.NetworkXNoCycle:
        return None
    return [u for u, _ in cycle] + [cycle[0][0]]


def connection_evidence(pg: ProcessGraph, node: str, route: list[str]) -> str | None:
    """Evidence that a project at ``node`` is physically connected to a product of ``route``, or None.

    On-route: the route from ``node`` to the product's last unit. Off-route: the shortest utility path
    to a route node (the earliest route node on ties), then the route down from there.
    """
    if node in route:
        return MATERIAL_STEP.join(route[route.index(node):])
    if node not in pg.utility:
        return None
    reach = nx.single_source_shortest_path(pg.utility, node)
    best: list[str] | None = None
    for pos, r in enumerate(route):
        path = reach.get(r)
        if path is not None and (best is None or len(path) < len(best)):
            best, best_pos = path, pos
    if best is None:
        return None
    return UTILITY_STEP.join(best) + "".join(MATERIAL_STEP + r for r in route[best_pos + 1:])


def evidence_is_valid(pg: ProcessGraph, evidence: str, node: str, route: list[str]) -> bool:
    """Re-check an evidence string step by step against the graph (used by :mod:`gxopt.verify`)."""
    rest = evidence
    tokens: list[str] = []
    kinds: list[str] = []
    while True:
        iu, im = rest.find(UTILITY_STEP), rest.find(MATERIAL_STEP)
        cuts = [(i, k) for i, k in ((iu, "utility"), (im, "material")) if i >= 0]
        if not cuts:
            tokens.append(rest)
            break
        i, k = min(cuts)
        tokens.append(rest[:i])
        kinds.append(k)
        rest = rest[i + (len(UTILITY_STEP) if k == "utility" else len(MATERIAL_STEP)):]
    steps = [(tokens[i], tokens[i + 1], kinds[i]) for i in range(len(kinds))]
    if not tokens or tokens[0] != node or tokens[-1] != route[-1]:
        return False
    for u, v, k in steps:
        if not (pg.utility if k == "utility" else pg.material).has_edge(u, v):
            return False
    last_utility = max((i + 1 for i, k in enumerate(kinds) if k == "utility"), default=0)
    tail = tokens[last_utility:]
    return tail[0] in route and tail == route[route.index(tail[0]):]


def connections(pg: ProcessGraph, projects: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Every physically connected (project, product) pair with its evidence path.

    Returns a frame with columns ``project_id, product_id, evidence``, sorted by both ids.
    """
    rows = []
    routes = {p: split_route(r) for p, r in zip(products["product_id"], products["route"])}
    for project_id, node in zip(projects["project_id"], projects["node"]):
        for product_id, route in routes.items():
            ev = connection_evidence(pg, node, route)
            if ev is not None:
                rows.append((project_id, product_id, ev))
    frame = pd.DataFrame(rows, columns=["project_id", "product_id", "evidence"])
    return frame.sort_values(["project_id", "product_id"], ignore_index=True)
