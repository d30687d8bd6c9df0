"""The bench's report: targets met or not, the text table, and the plot."""

from __future__ import annotations

from pathlib import Path

ANSWERING_LIMIT_MB = 2.5 * 1024   # issue 21: a million passages while answering
PEAK_LIMIT_MB = 4 * 1024          # and at the build's peak (the bench process's peak RSS)


def targets(result: dict) -> list[dict]:
    pts = {p["passages"]: p for p in result["points"]}
    real = [p for p in result["points"] if p["corpus"] == "real"]
    out = []

    def add(name, value, ok):
        out.append({"target": name, "value": value, "ok": None if ok is None else bool(ok)})

    if real:
        v = real[0]["e2e_over_embed"]
        add("e2e_over_embed ≤ 1.5 on the real corpus", v, v is not None and v <= 1.5)
    if 100_000 in pts:
        v = pts[100_000]["e2e_over_embed"]
        add("e2e_over_embed ≤ 2.5 at 100 000 passages", v, v is not None and v <= 2.5)
    big = [p for p in result["points"] if p["passages"] >= 1_000_000]
    for p in big:
        v = p["e2e_over_embed"]
        add(f"e2e_over_embed ≤ 4 at {p['passages']:,}", v, v is not None and v <= 4)
        if p["index"] != "flat":
            add(f"ann_recall@10 ≥ 0.95 at {p['passages']:,}", p.get("ann_recall@10"), p.get("ann_recall@10", 0) >= 0.95)
            add(f"ann_speedup_vs_flat ≥ 20 at {p['passages']:,}", p.get("ann_speedup_vs_flat"),
                p.get("ann_speedup_vs_flat", 0) >= 20)
        if p.get("answering_rss_mb") is not None:   # a fresh process that loaded the saved folder
            add(f"peak RSS of a fresh answering process ≤ 2.5 GB at {p['passages']:,} (MB)", p["answering_rss_mb"],
                p["answering_rss_mb"] <= ANSWERING_LIMIT_MB)
        add(f"peak RSS of the bench process (build) ≤ 4 GB at {p['passages']:,} (MB)", p["peak_rss_mb"],
            p["peak_rss_mb"] <= PEAK_LIMIT_MB)
    if result.get("incremental_speedup") is not None:
        v = result["incremental_speedup"]
        add("incremental_speedup ≥ 10", v, v >= 10)
    calls = sum(p.get("index_builds_during_queries", 0) for p in result["points"])
    add("index builds/loads or model loads while answering", calls, calls == 0)
    return out


COLUMNS = [("passages", "{:,}"), ("index", "{}"), ("vectors", "{}"), ("build_passages_per_s", "{:,.0f}"),
           ("query_embed_ms_p50", "{:.2f}"), ("query_ms_p50", "{:.2f}"), ("query_ms_p95", "{:.2f}"),
           ("e2e_over_embed", "{:.2f}"), ("ann_recall@10", "{:.3f}"), ("ann_speedup_vs_flat", "{:.1f}"),
           ("index_bytes_per_passage", "{:,}"), ("answering_rss_mb", "{:,.0f}")]


def as_text(result: dict) -> str:
    mach = result["machine"]
    lines = [f"machine: {mach['cpu']}, {mach['cores']} cores, {mach['ram_gb']} GB RAM, {mach['os']}, "
             f"Python {mach['python']}, faiss {mach['faiss']}; load average {mach['load_avg_1m_at_start']} at start "
             f"(shared machine: figures are noisy, ratios come from one run)"]
    rows = [[c for c, _ in COLUMNS]]
    for p in result["points"]:
        rows.append([("-" if p.get(c) is None else f.format(p[c])) for c, f in COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for r in rows:
        lines.append("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    for p in result["points"]:
        lines.append(f"stages at {p['passages']:,} (ms p50): " + ", ".join(f"{k} {v}" for k, v in p["stages_ms_p50"].items()))
        if p["corpus"] == "synthetic":
            lines.append(f"  {p['passages']:,}: vectors derived, not embedded one by one; build: {p['build']}")
        if p.get("ann_curve"):
            lines.append(f"  {p['passages']:,}: exact search {p['flat_search_ms_p50']} ms; HNSW efSearch → recall@10, "
                         "ms, speedup: " + "; ".join(f"{c['ef_search']} → {c['recall@10']}, {c['ms_p50']}, "
                                                     f"{c['speedup_vs_flat']}×" for c in p["ann_curve"]))
    if "derived_vectors" in result:
        dv = result["derived_vectors"]
        lines.append(f"derived vectors: {dv['method']} (cosine of real to noise-free derived vectors "
                     f"{dv['derived_cosine_to_real_mean']}, noise σ {dv['noise_sigma']})")
    if result.get("cold_start_s") is not None:
        lines.append(f"cold_start_s: {result['cold_start_s']}")
    if result.get("incremental_speedup") is not None:
        inc = result["incremental"]
        lines.append(f"incremental_speedup: {result['incremental_speedup']} (full build {inc['full_build_s']}s of "
                     f"{inc['files']} files / {inc['passages']} passages; rebuild after one file changed "
                     f"{inc['rebuild_one_changed_s']}s)")
    for t in result["targets"]:
        mark = {True: "ok  ", False: "MISS", None: "    "}[t["ok"]]
        lines.append(f"[{mark}] {t['target']}: {t['value']}")
    if result.get("plot"):
        lines.append(f"plot: {result['plot']}")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    pts = sorted(result["points"], key=lambda p: p["passages"])
    x = [p["passages"] for p in pts]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(x, [p["query_ms_p50"] for p in pts], "o-", label="whole answer p50")
    ax1.plot(x, [p["query_ms_p95"] for p in pts], "s--", label="whole answer p95")
    ax1.plot(x, [p["query_embed_ms_p50"] for p in pts], "^:", label="query embedding p50")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax1.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax1.set_xlabel("passages")
    ax1.set_ylabel("ms per question")
    ax1.set_title("Query latency")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.plot(x, [p["build_passages_per_s"] for p in pts], "o-", color="tab:green")
    for p in pts:
        note = p["index"].split(",")[0] + (" (derived vectors)" if p["vectors"] == "derived" else "")
        ax2.annotate(note, (p["passages"], p["build_passages_per_s"]), textcoords="offset points", xytext=(4, 6),
                     fontsize=7)
    ax2.set_xscale("log")
    ax2.set_ylim(0, max(p["build_passages_per_s"] for p in pts) * 1.3)
    ax2.set_xlabel("passages")
    ax2.set_ylabel("passages / s")
    ax2.set_title("Build throughput (parse + embed + index)")
    ax2.grid(True, which="both", alpha=0.3)
    mach = result["machine"]
    fig.suptitle(f"chatbot bench — {mach['cpu']}, {mach['cores']} cores, {mach['ram_gb']} GB (shared, noisy)", fontsize=9)
    if any(p["vectors"] == "derived" for p in pts):
        fig.text(0.5, 0.01, "Synthetic sizes: recombined real sentences, derived vectors; their parse/embed/tokenise "
                 "time is extrapolated from real ones, index construction and every query are measured.",
                 ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
