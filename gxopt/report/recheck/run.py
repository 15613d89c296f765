"""``Run``: everything read from the pack once (settings, inputs, results); the checks add what they recompute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from .values import json_file, oday, read
from .yaml_subset import parse_yaml

TABLE_EXTS = (".csv", ".xlsx", ".parquet")


class Run:
    """Everything read from the pack once: inputs, results, documents; recomputed values are added by the checks."""

    def __init__(self, pack: Path) -> None:
        self.pack = pack
        self.load_problems: list[tuple[str, str, str]] = []  # (rule, item, detail) for the inputs check
        self.summary = json_file(pack / "results" / "summary.json") or {}
        self.settings: dict[str, Any] = {}
        yml = pack / "inputs" / "scenario" / "scenario.yaml"
        try:
            self.settings = parse_yaml(yml.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.load_problems.append(("inputs/scenario/scenario.yaml is missing", "scenario.yaml", ""))
        except (ValueError, UnicodeDecodeError) as exc:
            self.load_problems.append(("inputs/scenario/scenario.yaml cannot be read", "scenario.yaml", str(exc)))
        st = self.settings
        ss = self.summary.get("settings") or {}

        def setting(*keys: str) -> Any:
            v: Any = st
            for k in keys:
                v = v.get(k) if isinstance(v, dict) else None
            if v is None:  # not in scenario.yaml (or unreadable): the default, else summary.json as a last resort
                w: Any = ss
                for k in keys:
                    w = w.get(k) if isinstance(w, dict) else None
                return w
            return v

        self.as_of = oday(setting("as_of")) or oday(self.summary.get("as_of")) or dt.date.today()
        op = st.get("operational_period") if isinstance(st.get("operational_period"), dict) else {}
        self.op_start = oday(op.get("start")) or oday(setting("operational_period", "start")) or dt.date.min
        self.op_end = oday(op.get("end")) or oday(setting("operational_period", "end")) or dt.date.max
        mb = st.get("mass_balance") if isinstance(st.get("mass_balance"), dict) else {}
        self.expiry_years = int(mb.get("expiry_years", 3)) if mb.get("expiry_years") is not None else 3
        flag = st.get("allow_unverified")
        self.allow_unverified = (str(flag).strip().lower() in ("true", "yes", "on", "1", "y", "t")
                                 if isinstance(flag, str) else bool(flag))
        if st and oday(st.get("as_of")) is None:
            self.load_problems.append(("scenario.yaml has no valid as_of", "scenario.yaml", str(st.get("as_of"))))
        self.nodes = {n["node_id"]: n for n in self.table("model", "nodes")}
        self.edges = self.table("model", "edges")
        self.products = {p["product_id"]: p for p in self.table("model", "products")}
        self.projects = {p["project_id"]: p for p in self.table("scenario", "projects")}
        self.periods = self.table("scenario", "project_periods")
        self.orders = {o["order_id"]: o for o in self.table("scenario", "orders")}
        self.account = self.table("scenario", "account")
        res = pack / "results"
        self.r_pools = {p["pool_id"]: p for p in read(res / "pools.csv")}
        self.r_orders = {o["order_id"]: o for o in read(res / "orders.csv")}
        self.r_products = {p["product_id"]: p for p in read(res / "products.csv")}
        self.r_projects = {p["project_id"]: p for p in read(res / "projects.csv")}
        self.lines = read(res / "allocations.csv")
        self.r_connections = read(res / "connections.csv")
        for t in ("allocations", "orders", "pools", "products", "projects", "connections"):
            if not (res / f"{t}.csv").is_file():
                self.load_problems.append(("a result table is missing from results/", f"results/{t}.csv", ""))
        if not (res / "summary.json").is_file():
            self.load_problems.append(("a result table is missing from results/", "results/summary.json", ""))
        # filled by the checks
        self.exact: dict[str, dict[str, float]] = {}
        self.pools: dict[str, dict[str, Any]] = {}
        self.status: dict[str, dict[str, Any]] = {}
        self.connected: set[tuple[str, str]] = set()
        self.prod: dict[str, dict[str, Any]] = {}
        self.added: dict[str, float] = {}
        self.order_calc: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, float] = {}
        self.cert_expect: dict[str, dict[str, Any]] = {}

    @property
    def documents(self) -> Path:
        """``documents/``: the report's certificates, PACT footprints and disclosures."""
        return self.pack / "documents"

    def table(self, folder: str, name: str) -> list[dict[str, str]]:
        """An input table: ``inputs/<folder>/<name>.csv``, else gxopt's CSV rendering of an Excel or Parquet
        input in ``inputs-as-csv/`` (the standard library reads no Excel or Parquet)."""
        f = self.pack / "inputs" / folder / f"{name}.csv"
        if f.is_file():
            return read(f)
        g = self.pack / "inputs-as-csv" / folder / f"{name}.csv"
        if g.is_file():
            return read(g)
        if name != "account" or any((self.pack / "inputs" / folder / (name + e)).is_file() for e in TABLE_EXTS[1:]):
            self.load_problems.append(("an input table cannot be read with the standard library",
                                       f"inputs/{folder}/{name}", "no CSV file or CSV rendering in the pack"))
        return []

