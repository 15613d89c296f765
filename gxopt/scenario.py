"""Frozen containers of validated inputs: a plant model and a scenario run against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gxopt.settings import ModelMeta, ScenarioSettings


def display_path(path: Path) -> str:
    """Path as shown in messages: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class PlantModel:
    """An organization's process graph and products (``models/<name>/``)."""

    path: Path
    meta: ModelMeta
    nodes: pd.DataFrame
    edges: pd.DataFrame
    products: pd.DataFrame

    def label(self, file: str) -> str:
        """Display name of one of the model's files."""
        return f"{display_path(self.path)}/{file}"


@dataclass(frozen=True)
class Scenario:
    """A run against a plant model (``scenarios/<name>/``): projects, pools, orders, account, settings."""

    path: Path
    settings: ScenarioSettings
    model: PlantModel
    projects: pd.DataFrame
    periods: pd.DataFrame
    orders: pd.DataFrame
    account: pd.DataFrame
    sources: dict[str, Path] = field(default_factory=dict, compare=False)  # table name -> the file it was read from

    @property
    def name(self) -> str:
        """Scenario name: the settings' name or the folder name."""
        return self.settings.name or self.path.name

    def label(self, file: str) -> str:
        """Display name of one of the scenario's files."""
        return f"{display_path(self.path)}/{file}"
