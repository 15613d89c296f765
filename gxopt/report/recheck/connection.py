"""Check 3: the physical connections (6.7, 7.2.3) recomputed from ``edges.csv``, and every evidence path
step by step."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from typing import Any

from .run import Run
from .values import Found

FEED_KINDS = ("input", "utility")  # the kinds through which a feeder unit reaches a product's line (6.7)
STEP_KINDS = ("material",) + FEED_KINDS


STEELMAKING = ("bof", "eaf", "steelmaking", "open_hearth")  # where crude steel is made (the crude-steel site)


_STEP = re.compile(r" (?:(>)|-([A-Za-z_]+)->) ")


def parse_evidence(evidence: str) -> tuple[list[str], list[str]]:
    """(units, kinds) of an evidence path: ``kinds[i]`` is the kind of the step ``units[i] -> units[i+1]``.

    ``A > B`` is a material step (the product's own line); ``A -input-> B`` and ``A -utility-> B`` are feeder
    steps; any other ``-word->`` is returned as that word (and then reported: only these kinds connect).
    """
    parts = _STEP.split(evidence)
    return parts[0::3], ["material" if m else str(k) for m, k in zip(parts[1::3], parts[2::3])]


def _arrow(kind: str) -> str:
    return ">" if kind == "material" else f"-{kind}->"


def _routes(run: Run) -> dict[str, list[str]]:
    return {k: [n.strip() for n in p.get("route", "").split(">")] for k, p in run.products.items()}


def connected_pairs(run: Run) -> set[tuple[str, str]]:
    """(project, product) pairs physically connected by the plant model: the project's unit is on the
    product's route, or reaches a route unit through input/utility edges (by-product edges never count)."""
    feed: dict[str, set[str]] = defaultdict(set)
    for e in run.edges:
        if e.get("kind") in FEED_KINDS:
            feed[e["source"]].add(e["target"])
    routes = _routes(run)
    out = set()
    for j, p in run.projects.items():
        seen: set[str] = set()
        todo = deque([p.get("node", "")])
        while todo:
            n = todo.popleft()
            for m in feed.get(n, ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        for product, route in routes.items():
            if p.get("node", "") in route or seen.intersection(route):
                out.add((j, product))
    return out


def crude_steel_site(run: Run, product_id: str) -> str:
    """Site where the product's crude steel is made: the site of its route's steelmaking unit (BOF, EAF, ...),
    else of its first unit (SteelZero's site-level link)."""
    route = _routes(run).get(product_id, [])
    unit = next((u for u in route if run.nodes.get(u, {}).get("process") in STEELMAKING), route[0] if route else "")
    return run.nodes.get(unit, {}).get("site", "")


def connection_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Each physical-connection path of the allocation lines and of connections.csv, step by step, and the
    connected pairs recomputed from the edges (kept in ``run.connected``)."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in run.edges:
        edges[(e.get("source", ""), e.get("target", ""))].add(e.get("kind", ""))
    node_of = {j: p.get("node", "") for j, p in run.projects.items()}
    routes = _routes(run)
    items = [("allocation", f"{ln.get('order_id')} <- {ln.get('pool_id')}", ln.get("project_id", ""),
              ln.get("product_id", ""), ln.get("evidence", "")) for ln in run.lines]
    items += [("connection", f"{c.get('project_id')} -> {c.get('product_id')}", c.get("project_id", ""),
               c.get("product_id", ""), c.get("evidence", "")) for c in run.r_connections]
    f = Found()
    rows = []
    for source, what, project, product, evidence in items:
        nodes, kinds = parse_evidence(evidence)
        route = routes.get(product, [])
        node = node_of.get(project, "")
        issues: list[tuple[str, str]] = []
        if not nodes or nodes[0] != node:
            issues.append(("an evidence path does not start at the project's unit (6.7)", f"starts at {nodes[0]}, "
                           f"the project's unit is {node}" if nodes else "empty"))
        if not route or nodes[-1] != route[-1]:
            issues.append(("an evidence path does not end at the product's last unit (6.7)", f"'{evidence}'"))
        step_text = []
        for u, v, k in zip(nodes, nodes[1:], kinds):
            there = edges.get((u, v), set())
            ok = k in STEP_KINDS and k in there
            step_text.append(f"{u} {_arrow(k)} {v} [{k} edge {'found' if ok else 'MISSING'}]")
            if k == "byproduct":
                issues.append(("an evidence step is a by-product flow, which never connects (6.7, 7.2.3)",
                               f"step {u} -> {v} is a by-product flow, which never connects"))
            elif k not in STEP_KINDS:
                issues.append(("an evidence step has an unknown kind (6.7)", f"step {u} -> {v} of kind '{k}'"))
            elif not ok:
                issues.append((("an evidence step is not an edge of inputs/model/edges.csv of the kind it states "
                                "(6.7, 7.2.3)"), f"no {k} edge {u} -> {v} in edges.csv"
                               + (f" (only {', '.join(sorted(there))}; by-product edges never connect)"
                                  if there else "")))
        line_at = next((i for i, k in enumerate(kinds) if k == "material"), len(kinds))
        if any(k != "material" for k in kinds[line_at:]):
            issues.append((("an evidence path has a feeder step after the route part began: input/utility steps "
                            "only lead to the line (6.7)"), f"'{evidence}'"))
        line = nodes[line_at:]
        if not (line and route and line[0] in route and line == route[route.index(line[0]):]):
            issues.append((("the route part of an evidence path is not the product's route down to its last unit "
                            "(6.7)"), f"'{evidence}'"))
        for rule, detail in issues:
            f.add(rule, f"{source} {what}", detail)
        rows.append({"source": source, "item": what, "project_id": project, "project_node": node,
                     "product_id": product, "route": " > ".join(route), "evidence": evidence,
                     "feeders": ", ".join(sorted({k for k in kinds[:line_at]})) or "none",
                     "steps": " | ".join(step_text) or "(project unit is the last unit)",
                     "valid": not issues, "issues": "; ".join(d for _r, d in issues)})
    run.connected = connected_pairs(run)
    reported = {(c.get("project_id", ""), c.get("product_id", "")) for c in run.r_connections}
    for j, k in sorted(run.connected - reported):
        f.add("a physically connected pair is missing from connections.csv (its production would be left out of "
              "the REP term, 6.7)", f"{j} -> {k}")
    for j, k in sorted(reported - run.connected):
        f.add("connections.csv holds a pair that is not connected through the product's line or its input/utility "
              "feeders (6.7)", f"{j} -> {k}")
    return rows, f
