"""Turn a results dict (see run.py) into the stdout table and the PNG plots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per server, workload, phase and client."""
    out = []
    for server, block in results["servers"].items():
        for name, phases in block.items():
            meta = results["workloads"][name]
            for phase, clients in phases.items():
                base = clients.get(meta["baseline"], {}).get("median")
                for client, s in clients.items():
                    median = s.get("median")
                    out.append(
                        {
                            "server": server,
                            "workload": name,
                            "phase": phase,
                            "client": client,
                            "unit": meta["unit"],
                            "median": median,
                            "min": s.get("min"),
                            "max": s.get("max"),
                            "ratio": median / base if median and base else None,
                            "baseline": meta["baseline"],
                            "rss_mb": s.get("rss_mb"),
                            "runs": sum(1 for r in s["runs"] if r["ok"]),
                            "error": s.get("error"),
                        }
                    )
    return out


def _num(x: float | None, width: int, digits: int = 1) -> str:
    return f"{x:{width}.{digits}f}" if x is not None else " " * (width - 1) + "-"


def table(results: dict[str, Any]) -> str:
    """The plain-text table: median rate (min-max), ratio to the baseline, peak RSS."""
    header = (
        f"{'server':6} {'workload':11} {'op':4} {'client':14} {'median':>9} {'unit':7} "
        f"{'min-max':>17} {'vs base':>8} {'RSS MB':>7}  n"
    )
    lines = ["", header, "-" * len(header)]
    last = None
    for r in rows(results):
        group = (r["server"], r["workload"], r["phase"])
        if last is not None and group[:2] != last[:2]:
            lines.append("")
        last = group
        if r["median"] is None:
            why = (r["error"] or "no successful run")[:60]
            lines.append(
                f"{r['server']:6} {r['workload']:11} {r['phase']:4} {r['client']:14} {why}"
            )
            continue
        spread = f"{r['min']:.1f}-{r['max']:.1f}"
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        lines.append(
            f"{r['server']:6} {r['workload']:11} {r['phase']:4} {r['client']:14} "
            f"{_num(r['median'], 9)} {r['unit']:7} {spread:>17} {ratio:>8} "
            f"{_num(r['rss_mb'], 7, 0)}  {r['runs']}"
        )
    lines.append("")
    lines.append(
        "vs base: median divided by the workload's baseline (boto3 default; aws-cli for cli; "
        "s5cmd for cli-small and cli-one; copyfile for local); in ms, lower is better, so "
        "below 1.00x is faster. RSS: median peak RSS of the run's own process."
    )
    return "\n".join(lines)


def plots(results: dict[str, Any], folder: Path) -> list[Path]:
    """One throughput figure per server (a panel per workload) and one RSS figure."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    flat = rows(results)
    written = []
    for server in results["servers"]:
        mine = [r for r in flat if r["server"] == server]
        names = list(dict.fromkeys(r["workload"] for r in mine))
        for metric, label, suffix in (
            ("median", None, "throughput"),
            ("rss_mb", "peak RSS MB", "rss"),
        ):
            cols = min(3, len(names))
            grid = -(-len(names) // cols)
            fig, axes = plt.subplots(grid, cols, figsize=(4 * cols, 3.4 * grid), squeeze=False)
            flat_axes = [ax for row in axes for ax in row]
            for ax in flat_axes[len(names) :]:
                ax.set_visible(False)
            for ax, name in zip(flat_axes, names, strict=False):
                part = [r for r in mine if r["workload"] == name]
                clients = list(dict.fromkeys(r["client"] for r in part))
                phases = list(dict.fromkeys(r["phase"] for r in part))
                bar = 0.8 / len(phases)
                for i, phase in enumerate(phases):
                    values = [
                        next(
                            (
                                r[metric] or 0
                                for r in part
                                if r["client"] == c and r["phase"] == phase
                            ),
                            0,
                        )
                        for c in clients
                    ]
                    offset = (i - (len(phases) - 1) / 2) * bar
                    ax.bar([x + offset for x in range(len(clients))], values, bar, label=phase)
                ax.set_xticks(range(len(clients)), clients, rotation=60, ha="right", fontsize=8)
                lower = metric == "rss_mb" or part[0]["unit"] == "ms"
                ax.set_title(f"{name} ({'lower' if lower else 'higher'} is better)", fontsize=10)
                ax.set_ylabel(label or part[0]["unit"], fontsize=8)
                ax.tick_params(axis="y", labelsize=8)
            flat_axes[0].legend(fontsize=8)
            what = "median throughput" if metric == "median" else "median peak RSS"
            fig.suptitle(
                f"s3po bench, {server}: {what} ({results['mode']}, {results['reps']} reps)"
            )
            fig.tight_layout()
            path = folder / f"bench-{server}-{suffix}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(path)
    return written


def markdown(results: dict[str, Any]) -> str:
    """The table as Markdown, one table per server (for docs/performance.md)."""
    out = []
    for server in results["servers"]:
        out += [
            f"#### {server}",
            "",
            "| workload | op | client | median | min-max | vs base | peak RSS MB | runs |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in rows(results):
            if r["server"] != server:
                continue
            if r["median"] is None:
                why = (r["error"] or "no successful run")[:60].replace("|", "/")
                out.append(f"| {r['workload']} | {r['phase']} | {r['client']} | {why} | | | | 0 |")
                continue
            ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
            out.append(
                f"| {r['workload']} | {r['phase']} | {r['client']} | "
                f"{r['median']:.1f} {r['unit']} | {r['min']:.1f}-{r['max']:.1f} | {ratio} | "
                f"{r['rss_mb']:.0f} | {r['runs']} |"
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    # report.py RESULTS.json [PLOT_FOLDER]: print the Markdown tables, redraw the plots.
    import json
    import sys
    from pathlib import Path

    data = json.loads(Path(sys.argv[1]).read_text())
    print(markdown(data))
    if len(sys.argv) > 2:
        plots(data, Path(sys.argv[2]))
