"""Draw the leaderboard picture of the README and the docs from a ``leaderboard.json``.

    magnet benchmark --out magnet_out          # the README's set-up command
    python docs/make_leaderboard_figure.py magnet_out/leaderboard.json docs/_static/leaderboard.png

One panel per split: each predictor's MAE with its 95% cluster-bootstrap interval, the noise floor and the
revealed-sample mean's MAE as lines, the bar coloured by the MBE verdict.
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"genuine": "#2a9d8f", "inconclusive": "#e9c46a", "loss-proxy": "#e76f51", "insufficient-data": "#999999"}


def main(src: str, dest: str) -> None:
    doc = json.load(open(src, encoding="utf-8"))
    rows = [r for r in doc["rows"] if r["stat"] == "main"]
    splits = sorted({r["split"] for r in rows})
    fig, axes = plt.subplots(1, len(splits), figsize=(5.2 * len(splits), 3.8), sharex=True, squeeze=False)
    for ax, split in zip(axes[0], splits):
        rs = sorted((r for r in rows if r["split"] == split), key=lambda r: -r["mae"])
        for i, r in enumerate(rs):
            lo, hi = r["mae_ci"]
            ax.barh(i, r["mae"], color=COLOURS.get(r["mbe"]["verdict"], "#999999"))
            ax.plot([lo, hi], [i, i], color="black", lw=1)
        ax.axvline(rs[0]["noise_floor"], ls=":", color="black", label="noise floor")
        ax.axvline(rs[0]["revealed_mean_mae"], ls="--", color="grey", label="revealed-sample mean")
        ax.set_yticks(range(len(rs)), [r["predictor"] for r in rs], fontsize=8)
        ax.set_title(f"{split} (n = {rs[0]['n']} runs)", fontsize=9)
        ax.set_xlabel("MAE [95% CI]")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    fig.legend(handles, list(COLOURS), loc="lower center", ncol=4, fontsize=8, title="MBE verdict",
               title_fontsize=8)
    axes[0][0].legend(fontsize=7, loc="center right")
    corpus = "the demo corpus" if "/demo/" in str(doc.get("corpus", "/demo/")) else doc["corpus"]
    fig.suptitle(f"magnet benchmark on {corpus}: MAE by predictor, coloured by MBE verdict", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(dest, dpi=110)


if __name__ == "__main__":
    main(*sys.argv[1:3])
