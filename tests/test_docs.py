"""The documentation cannot rot: the site builds strictly, every command's --help points at a page that
exists, results pages are flagged when their code changed, the README's results table matches the
records, the built pages render in a real browser, and every shell block of getting-started runs."""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.conftest import load_tool
from edgernn.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built as `make docs` builds it (strict), into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    print(f"mkdocs build --strict: exit {proc.returncode} in {time.monotonic() - start:.1f} s")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def test_site_builds_strictly_with_generated_pages(site):
    from edgernn.targets.boards import BOARDS

    boards = (site / "reference" / "boards.html").read_text()
    assert all(f"<code>{name}</code>" in boards for name in BOARDS)
    runtime = (site / "reference" / "c-runtime.html").read_text()
    for header in (ROOT / "firmware" / "runtime").glob("ern_*.h"):
        for macro in re.findall(r"#define (ERN_\w+_SCRATCH_BYTES)", header.read_text()):
            assert macro in runtime, f"{macro} of {header.name} is missing from the C runtime reference"
    cli = (site / "reference" / "cli.html").read_text()
    assert "--holdout-engine" in cli and "synth-kws" in cli
    api = (site / "reference" / "python-api.html").read_text()
    assert "streaming_eval" in api
    records = sorted(p.stem for p in (DOCS / "results" / "data").glob("*.json"))
    assert records and all((site / "results" / f"{name}.html").is_file() for name in records)


def _commands(group: click.Group, names=()):
    for name, cmd in group.commands.items():
        yield (*names, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*names, name))


@pytest.mark.parametrize("names", [()] + [names for names, _ in _commands(main)], ids=lambda n: " ".join(n) or "edgernn")
def test_every_help_ends_with_its_docs_page(names):
    out = CliRunner().invoke(main, [*names, "--help"], prog_name="edgernn")
    assert out.exit_code == 0, out.output
    last = out.output.strip().splitlines()[-1]
    m = re.fullmatch(r"Docs: (\S+?)\.html(?:#(\S+))? \(built by `make docs`; source in docs/\)", last)
    assert m, f"--help of {' '.join(names)!r} ends with {last!r}"
    page = DOCS / f"{m.group(1)}.md"
    assert page.is_file(), f"{page} does not exist"
    if m.group(2):
        assert "{#" + m.group(2) + "}" in page.read_text(), f"{page.name} has no section {{#{m.group(2)}}}"


def test_version_comes_from_the_package_metadata():
    out = subprocess.run([str(BIN / "edgernn"), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"edgernn, version {version('edgernn')}"


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def test_a_page_older_than_its_code_is_flagged(tmp_path):
    docs_results = load_tool("docs_results")
    repo = tmp_path / "repo"
    (repo / "code").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "code" / "kernel.c").write_text("int a;\n")
    (repo / "other.txt").write_text("x\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first")
    record = {"commit": _git(repo, "rev-parse", "HEAD"), "describes": ["code"], "command": "python tools/x.py"}
    assert docs_results.staleness(record, repo) == {"checked": True, "unknown_commit": False, "commits": []}
    (repo / "other.txt").write_text("y\n")
    _git(repo, "commit", "-qam", "unrelated change")
    assert docs_results.staleness(record, repo)["commits"] == []
    (repo / "code" / "kernel.c").write_text("int b;\n")
    _git(repo, "commit", "-qam", "faster kernel")
    state = docs_results.staleness(record, repo)
    assert [c[2] for c in state["commits"]] == ["faster kernel"]
    note = docs_results.stale_note(record, state)
    assert "Older than the code it describes" in note and "faster kernel" in note and "python tools/x.py" in note
    unknown = docs_results.staleness(dict(record, commit="0" * 40), repo)
    assert unknown["unknown_commit"] and "not in this history" in docs_results.stale_note(dict(record, commit="0" * 40), unknown)


def test_results_records_are_checked(tmp_path):
    docs_results = load_tool("docs_results")
    good = json.loads(next((DOCS / "results" / "data").glob("*.json")).read_text())
    for name, broken in [("no-schema", dict(good, schema="other")),
                         ("bad-commit", dict(good, commit="HEAD; rm -rf /")),
                         ("short-row", dict(good, tables=[{"title": "t", "columns": ["a", "b"], "rows": [[1]]}])),
                         ("bad-plot", dict(good, plots=[{"table": 0, "value": "no such column"}]))]:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(docs_results.RecordError):
            docs_results.load_record(path)


def test_records_sharing_a_title_get_pages_a_reader_can_tell_apart(tmp_path):
    """The same bench run on several models writes records with one title; the nav, the index and the
    page headings name each record too, and a title used once is left as it is."""
    docs_results = load_tool("docs_results")
    good = json.loads(next((DOCS / "results" / "data").glob("*.json")).read_text())
    for name, title in [("int8-a", "int8 drop"), ("int8-b", "int8 drop"), ("mcu", "Microcontroller")]:
        (tmp_path / f"{name}.json").write_text(json.dumps(dict(good, title=title)))
    titles = {r["name"]: r["page_title"] for r in docs_results.load_records(tmp_path)}
    assert titles == {"int8-a": "int8 drop (int8-a)", "int8-b": "int8 drop (int8-b)", "mcu": "Microcontroller"}
    pages = docs_results.results_pages(tmp_path)
    assert pages["results/int8-b.md"].startswith("# int8 drop (int8-b)\n")
    assert "[int8 drop (int8-a)](int8-a.md)" in pages["results/index.md"]
    real = docs_results.load_records()
    assert len({r["page_title"] for r in real}) == len(real)


def test_benchmark_scripts_write_records_the_pages_accept(tmp_path):
    """The --json writers of the benchmark scripts produce records that load and render (fed the
    shapes of their real results, so nothing is trained here)."""
    import argparse

    docs_results = load_tool("docs_results")
    voices = load_tool("bench_kws_voices")
    m = {"accuracy": 0.888, "holdout": {"keyword_accuracy": 0.704, "false_fire_rate": 0.163}}
    s = {"at_calibrated_threshold": {"false_rejection_rate": 0.972}, "test_operating_point": {"false_rejection_rate": 0.89}}
    args = argparse.Namespace(json=tmp_path / "kws-voices.json", holdout_engine="festival", minutes=60.0,
                              load=(2.5, 3.1))
    voices.write_json(args, [("GRU-64", m, s), ("LSTM-64", m, s)], 12.0, 30.0,
                      ["--data", str(ROOT / "data" / "kws"), "--runs", "/tmp/scratch/runs", "--json", "x.json"])
    anomaly = load_tool("bench_anomaly_mcu")
    row = {"series": "yahoo", "arch": "gru", "kind": "predictor", "window": 24, "tflm_runs": True,
           "host_c_bit_exact": (197, 197), "qemu_bit_exact": (4, 4), "qemu_instructions": 370640,
           "float_roc_auc": 0.554, "int8_tflm_roc_auc": 0.425, "guard_flagged": False}
    anomaly.write_json(tmp_path / "anomaly-mcu.json", [row], 3.0)
    mcu = load_tool("bench_mcu")
    mcu.write_json(argparse.Namespace(json=tmp_path / "mcu.json", vectors=4),
                   [["kws-gru64", "mps2-an386 (Cortex-M4)", "DSP", "yes", 1372948, 1.97, 27064, 2432, 1923386, 2.76,
                     168, 11.45]], ["note"], {"mps2-an386": "est. cycles = ... (Cortex-M4 TRM ...)"})
    sweep = load_tool("bench_sweep")
    best = {"id": "gru32x2-s0.5-int8", "metric": "accuracy", "quantized_runtime": "tflm", "accuracy": 0.8125,
            "flash_bytes": 29764, "ram_bytes": 2040, "mcu_latency_ms": 10.0, "arena_bytes": 11168}
    summary = {"trials": 24, "ok": 24, "failed": [], "did_not_learn": [], "nodes_used": ["a", "b"], "best": best}
    summary["session"] = {"trials_run": 24}
    sweep.write_json(argparse.Namespace(json=tmp_path / "sweep.json", nodes=2, cpus_per_node=1, load=(2.0, 3.0)),
                     summary, 877.0, 1650.0, {"session": {"trials_run": 0}}, 3.9, ["--out=/tmp/scratch/sweep"])
    records = docs_results.load_records(tmp_path)
    assert [r["name"] for r in records] == ["anomaly-mcu", "kws-voices", "mcu", "sweep"]
    assert all(r["provenance"] == "measured" and r["machine"]["cores"] >= 1 for r in records)
    assert records[1]["headline"][0]["value"] == "70.4% recognized, 16.3% of non-keywords fire (goals 90% / 3%)"
    assert records[1]["command"] == "python tools/bench_kws_voices.py --data data/kws --json x.json"
    assert "12 s wall, 30 CPU s" in records[1]["summary"] and "load average 2.5" in records[1]["summary"]
    assert records[3]["command"] == "python tools/bench_sweep.py"
    assert ["CPU time (driver and cluster processes), s", 1650] in records[3]["tables"][0]["rows"]
    pages = docs_results.results_pages(tmp_path)
    assert "1,372,948" in pages["results/mcu.md"] and pages["results/img/mcu-0.png"][:4] == b"\x89PNG"
    assert "1,923,386" in pages["results/mcu.md"] and pages["results/img/mcu-1.png"][:4] == b"\x89PNG"  # est. cycles
    assert records[2]["headline"][0]["value"].startswith("1.97 instructions/MAC, 2.76 est. cycles/MAC, 11.45 ms")


def test_record_commands_name_no_folder_of_one_machine(tmp_path):
    """A record's command is reproducible elsewhere: paths inside any checkout of the project (a
    worktree's main tree too) become relative, scratch output folders outside one are left out, and
    other absolute paths (inputs) stay."""
    command_line = load_tool("results_record").command_line
    other = tmp_path / "clone"  # another checkout, as /work/main is for a worktree
    (other / ".git").mkdir(parents=True)
    (other / "tools").mkdir()
    (other / "tools" / "results_record.py").write_text("")
    argv = ["--data", str(other / "data" / "kws"), "--runs", str(tmp_path / "scratch"), f"--out={tmp_path}/o",
            "--json", str(ROOT / "docs" / "results" / "data" / "x.json"), "--cmsis-nn", "/opt/cmsis nn", "--n", "3"]
    assert command_line("tools/t.py", argv, scratch=("--runs", "--out")) == (
        "python tools/t.py --data data/kws --json docs/results/data/x.json --cmsis-nn '/opt/cmsis nn' --n 3")
    assert command_line("tools/t.py", argv) == (  # not scratch: kept, however absolute
        f"python tools/t.py --data data/kws --runs {tmp_path}/scratch --out={tmp_path}/o "
        "--json docs/results/data/x.json --cmsis-nn '/opt/cmsis nn' --n 3")
    assert command_line("tools/t.py", ["--runs", "runs/x", f"--data={other}/data"], scratch=("--runs",)) == (
        "python tools/t.py --runs runs/x --data=data")


def test_readme_results_table_matches_the_records():
    docs_results = load_tool("docs_results")
    assert docs_results.main(["readme", "--check"]) == 0
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for record in docs_results.load_records():
        for row in record.get("headline", []):
            assert row["value"].replace("|", "\\|") in readme


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_site(site):
    """The built site over HTTP on loopback (pages and images are then one origin for the browser)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _chromium(tmp_path: Path, *args: str, height: int = 1600) -> str:
    exe = shutil.which("chromium")
    assert exe, "Debian's chromium is needed (make test installs it: APT_PKGS in the Makefile)"
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           f"--window-size=1280,{height}", "--virtual-time-budget=5000", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_home_and_a_results_page_render_in_chromium(site, served_site, tmp_path):
    """Headless Chromium loads the home page and the microcontroller results page: their text is
    rendered, every image of the results page decoded (a plot that failed to load has width 0), and
    screenshots of both are saved (paths printed)."""
    home = _chromium(tmp_path, "--dump-dom", f"{served_site}/index.html")
    assert "Small recurrent models (GRU, LSTM, vanilla RNN) from data to a microcontroller" in home
    assert "Keyword spotting in 5 minutes" in home  # the navigation rendered too
    page = _chromium(tmp_path, "--dump-dom", f"{served_site}/results/mcu.html")
    assert "instructions / MAC" in page and "Measured:" in page and "Commit:" in page
    # A same-origin frame reports how each image of the results page decoded.
    (site / "_imgcheck.html").write_text(
        '<iframe id="f" src="results/mcu.html" width="1200" height="3000"></iframe><pre id="out">pending</pre>'
        '<script>document.getElementById("f").onload = function () {'
        ' const imgs = [...this.contentDocument.querySelectorAll("article img")];'
        ' document.getElementById("out").textContent = imgs.length ? imgs.map('
        '  i => i.getAttribute("src") + " " + i.naturalWidth + "x" + i.naturalHeight).join("\\n") : "no images";'
        '};</script>')
    report = re.search(r'<pre id="out">(.*?)</pre>', _chromium(tmp_path, "--dump-dom", f"{served_site}/_imgcheck.html"), re.S)
    lines = report.group(1).strip().splitlines()
    assert lines and lines != ["pending"] and lines != ["no images"], lines
    for line in lines:
        src, size = line.rsplit(" ", 1)
        width, height = map(int, size.split("x"))
        assert src.endswith(".png") and width > 100 and height > 50, line
    shots = {}
    for name, url, height in (("home", "index.html", 1600), ("results-mcu", "results/mcu.html", 3000)):
        shots[name] = tmp_path / f"{name}.png"
        _chromium(tmp_path, f"--screenshot={shots[name]}", f"{served_site}/{url}", height=height)
        assert shots[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shots[name].stat().st_size > 20_000
    print("screenshots:", *shots.values())


# --- getting-started: every shell block runs ---
GETTING_STARTED = ["install", "kws-in-5-minutes", "own-keywords", "classify-npz", "anomaly-csv", "to-a-board"]
NOT_RUN = "<!-- not run by the tests:"
# Appended to each edgernn command the pages show, to run them on tiny data in seconds: later options
# win in click, so the pages keep the sizes a reader should use.
SMALL = {("data", "synth-kws"): "--per-word 24 --unknown-total 48 --engines espeak --workers 2",
         ("data", "synth-anomaly"): "--train-seconds 20 --val-seconds 8 --test-seconds 20",
         ("train",): "--epochs 1 --units 8",
         ("quantize",): "--calibration-samples 20",
         ("firmware", "build"): "--vectors 2",
         ("bench",): "--warmup 1 --runs 3 --repeat 1"}


def shell_blocks(page: Path) -> list[tuple[str, str, str]]:
    """(language, preceding line, body) of every fenced block of a page."""
    blocks, lines, i = [], page.read_text().splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            end = lines.index("```", i + 1)
            blocks.append((lines[i][3:].strip(), lines[i - 1].strip() if i else "", "\n".join(lines[i + 1:end]) + "\n"))
            i = end
        i += 1
    return blocks


def test_getting_started_blocks_are_runnable_or_say_why_not():
    counts = {"bash": 0, "sh": 0}
    for name in GETTING_STARTED:
        for lang, before, _ in shell_blocks(DOCS / "getting-started" / f"{name}.md"):
            assert lang in ("bash", "sh", "c", "python", "text", ""), f"{name}.md: shell blocks are bash (run) or sh (not run)"
            if lang == "sh":
                assert before.startswith(NOT_RUN), f"{name}.md: an sh block needs '{NOT_RUN} <why> -->' before it"
                counts["sh"] += 1
            counts["bash"] += lang == "bash"
    assert counts["bash"] >= 12


def _small_edgernn(folder: Path) -> Path:
    """An `edgernn` first on PATH that adds the SMALL options and runs the real one."""
    cases = "\n".join(f'  "{" ".join(k)}"*) extra="{v}";;' for k, v in SMALL.items() if len(k) == 2)
    cases += "\n" + "\n".join(f'  "{k[0]} "*) extra="{v}";;' for k, v in SMALL.items() if len(k) == 1)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "edgernn"
    script.write_text(f'#!/bin/bash\nextra=""\ncase "$1 $2" in\n  *--help*|*--version*) ;;\n{cases}\nesac\n'
                      f'exec "{BIN / "edgernn"}" "$@" $extra\n')
    script.chmod(0o755)
    return folder


@pytest.mark.slow
def test_getting_started_shell_blocks_run(tmp_path):
    """Every bash block of the getting-started pages, in reading order, in one fresh folder (later pages
    use the runs of earlier ones), on tiny data; each must exit 0."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "tools").symlink_to(ROOT / "tools")
    wrapper = _small_edgernn(tmp_path / "bin")
    env = dict(os.environ, PATH=f"{wrapper}:{BIN}:{os.environ['PATH']}", TF_CPP_MIN_LOG_LEVEL="3")
    ran, start = 0, time.monotonic()
    for name in GETTING_STARTED:
        for lang, _, body in shell_blocks(DOCS / "getting-started" / f"{name}.md"):
            if lang != "bash":
                continue
            t0 = time.monotonic()
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=900)
            print(f"{name}.md block {ran + 1}: exit {proc.returncode} in {time.monotonic() - t0:.0f} s")
            assert proc.returncode == 0, f"{name}.md block failed:\n{body}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            ran += 1
    print(f"getting-started: {ran} shell blocks run in {time.monotonic() - start:.0f} s")
    assert ran >= 12


def test_sweep_bench_counts_the_cpu_of_processes_that_ended():
    """bench_sweep's CpuMeter counts the CPU of a cluster process that ended inside the block although
    its parent ignores SIGCHLD (as Ray's raylet leaves no children times of its workers), and not that
    of a process outside the cluster."""
    from edgernn.procs import python_argv

    meter_cls = load_tool("bench_sweep").CpuMeter
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.5: pass"
    root_code = ("import signal, subprocess, sys, time\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
                 "sys.stdin.readline()\nprint(subprocess.Popen([sys.executable, '-I', '-c', " + repr(burn) + "]).pid, "
                 "flush=True)\ntime.sleep(60)")
    root = subprocess.Popen(python_argv("-c", root_code), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        with meter_cls({root.pid}, interval=0.05) as meter:
            outsider = subprocess.Popen(python_argv("-c", burn))  # not below the roots
            root.stdin.write("go\n")
            root.stdin.flush()
            worker = int(root.stdout.readline())
            outsider.wait(timeout=60)
            deadline = time.monotonic() + 60
            while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:  # ends, its times kept by no one
                time.sleep(0.05)
        assert 1.2 < meter.seconds < 2.8, meter.seconds
    finally:
        root.kill()
        root.wait()
