"""The report's charts, drawn with matplotlib's Agg backend (no display needed): PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .claims import rates
from .suite import Suite

COLORS = {"aiohttp": "#2a6fdb", "flask": "#d9622b"}


def server_bars(table: pd.DataFrame, path: Path) -> None:
    """The article's table as grouped bars, one panel per Python, with 95 % intervals as error bars."""
    pythons = sorted(table["python"].unique())
    fig, axes = plt.subplots(1, max(1, len(pythons)), figsize=(4.6 * max(1, len(pythons)), 3.8), squeeze=False,
                             sharey=True)
    for ax, python in zip(axes[0], pythons, strict=False):
        rows = table[table["python"] == python]
        x = np.arange(len(rows))
        for i, framework in enumerate(("aiohttp", "flask")):
            values = rows[framework].to_numpy(dtype=float)
            errors = np.vstack([values - rows[f"{framework}_low"].to_numpy(dtype=float),
                                rows[f"{framework}_high"].to_numpy(dtype=float) - values])
            ax.bar(x + (i - 0.5) * 0.38, values, 0.38, yerr=np.nan_to_num(errors), capsize=3,
                   color=COLORS[framework], label="Flask" if framework == "flask" else "aiohttp")
        ax.set_xticks(x, [label.replace(" server", "\nserver") for label in rows["label"]], fontsize=8)
        ax.set_title(f"Python {python}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("requests per second")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def history(df: pd.DataFrame, path: Path, commits: list[str], suite: Suite, limit: int = 100,
            counted: bool = False) -> None:
    """Every server scenario across the last ``limit`` of ``commits`` (newest first), one panel per scenario and a
    line per Python: req/s, or with ``counted`` the instructions per request; failed or skipped points are gaps."""
    if counted:
        table = df[df["benchmark"] == suite.benchmarks["instructions"]].assign(y=lambda part: part["value"])
    else:
        table = rates(df, suite.benchmarks["throughput"], suite).reset_index().assign(y=lambda part: part["req_s"])
    order = list(reversed(commits))[-limit:]
    position = {commit: i for i, commit in enumerate(order)}
    table = table[table["commit"].isin(position)]
    scenarios = list(dict.fromkeys(table["param"]))
    columns = 5
    rows = max(1, -(-len(scenarios) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False, sharex=True)
    for ax, scenario in zip(axes.flat, scenarios, strict=False):
        part = table[table["param"] == scenario]
        for python, line in part.groupby("python", sort=True):
            line = line.assign(x=line["commit"].map(position)).sort_values("x")
            ax.plot(line["x"], line["y"], marker="o", markersize=2.5, linewidth=1, label=f"py{python}")
        ax.set_title(scenario, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"commit (oldest to newest, {len(order)})", fontsize=7)
    axes[0][0].set_ylabel("instructions / request" if counted else "req/s", fontsize=8)
    if scenarios:
        axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
