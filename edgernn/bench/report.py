"""Bench outputs and the merged report: tables, CSV, Markdown, HTML and Pareto plots."""
from __future__ import annotations

import base64
import csv
import html
import io as _io
from pathlib import Path

from edgernn import defaults as D
from edgernn import io
from edgernn.bench.schema import CSV_FIELDS, csv_row
from edgernn.errors import UserError


def short_name(r: dict) -> str:
    p = Path(r["artifact"])
    return f"{p.parent.name}/{p.name}"


def table_rows(rows: list[dict]) -> list[list]:
    out = []
    for r in rows:
        lat = r.get("latency_ms") or {}
        spread = r.get("p50_spread_ms")
        out.append([short_name(r), r.get("model_kind") or "", r["runtime"], r["target"],
                    f"{r['file_bytes'] / 1024:.1f}",
                    f"{lat['p50']:.3f}" if lat else "-",
                    f"{spread[0]:.3f}-{spread[1]:.3f}" if spread else "-",
                    f"{lat['p99']:.3f}" if lat else "-",
                    f"{r['peak_rss_bytes'] / 2**20:.0f}" if r.get("peak_rss_bytes") else "-",
                    f"{r['accuracy']:.4f}" if r.get("accuracy") is not None else "-",
                    r.get("error") and f"{r['error']} ({r.get('install') or ''})" or ""])
    return out


COLUMNS = ["artifact", "kind", "runtime", "target", "KB", "p50 ms", "p50 min-max", "p99 ms", "peak RSS MB",
           "accuracy", "note"]

# Microcontroller rows (--target mcu) have their own columns: what matters on a device, each with its basis.
MCU_COLUMNS = ["artifact", "board", "core", "kernels", "flash KB", "RAM KB", "instructions / inference",
               "instructions / MAC", "est. cycles", "est. cycles / MAC", "est. ms @ clock", "latency basis",
               "bit-exact vs TFLM", "accuracy", "accuracy basis"]


def mcu_table_rows(rows: list[dict]) -> list[list]:
    out = []
    for r in rows:
        m = r["mcu"]
        vectors, bad = m.get("vectors", 0), m.get("mismatching_vectors", 0)
        ipm, cycles, cpm = (m.get(k) for k in ("instructions_per_mac", "estimated_cycles_per_inference",
                                                "estimated_cycles_per_mac"))
        clock = f" @ {m['clock_hz'] / 1e6:.0f} MHz" if m.get("clock_hz") else ""
        out.append([short_name(r), m.get("board", ""), (m.get("cpu") or "").replace("cortex-m", "Cortex-M"),
                    "Helium (MVE)" if m.get("mve_kernels") else "DSP (SMLAD)" if m.get("dsp_kernels") else "reference",
                    f"{m['flash_without_vectors_bytes'] / 1024:.1f}", f"{m['ram_bytes'] / 1024:.1f}",
                    f"{m['instructions_per_inference']:,}", f"{ipm:.2f}" if ipm else "-",
                    f"{cycles:,}" if cycles else "-", f"{cpm:.2f}" if cpm else "-",
                    f"{m['estimated_latency_ms']:.3f}{clock}", m.get("estimate") or "",
                    f"{'yes' if m.get('bit_exact_vs_tflm') else 'NO'} ({vectors - bad}/{vectors} vectors)",
                    f"{r['accuracy']:.4f}" if r.get("accuracy") is not None else "-",
                    m.get("accuracy_basis") or ""])
    return out


MODEL_ROW_KEYS = ("instructions_per_inference", "flash_without_vectors_bytes", "ram_bytes", "estimated_latency_ms")


def is_mcu(rows: list[dict]) -> bool:
    """Rows of a model benchmarked as firmware (`bench --target mcu`); other MCU rows (apps with their own
    figures, such as the keyword-spotting app) keep the general table."""
    return bool(rows) and all(r.get("target") == "mcu" and isinstance(r.get("mcu"), dict)
                              and all(k in r["mcu"] for k in MODEL_ROW_KEYS) for r in rows)


# The keyword-spotting app (`bench --target mcu --app kws`): per second of audio, front end and model apart.
KWS_COLUMNS = ["artifact", "front end instr / s audio", "model instr / s audio", "RTF front end", "RTF total",
               "flash B", "RAM B", "detections = host"]


def kws_table_rows(rows: list[dict]) -> list[list]:
    return [[r["artifact"], f"{r['mcu']['frontend_instructions_per_audio_second']:,}",
             f"{r['mcu']['model_instructions_per_audio_second']:,}", f"{r['mcu']['rtf_frontend']:.4f}",
             f"{r['mcu']['rtf_total']:.4f}", r["mcu"]["flash_bytes"], r["mcu"]["ram_bytes"],
             "yes" if r["mcu"]["detections_equal_host"] else "NO"] for r in rows]


# The serial benchmark protocol (`bench --target mcu --serial` / `--serial-port`): QEMU counts instructions,
# a real board measures cycles.
SERIAL_COLUMNS = ["artifact", "port", "board says", "bit-exact vs TFLM", "instructions or cycles / inference"]


def serial_table_rows(rows: list[dict]) -> list[list]:
    out = []
    for r in rows:
        m = r["mcu"]
        count = (f"{m['cycles_per_inference']:,} cycles (measured)" if "cycles_per_inference" in m
                 else f"{m['instructions_per_inference']:,} instructions")
        out.append([r["artifact"], m["port"], m["board_name"], "yes" if m["bit_exact_vs_tflm"] else "NO", count])
    return out


KWS_ROW_KEYS = ("frontend_instructions_per_audio_second", "model_instructions_per_audio_second", "rtf_frontend",
                "rtf_total", "flash_bytes", "ram_bytes", "detections_equal_host")
SERIAL_ROW_KEYS = ("port", "board_name", "bit_exact_vs_tflm")


def _all_mcu_with(rows: list[dict], keys: tuple[str, ...]) -> bool:
    """Every row carries these firmware figures (rows with fewer keep the general table)."""
    return bool(rows) and all(isinstance(r.get("mcu"), dict) and all(k in r["mcu"] for k in keys) for r in rows)


def columns_and_rows(rows: list[dict]) -> tuple[list[str], list[list]]:
    """The table that fits the rows: a model as firmware, the kws app, the serial protocol, or latency/memory."""
    if is_mcu(rows):
        return MCU_COLUMNS, mcu_table_rows(rows)
    if _all_mcu_with(rows, KWS_ROW_KEYS):
        return KWS_COLUMNS, kws_table_rows(rows)
    if _all_mcu_with(rows, SERIAL_ROW_KEYS):
        return SERIAL_COLUMNS, serial_table_rows(rows)
    return COLUMNS, table_rows(rows)


def print_table(rows: list[dict], title: str = "benchmark", console=None) -> None:
    """The table of ``rows`` on ``console`` (default: a rich Console on stdout)."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from rich.markup import escape  # artifact paths come from the user: "[/b]" is not markup here

    t = Table(title=escape(title))
    columns, cells = columns_and_rows(rows)
    left = ("artifact", "kind", "runtime", "target", "note", "board", "core", "kernels", "latency basis",
            "bit-exact vs TFLM", "accuracy basis")
    for c in columns:
        t.add_column(escape(c), justify="left" if c in left else "right")
    for r in cells:
        t.add_row(*(escape(str(v)) for v in r))
    (console or Console(width=None if sys.stdout.isatty() else 180)).print(t)  # pipes and logs get the full table


def markdown_table(rows: list[dict]) -> str:
    columns, cells = columns_and_rows(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in r) + " |" for r in cells]
    return "\n".join(lines)


def pareto_png(rows: list[dict], title: str) -> bytes | None:
    """Accuracy vs p50 latency; marker area ~ file bytes (flash). None when nothing has both."""
    pts = [r for r in rows if r.get("accuracy") is not None and r.get("latency_ms")]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    biggest = max(max(r["file_bytes"] for r in pts), 1)
    front = [pts[i] for i in pareto_front([(r["latency_ms"]["p50"], r["accuracy"]) for r in pts])]
    labelled = pts if len(pts) <= LABELLED_POINTS else front
    colors = [f"C{i % 10}" for i in range(len(pts))]
    ax.scatter([r["latency_ms"]["p50"] for r in pts], [100 * r["accuracy"] for r in pts],
               s=[40 + 600 * r["file_bytes"] / biggest for r in pts], c=colors, alpha=0.55)  # one call: fast
    for r in labelled:
        x, y = r["latency_ms"]["p50"], 100 * r["accuracy"]
        ax.annotate(f"{short_name(r)}\n{r['runtime']}, {r['file_bytes'] / 1024:.0f} KB", (x, y), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    ax.plot([r["latency_ms"]["p50"] for r in front], [100 * r["accuracy"] for r in front], "k--", lw=0.8,
            label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("p50 latency per inference, ms (log scale; batch 1)")
    ax.set_ylabel(f"{pts[0].get('metric') or 'accuracy'} on the test split, %")
    ax.set_title(f"{title}: marker size = file (flash) bytes")
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.15)  # room for the labels
    ax.legend(loc="best")
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, value) points no other point beats on both cost (lower) and value (higher),
    in order of cost. The one Pareto front of edgernn: the bench report and the sweep both use it."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def write_bench_outputs(rows: list[dict], out: Path) -> None:
    """results.json, results.csv, report.md and pareto.png in ``out`` (each written atomically)."""
    io.check_out(out, "folder")
    out.mkdir(parents=True, exist_ok=True)
    io.write_json(out / "results.json", {"results": rows})
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    w.writeheader()
    for r in rows:
        w.writerow(csv_row(r))
    io.atomic_write_text(out / "results.csv", buf.getvalue())
    png = pareto_png(rows, f"{rows[0]['target']} benchmark") if rows else None
    if png:
        io.atomic_write_bytes(out / "pareto.png", png)
    io.atomic_write_text(out / "report.md", _markdown(rows, "pareto.png" if png else None))


def _markdown(rows: list[dict], png: str | None, title: str = "edgernn benchmark") -> str:
    hosts = sorted({f"{r['target']}: {r.get('cpu_model') or '?'} ({r.get('machine') or '?'}), host {r.get('host')}"
                    for r in rows})
    about = MCU_ABOUT if is_mcu(rows) else (
        "Measured, batch 1: warm-up, then timed invokes; p50 min-max is the spread of the "
        "per-repeat medians (fresh process each repeat). Peak RSS is the benchmark process's peak resident set (VmHWM). "
        "Accuracy is the artifact's on that runtime on the test split.")
    parts = [f"# {title}", "", about, "",
             *[f"- {h}" for h in hosts], "", markdown_table(rows), ""]
    if png:
        parts += [f"![accuracy vs latency]({png})", ""]
    return "\n".join(parts)


MCU_ABOUT = ("Generated C in firmware under QEMU: instructions counted exactly (SysTick or minstret under -icount, "
             "calibrated); cycles and latency are estimates: one inference's executed instructions priced with the "
             "core's cycle table at the part's clock (basis in each row); flash is code + constants without "
             "the benchmark's test vectors; RAM is static data + measured stack high-water mark.")


MAX_ROWS = 5000       # rows in one report: far above any bench or sweep; bounds a hostile results.json
MAX_TEXT = 1000       # characters of one text field
LABELLED_POINTS = 60  # beyond this many points a plot labels only its Pareto front (labels cost seconds each 100)
_TEXT_FIELDS = ("model_kind", "runtime_version", "host", "cpu_model", "machine", "metric", "estimate", "error",
                "install", "timestamp", "edgernn_version", "sha256")
_NUMBER_FIELDS = ("peak_rss_bytes", "rss_runtime_import_bytes", "accuracy", "throughput_per_s", "threads", "warmup",
                  "runs", "repeats")
_MCU_NUMBERS = ("flash_without_vectors_bytes", "ram_bytes", "instructions_per_inference", "instructions_per_mac",
                "estimated_latency_ms", "vectors", "mismatching_vectors")
_MCU_OPTIONAL_NUMBERS = ("estimated_cycles_per_inference", "estimated_cycles_per_mac", "clock_hz")  # older runs: absent
_MCU_TEXTS = ("board", "cpu", "estimate", "accuracy_basis")


def _is_number(v) -> bool:
    import math

    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_text(v) -> bool:
    return isinstance(v, str) and len(v) <= MAX_TEXT


def row_problem(r) -> str | None:
    """What is wrong with one result row for the report's tables and plots, or None. Every field the report
    reads is checked here, so a hand-edited or hostile results.json gives one error line, not a traceback."""
    if not isinstance(r, dict):
        return "not an object"
    for k in ("artifact", "runtime", "target"):
        if not _is_text(r.get(k)) or not r[k]:
            return f"{k!r} must be a non-empty string of at most {MAX_TEXT} characters"
    if not _is_number(r.get("file_bytes")) or r["file_bytes"] < 0:
        return "'file_bytes' must be a number >= 0"
    bad = [k for k in _TEXT_FIELDS if r.get(k) is not None and not _is_text(r[k])]
    bad += [k for k in _NUMBER_FIELDS if r.get(k) is not None and not _is_number(r[k])]
    lat, spread = r.get("latency_ms"), r.get("p50_spread_ms")
    if lat is not None and not (isinstance(lat, dict) and all(_is_number(lat.get(q)) and lat[q] >= 0 for q in ("p50", "p99"))):
        bad.append("latency_ms (needs p50 and p99 >= 0)")
    if spread is not None and not (isinstance(spread, list) and len(spread) == 2 and all(map(_is_number, spread))):
        bad.append("p50_spread_ms (needs [min, max])")
    m = r.get("mcu")
    if m is not None:
        if not isinstance(m, dict):
            bad.append("mcu")
        else:
            bad += [f"mcu.{k}" for k in _MCU_NUMBERS + _MCU_OPTIONAL_NUMBERS if m.get(k) is not None and not _is_number(m[k])]
            bad += [f"mcu.{k}" for k in _MCU_TEXTS if m.get(k) is not None and not _is_text(m[k])]
    return f"bad field(s): {', '.join(bad)}" if bad else None


def load_results(folder: Path) -> list[dict]:
    f = Path(folder) / "results.json"
    if not f.is_file():
        raise UserError(f"{folder}: no results.json (a folder written by `edgernn bench --out`)")
    data = io.read_json(f)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise UserError(f"{f}: not an edgernn bench result")
    rows = data["results"]
    if len(rows) > MAX_ROWS:
        raise UserError(f"{f}: {len(rows)} result rows; a report takes at most {MAX_ROWS}")
    for i, r in enumerate(rows):
        problem = row_problem(r)
        if problem:
            raise UserError(f"{f}: result row {i}: {problem}")
    return rows


def target_file_names(targets: list[str]) -> dict[str, str]:
    """``pareto_<target>.png`` per target, made safe: the target comes from results.json (data, not a path),
    so anything but letters, digits, '-', '_' is replaced and names that collide get a number."""
    names: dict[str, str] = {}
    for t in targets:
        stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in t)[:60] or "target"
        name, k = f"pareto_{stem}.png", 2
        while name in names.values():
            name, k = f"pareto_{stem}_{k}.png", k + 1
        names[t] = name
    return names


def report(folders, out, formats=D.REPORT_FORMATS) -> list[Path]:
    """Merge bench result folders into one report (Markdown and/or HTML) with a Pareto plot per target."""
    if not folders:
        raise UserError("no result folders given")
    unknown = [f for f in formats if f not in ("md", "html")]
    if unknown:
        raise UserError(f"unknown report format(s) {', '.join(unknown)} (choose md, html)")
    out = io.check_out(out, "folder", inputs=folders)
    rows = [r for f in folders for r in load_results(Path(f))]
    if len(rows) > MAX_ROWS:
        raise UserError(f"{len(rows)} result rows in these folders; a report takes at most {MAX_ROWS}")
    out.mkdir(parents=True, exist_ok=True)
    targets = sorted({r["target"] for r in rows})
    files = target_file_names(targets)
    pngs = {}
    for t in targets:
        png = pareto_png([r for r in rows if r["target"] == t], f"{t}")
        if png:
            io.atomic_write_bytes(io.inside(out, files[t]), png)
            pngs[t] = png
    written = []
    if "md" in formats:
        sections = ["# edgernn report", ""]
        for t in targets:
            trows = [r for r in rows if r["target"] == t]
            sections += [f"## target: {t}", "", *([MCU_ABOUT, ""] if is_mcu(trows) else []), markdown_table(trows), ""]
            if t in pngs:
                sections += [f"![{t}]({files[t]})", ""]
        io.atomic_write_text(out / "report.md", "\n".join(sections))
        written.append(out / "report.md")
    if "html" in formats:
        io.atomic_write_text(out / "report.html", _html(rows, targets, pngs))
        written.append(out / "report.html")
    io.write_json(out / "results.json", {"results": rows})
    return written


def _html(rows, targets, pngs) -> str:
    body = ["<h1>edgernn report</h1>",
            "<p>Every figure measured: batch-1 latency (p50 and the min-max of per-repeat p50s), peak RSS of the "
            "benchmark process, accuracy of the artifact on that runtime on the test split.</p>"]
    for t in targets:
        columns, cells = columns_and_rows([r for r in rows if r["target"] == t])
        about = f"<p>{html.escape(MCU_ABOUT)}</p>" if columns is MCU_COLUMNS else ""
        body.append(f"<h2>target: {html.escape(t)}</h2>{about}<table><tr>" +
                    "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>")
        for r in cells:
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>")
        body.append("</table>")
        if t in pngs:
            b64 = base64.b64encode(pngs[t]).decode()
            body.append(f'<p><img alt="accuracy vs latency, {html.escape(t)}" src="data:image/png;base64,{b64}"></p>')
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}th{background:#eee}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>edgernn report</title><style>{style}</style>" \
           f"</head><body>{''.join(body)}</body></html>\n"
