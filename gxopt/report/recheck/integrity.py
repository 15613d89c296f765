"""Check 0 (manifest, inputs): the pack's files against ``MANIFEST.sha256``, and its inputs against the run's
input SHA-256 and settings (``results/summary.json``)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .run import TABLE_EXTS, Run
from .values import Found, agree, read

MANIFEST = "MANIFEST.sha256"


# the input tables, in the order of gxopt's schema (older result folders hash them in this order)
TABLES = (("model", "nodes"), ("model", "edges"), ("model", "products"), ("scenario", "projects"),
          ("scenario", "project_periods"), ("scenario", "orders"), ("scenario", "account"))


WORKBOOK = {"model": "model.xlsx", "scenario": "scenario.xlsx"}


def manifest_check(pack: Path) -> tuple[list[dict[str, Any]], Found]:
    """Every listed file has its SHA-256; every file of the pack is listed."""
    f = Found()
    rows: list[dict[str, Any]] = []
    man = pack / MANIFEST
    if not man.is_file():
        f.add(f"{MANIFEST} is missing: the pack's files cannot be checked", MANIFEST)
        return rows, f
    listed: dict[str, str] = {}
    for n, line in enumerate(man.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
        if not m:
            f.add(f"a line of {MANIFEST} is not 'SHA-256  path'", f"line {n}")
            continue
        rel = m.group(2)
        if rel.startswith("/") or ".." in Path(rel).parts:
            f.add(f"{MANIFEST} lists a path outside the pack", rel)
            continue
        if rel in listed:
            f.add(f"{MANIFEST} lists a file twice", rel)
        listed[rel] = m.group(1).lower()
    for rel, want in sorted(listed.items()):
        file = pack / rel
        if not file.is_file():
            f.add("a file listed in MANIFEST.sha256 is missing from the pack", rel)
            rows.append({"file": rel, "sha256_listed": want, "sha256_file": None, "ok": False})
            continue
        got = hashlib.sha256(file.read_bytes()).hexdigest()
        if got != want:
            f.add("a file differs from its SHA-256 in MANIFEST.sha256 (changed after the pack was written)", rel)
        rows.append({"file": rel, "sha256_listed": want, "sha256_file": got, "ok": got == want})
    for file in sorted(p for p in pack.rglob("*") if p.is_file()):
        rel = file.relative_to(pack).as_posix()
        if rel == MANIFEST or "__pycache__" in file.relative_to(pack).parts:
            continue
        if rel not in listed:
            f.add("a file of the pack is not listed in MANIFEST.sha256 (added after the pack was written)", rel)
            rows.append({"file": rel, "sha256_listed": None,
                         "sha256_file": hashlib.sha256(file.read_bytes()).hexdigest(), "ok": False})
    return rows, f


def _sheets(book: Path) -> set[str]:
    """Sheet names of an Excel workbook (``xl/workbook.xml`` of the zip; no Excel reader needed)."""
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        with zipfile.ZipFile(book) as z:
            root = ET.fromstring(z.read("xl/workbook.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError):
        return set()
    return {e.get("name", "") for e in root.iter() if e.tag.endswith("}sheet") or e.tag == "sheet"}


def _table_file(pack: Path, folder: str, name: str) -> Path | None:
    """The file that holds an input table in ``inputs/`` (a file of its own, else a sheet of the folder's
    workbook)."""
    for ext in TABLE_EXTS:
        f = pack / "inputs" / folder / (name + ext)
        if f.is_file():
            return f
    book = pack / "inputs" / folder / WORKBOOK[folder]
    return book if book.is_file() and name in _sheets(book) else None


def input_digests(pack: Path, model_line: str | None) -> dict[str, str]:
    """The SHA-256 gxopt records as ``input_sha256`` (``gxopt/io.py::input_sha256``), from ``inputs/``.

    gxopt hashes, in order, the name and bytes of scenario.yaml, model.yaml and each table file. The pack's
    scenario.yaml differs from the file the run read in one line: ``model:`` points at ``../model`` (so
    ``gxopt run inputs/scenario`` reruns it); the original line is put back from ``summary.json``'s
    ``settings.model`` (plain, double- or single-quoted; LF or CRLF). Table files are hashed in gxopt's schema
    order (older gxopt) or by table name (newer). Returns {way: digest} for every such reconstruction.
    """
    yml = pack / "inputs" / "scenario" / "scenario.yaml"
    mod = pack / "inputs" / "model" / "model.yaml"
    if not yml.is_file() or not mod.is_file():
        return {}
    text = yml.read_bytes()
    variants = {"as in the pack": text}
    if model_line is not None:
        for label, line in (("plain", f"model: {model_line}"), ("double-quoted", f'model: "{model_line}"'),
                            ("single-quoted", f"model: '{model_line}'")):
            body = re.sub(rb"(?m)^model:.*$", line.encode("utf-8").replace(b"\\", b"\\\\"), text, count=1)
            variants[f"model line {label}"] = body
            variants[f"model line {label}, CRLF"] = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    orders = {"schema order": list(TABLES), "by table name": sorted(TABLES, key=lambda t: t[1])}
    out = {}
    for order_label, order in orders.items():
        files: list[Path] = []
        for folder, name in order:
            f = _table_file(pack, folder, name)
            if f is not None and f not in files:
                files.append(f)
        for label, body in variants.items():
            h = hashlib.sha256()
            h.update(b"scenario.yaml")
            h.update(body)
            h.update(b"model.yaml")
            h.update(mod.read_bytes())
            for f in files:
                h.update(f.name.encode())
                h.update(f.read_bytes())
            out[f"{label}, tables in {order_label}"] = h.hexdigest()
    return out


def inputs_check(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """The inputs are readable and are those of the run: input SHA-256 and settings against summary.json."""
    f = Found()
    for rule, item, detail in run.load_problems:
        f.add(rule, item, detail)
    summ = run.summary
    recorded = summ.get("input_sha256")
    ss = summ.get("settings") or {}
    digests = input_digests(run.pack, ss.get("model") if isinstance(ss.get("model"), str) else None)
    match = next((way for way, d in digests.items() if d == recorded), None)
    rows = [{"item": "input_sha256", "recorded": recorded, "recomputed": digests.get(
        "model line plain, tables in by table name") if match is None else digests[match], "how": match or "",
        "ok": match is not None}]
    if not recorded:
        f.add("results/summary.json records no input_sha256", "summary.json")
    elif match is None:
        f.add("the SHA-256 of inputs/ differs from results/summary.json input_sha256: the inputs are not the files "
              "the run read (or scenario.yaml's model line cannot be reconstructed, see README)", "inputs/",
              f"recorded {recorded}")
    batches = read(run.pack / "ledger" / "batches.csv")
    if batches and recorded and recorded not in {b.get("input_sha256") for b in batches}:
        f.notes.append("the ledger's batches ran on other inputs than this result folder (input SHA-256 differs); "
                       "its certificates are checked as issued")
    st = run.settings
    if st:
        rule = "results/summary.json states other settings than inputs/scenario/scenario.yaml"
        agree(f, rule, "summary.json", "as_of", str(st.get("as_of")), str(summ.get("as_of")))
        op = st.get("operational_period") if isinstance(st.get("operational_period"), dict) else {}
        sop = ss.get("operational_period") if isinstance(ss.get("operational_period"), dict) else {}
        for k in ("start", "end"):
            agree(f, rule, "summary.json", f"settings.operational_period.{k}", str(op.get(k)), str(sop.get(k)))
        agree(f, rule, "summary.json", "settings.mass_balance.expiry_years", float(run.expiry_years),
              (ss.get("mass_balance") or {}).get("expiry_years"))
        agree(f, rule, "summary.json", "settings.allow_unverified", run.allow_unverified,
              bool(ss.get("allow_unverified")))
        agree(f, rule, "summary.json", "what_if", run.allow_unverified, bool(summ.get("what_if")))
    rows.append({"item": "settings", "recorded": json.dumps(ss, sort_keys=True, default=str),
                 "recomputed": json.dumps(st, sort_keys=True, default=str), "how": "scenario.yaml", "ok": not f})
    return rows, f
