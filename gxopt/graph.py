"""The organization's process graph (networkx) and the physical-connection evidence of 6.7 / 7.2.3.

Edges have one of four kinds (:data:`gxopt.schema.EDGE_KINDS`):

- ``material``: the product's own line (hot metal, liquid steel, slabs, coil): the only kind a route follows;
- ``input``: a unit's output consumed by another unit (coke, sinter, pellets, DRI/HBI, lime);
- ``utility``: power, steam, oxygen, compressed air, cold blast;
- ``byproduct``: process gases, tar, slag or waste heat sent elsewhere: recorded, never a connection.

A project at node ``n`` is physically connected to a product with route ``r1 > r2 > ... > rk`` when ``n``
lies on the route, or a directed path of ``input``/``utility`` edges leads from ``n`` to a route node
(6.7: the product passes through the process the project improved, or through what feeds it). By-product
edges and material edges off the route connect nothing: a project at the second blast furnace does not
reach the first one's products through the shared BOF, nor through the gas both send to the power plant.

The evidence kept for every link is that path followed by the route down to the product's last unit,
each step written with its kind, e.g. ``HG_CO -input-> HG_SP -input-> HG_BF1 > HG_BOF > HG_CC1 > HG_HSM``
(:func:`format_evidence`, :func:`parse_evidence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx
import pandas as pd

from gxopt.schema import CONNECTING_EDGE_KINDS

ROUTE_SEP = ">"
MATERIAL_STEP = " > "
FEED_STEP = " -{kind}-> "
_STEP_RE = re.compile(r" (?:(>)|-(input|utility)->) ")


def split_route(route: str) -> list[str]:
    """Node ids of a route string ``"a>b>c"`` (surrounding blanks ignored)."""
    return [part.strip() for part in str(route).split(ROUTE_SEP)]


def format_evidence(steps: list[tuple[str, str, str]], first: str) -> str:
    """Evidence text of ``steps`` (source, target, kind) starting at ``first``; see :func:`parse_evidence`."""
    out = [first]
    for _u, v, kind in steps:
        out.append((MATERIAL_STEP if kind == "material" else FEED_STEP.format(kind=kind)) + v)
    return "".join(out)


def parse_evidence(evidence: str) -> tuple[list[str], list[str]]:
    """(nodes, kinds) of an evidence text: ``kinds[i]`` is the kind of the step ``nodes[i] -> nodes[i+1]``."""
    parts = _STEP_RE.split(evidence)
    nodes = parts[0::3]
    kinds = ["material" if m else str(f) for m, f in zip(parts[1::3], parts[2::3])]
    return nodes, kinds


@dataclass(frozen=True)
class ProcessGraph:
    """The process graph: every edge in ``graph`` (attribute ``kinds``), the material line and the feeds.

    ``feed`` holds the ``input`` and ``utility`` edges (attribute ``kind``; ``input`` wins when both exist).
    """

    graph: nx.DiGraph
    material: nx.DiGraph
    feed: nx.DiGraph

    def has_material_edge(self, u: str, v: str) -> bool:
        """True when a material flow goes from ``u`` to ``v``."""
        return self.material.has_edge(u, v)


def build_graph(nodes: pd.DataFrame, edges: pd.DataFrame) -> ProcessGraph:
    """Build the process graph from the typed ``nodes`` and ``edges`` tables."""
    g, mat, feed = nx.DiGraph(), nx.DiGraph(), nx.DiGraph()
    for node_id, site, process, steel in nodes[["node_id", "site", "process", "steel"]].itertuples(index=False):
        if node_id is None:
            continue
        attrs = {"site": site, "process": process, "steel": bool(steel) if pd.notna(steel) else None}
        for graph in (g, mat, feed):
            graph.add_node(node_id, **attrs)
    for source, target, kind in edges[["source", "target", "kind"]].itertuples(index=False):
        if source is None or target is None or kind is None:
            continue
        if kind == "material":
            mat.add_edge(source, target)
        elif kind in CONNECTING_EDGE_KINDS:
            if not (feed.has_edge(source, target) and feed.edges[source, target]["kind"] == "input"):
                feed.add_edge(source, target, kind=kind)
        if g.has_edge(source, target):
            g.edges[source, target]["kinds"].add(kind)
        else:
            g.add_edge(source, target, kinds={kind})
    return ProcessGraph(g, mat, feed)


def material_cycle(pg: ProcessGraph) -> list[str] | None:
    """A cycle of material edges as a node list, or None when material flows are acyclic."""
    try:
        cycle = nx.find_cycle(pg.material)
    except nx.NetworkXNoCycle:
        return None
    return [u for u, _ in cycle] + [cycle[0][0]]


def connection_evidence(pg: ProcessGraph, node: str, route: list[str],
                        reach: dict[str, list[str]] | None = None) -> str | None:
    """Evidence that a project at ``node`` is physically connected to a product of ``route``, or None.

    On-route: the route from ``node`` to the product's last unit. Off-route: the shortest path of
    input/utility edges to a route node (the earliest route node on ties), then the route down from there.
    ``reach`` is ``nx.single_source_shortest_path(pg.feed, node)`` when the caller has it already.
    """
    if node in route:
        pos = route.index(node)
        return format_evidence([(u, v, "material") for u, v in zip(route[pos:], route[pos + 1:])], node)
    if reach is None:
        reach = nx.single_source_shortest_path(pg.feed, node) if node in pg.feed else {}
    best: list[str] | None = None
    best_pos = 0
    for pos, r in enumerate(route):
        path = reach.get(r)
        if path is not None and (best is None or len(path) < len(best)):
            best, best_pos = path, pos
    if best is None:
        return None
    steps = [(u, v, pg.feed.edges[u, v]["kind"]) for u, v in zip(best, best[1:])]
    steps += [(u, v, "material") for u, v in zip(route[best_pos:], route[best_pos + 1:])]
    return format_evidence(steps, node)


def connections(pg: ProcessGraph, projects: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Every physically connected (project, product) pair with its evidence path.

    Returns a frame with columns ``project_id, product_id, evidence``, sorted by both ids.
    """
    rows = []
    routes = {p: split_route(r) for p, r in zip(products["product_id"], products["route"])}
    for project_id, node in zip(projects["project_id"], projects["node"]):
        reach = nx.single_source_shortest_path(pg.feed, node) if node in pg.feed else {}
        for product_id, route in routes.items():
            ev = connection_evidence(pg, node, route, reach)
            if ev is not None:
                rows.append((project_id, product_id, ev))
    frame = pd.DataFrame(rows, columns=["project_id", "product_id", "evidence"])
    return frame.sort_values(["project_id", "product_id"], ignore_index=True)
