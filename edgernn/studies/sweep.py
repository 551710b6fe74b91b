"""``edgernn sweep``: search model designs under a device budget, trials run on Ray.

A trial is one design (cell, units, layers, sparsity, quantization mode and, for anomaly data,
window) taken through the ordinary pipeline in a Ray worker: train -> prune -> quantize ->
accuracy on the runtime the device uses (TFLite Micro for int8) -> ``check`` (arena) ->
generated C on the board in QEMU (flash, RAM, latency estimate) -> LiteRT on this CPU (p50).
The driver (this process) only plans, schedules and records:

- the search space is a grid (every combination) or a seeded random sample of it;
- each trial's figures and small artifacts come back through Ray and are written to
  ``OUT/trials/<id>/`` atomically, so a cluster worker needs no shared output folder (only the
  data path must exist on every node);
- a trial that fails (bad design, converter crash, a worker process killed) is recorded with
  its reason; a crashed worker is retried ``retries`` times first; the sweep goes on;
- a trial's id is a hash of its design and of the settings that shape its figures, so running
  the same command again skips every recorded trial (it resumes; nothing finished is redone);
- the constraints (flash, RAM, latency) select among the results and never change a trial, so
  they can be changed on a re-run at no cost.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io as _io
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

from edgernn import defaults as D
from edgernn import io
from edgernn.bench.report import pareto_front
from edgernn.errors import UserError
from edgernn.studies import ray_auth
from edgernn.studies.pipeline import Design, Settings, run_pipeline

QUANT_MODES = ("int8", "float16", "dynamic")
SEARCHES = ("grid", "random")
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m)?\s*$", re.IGNORECASE)
SIZE_UNITS = {None: 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
TRIAL_FILES = ("model.keras", "config.json", "metrics.json")


# ---------------------------------------------------------------- the search space

def parse_size(text: str | int | None, option: str) -> int | None:
    """'64KB' -> 65536 (KB = 1024 bytes, as microcontroller datasheets count); None stays None."""
    if text is None or isinstance(text, int):
        return text
    m = SIZE_RE.match(str(text))
    if not m:
        raise UserError(f"{option}: cannot read {text!r} as a size (e.g. 64KB, 16KiB, 1MB, 20000)")
    value = int(float(m.group(1)) * SIZE_UNITS[(m.group(2) or "").lower() or None])
    if value <= 0:
        raise UserError(f"{option}: must be positive, got {text!r}")
    return value


def _values(text, option: str, kind) -> list:
    items = text if isinstance(text, (list, tuple)) else [s.strip() for s in str(text).split(",")]
    items = [s for s in items if str(s).strip() != ""]
    if not items:
        raise UserError(f"{option} is empty: the search space has no designs")
    try:
        values = [kind(s) for s in items]
    except ValueError:
        raise UserError(f"{option}: cannot read {text!r} (comma-separated {kind.__name__} values)") from None
    return list(dict.fromkeys(values))  # de-duplicated, order kept


def search_space(task: str, arch="gru,lstm", units="16,32", layers="1", sparsity="0", quant="int8",
                 window=None) -> dict:
    """Validated axes of the search space: {axis: [values]}; impossible values are UserErrors."""
    from edgernn.models import cell, check_size

    space = {"arch": _values(arch, "--arch", str), "units": _values(units, "--units", int),
             "layers": _values(layers, "--layers", int), "sparsity": _values(sparsity, "--sparsity", float),
             "quant": _values(quant, "--quant", str)}
    for a in space["arch"]:
        cell(a)  # the cells edgernn.models builds (unknown ones are a UserError naming the choices)
    for u in space["units"]:
        for n in space["layers"]:
            check_size(u, n)
    bad = [s for s in space["sparsity"] if not 0.0 <= s < 1.0]
    if bad:
        raise UserError(f"--sparsity: {bad[0]} is impossible (0 <= sparsity < 1)")
    bad = [q for q in space["quant"] if q not in QUANT_MODES]
    if bad:
        raise UserError(f"--quant: unknown mode {bad[0]!r} (choose from {', '.join(QUANT_MODES)})")
    if window is not None and str(window).strip():
        if task != "anomaly":
            raise UserError("--window applies to anomaly data only (keyword and sequence inputs have a fixed length)")
        space["window"] = _values(window, "--window", int)
        if any(w < 2 for w in space["window"]):
            raise UserError("--window: windows need at least 2 samples")
    return space


MAX_TRIALS = 2000      # trials one sweep runs (each trains, converts and benchmarks a model: minutes)
MAX_GRID = 1_000_000   # designs in the search space random search samples from


def plan_trials(space: dict, search: str = "grid", trials: int | None = None, seed: int = 0) -> list[dict]:
    """The designs to run, in a fixed order: every combination, or a seeded random sample of them."""
    if search not in SEARCHES:
        raise UserError(f"unknown search {search!r} (choose from {', '.join(SEARCHES)})")
    axes = list(space)
    if trials is not None and not 1 <= trials <= MAX_TRIALS:
        raise UserError(f"--trials must be 1..{MAX_TRIALS}")
    size = math.prod(len(space[a]) for a in axes)
    if search == "grid" and trials is None and size > MAX_TRIALS:
        raise UserError(f"the grid has {size:,} designs; a sweep runs at most {MAX_TRIALS:,}: narrow the axes, "
                        "cap it with --trials, or use --search random")
    if size > MAX_GRID:  # random search draws from the grid: it is built in memory
        raise UserError(f"the search space has {size:,} designs; at most {MAX_GRID:,}: narrow the axes")
    grid = [dict(zip(axes, combo)) for combo in itertools.product(*(space[a] for a in axes))]
    if search == "grid":
        return grid if trials is None else grid[:trials]
    # Random search samples designs without repeats; the seed makes the list (and so the resume) stable.
    n = min(trials or 16, len(grid))
    return random.Random(seed).sample(grid, n)


def trial_id(params: dict, settings: dict) -> str:
    """Stable id of a trial: its design plus every setting that shapes its figures."""
    shaping = {k: settings[k] for k in ("task", "data", "epochs", "prune_epochs", "seed", "board", "mcu_vectors")}
    blob = json.dumps({"params": params, "settings": shaping}, sort_keys=True)
    label = "-".join(f"{params['arch']}{params['units']}x{params['layers']}" if k == "arch" else
                     f"s{params[k]:g}" if k == "sparsity" else f"{params[k]}" if k == "quant" else f"w{params[k]}"
                     for k in params if k not in ("units", "layers"))
    return f"{label}-{hashlib.sha1(blob.encode()).hexdigest()[:8]}"


# ---------------------------------------------------------------- one trial (runs in a Ray worker)

def run_trial(params: dict, settings: dict) -> dict:
    """Take one design through the pipeline; never raises for a failed design (the reason is returned)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    started = time.time()
    where = _where()
    with tempfile.TemporaryDirectory(prefix="edgernn-trial-") as tmp:
        try:
            figures, files, status, reason = _pipeline(params, settings, Path(tmp))
        except UserError as e:
            figures, files, status, reason = {}, {}, "failed", str(e)
        except Exception as e:  # a library failure inside one design must not stop the sweep
            first = (str(e).strip().splitlines() or [""])[0][:300]
            figures, files, status, reason = {}, {}, "failed", f"{type(e).__name__}: {first}"
    return {"status": status, "reason": reason, "figures": figures, "files": files,
            "seconds": round(time.time() - started, 1), **where}


def _where() -> dict:
    out = {"host": socket.gethostname(), "pid": os.getpid()}
    import ray

    # Outside Ray (run_trial called directly) there is no node; asking would start a local instance.
    out["node_id"] = ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    return out


def _pipeline(params: dict, settings: dict, tmp: Path):
    """The design through the study pipeline; (figures, files, status, reason) of the trial."""
    # anomaly window: a loader option, kept in the run's config.json so every later step cuts the same windows
    options = {"window": params["window"], "stride": max(1, params["window"] // 2)} if "window" in params else None
    design = Design(arch=params["arch"], units=params["units"], layers=params["layers"], sparsity=params["sparsity"],
                    quant=params["quant"], data_options=options)
    o = run_pipeline(design, Settings(task=settings["task"], data=settings["data"], seed=settings["seed"],
                                      epochs=settings["epochs"], prune_epochs=settings["prune_epochs"],
                                      targets=(("cpu", None), ("mcu", settings["board"])),
                                      cpu_runs=settings["cpu_runs"], cpu_warmup=5,
                                      mcu_vectors=settings["mcu_vectors"], mcu_test_inputs=True), tmp / "run")
    if o.run is None:  # training or pruning failed
        raise UserError(o.error)
    guard = o.metrics.guard or {}
    figures = {"metric": o.metric, "float": o.float_value, "guard": guard, "stage_seconds": o.stage_seconds,
               "params": o.config.params, "macs": o.config.macs}
    if o.failed_stage == "diverged":
        return figures, {}, "failed", o.error
    if o.failed_stage:
        raise UserError(o.error)
    value = o.quantized_value
    figures.update(quantized=value, quantized_runtime=o.quantized_runtime, file_bytes=o.model.stat().st_size,
                   accuracy=value)
    cpu = o.targets["cpu"]
    if cpu.row is None:  # the CPU bench itself failed (a row with an error still counts as measured)
        raise UserError(cpu.error)
    rows = [dict(cpu.row, metric=o.metric, accuracy=value)]
    figures["cpu_p50_ms"] = (cpu.row.get("latency_ms") or {}).get("p50")
    if design.quant == "int8":
        figures["arena_bytes"] = o.arena_bytes
    mcu = o.targets.get(f"mcu:{settings['board']}")
    if mcu is not None:
        if mcu.error:
            return figures, {}, "failed", mcu.error
        m = mcu.row["mcu"]
        rows.append(dict({k: v for k, v in mcu.row.items() if k != "mcu"}, target=f"mcu:{settings['board']}",
                         metric=o.metric, accuracy=value))
        figures.update(flash_bytes=m["flash_without_vectors_bytes"], ram_bytes=m["ram_bytes"],
                       mcu_latency_ms=m["estimated_latency_ms"], mcu_estimate=m["estimate"],
                       instructions_per_inference=m["instructions_per_inference"])
    figures["rows"] = rows
    files = {name: (o.run / name).read_bytes() for name in TRIAL_FILES}
    files[o.model.name] = o.model.read_bytes()
    status, reason = "ok", None
    if guard.get("did_not_learn"):
        status, reason = "did_not_learn", "; ".join(guard.get("reasons") or ["flagged by the training guard"])
    return figures, files, status, reason


# ---------------------------------------------------------------- the driver

def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--address {address!r}: expected HOST:PORT of a Ray head node (e.g. 10.0.0.5:6379)")
    return host, int(port)


def check_reachable(address: str, timeout: float = 3.0) -> None:
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise UserError(f"cannot reach a Ray cluster at {address}: {e.strerror or e} "
                        "(start one with `ray start --head`, or drop --address to run locally)") from None


def _connect(address: str | None, num_cpus: int | None):
    import ray

    env = {"env_vars": {"TF_USE_LEGACY_KERAS": "1", "MPLBACKEND": "Agg"}}
    with _keeping_sigterm_handler():
        if address:
            check_reachable(address)
            try:
                ray.init(address=address, runtime_env=env, log_to_driver=False, logging_level="ERROR")
            except Exception as e:  # a port that answers but is not a Ray head, or a head that wants a token
                raise UserError(f"cannot join the Ray cluster at {address}: {str(e).splitlines()[0][:200]}"
                                f"{_token_hint()}") from None
        else:  # "local": always a fresh instance on this machine, never a cluster that happens to be running;
            # it authenticates with the session token _local_auth set up, not with ~/.ray/auth_token
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, runtime_env=env,
                     log_to_driver=False, logging_level="ERROR")
    return ray


@contextlib.contextmanager
def _keeping_sigterm_handler():
    """ray.init replaces this process's SIGTERM handler (Python: sys.exit; then its C++ core: a stack
    dump, "*** SIGTERM received ***"). A handler set in Python before, such as the CLI's, which unwinds
    like Ctrl-C so that run_pending's ray.shutdown() runs, is put back; Ray's stay otherwise."""
    ours = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if callable(ours):
            signal.signal(signal.SIGTERM, ours)


def _token_hint() -> str:
    """Ray says only "Failed to connect" when the head wants a token this driver does not send."""
    if os.environ.get(ray_auth.MODE, "").lower() == "token":
        return ""
    return (f"; if the cluster uses token authentication, set {ray_auth.MODE}=token and give its token "
            f"({ray_auth.TOKEN_PATH}, {ray_auth.TOKEN} or ~/.ray/auth_token; docs/guides/ci-and-fresh-machines.md)")


@contextlib.contextmanager
def _local_auth(address: str | None):
    """A local cluster gets a token of its own, made before its first node starts and gone after it
    (edgernn.studies.ray_auth); a cluster at --address is the user's, with Ray's own token rules."""
    if address:
        yield
        return
    with ray_auth.session_token() as auth, ray_auth.as_driver(auth):
        yield


def load_done(out: Path) -> dict[str, dict]:
    done = {}
    for f in sorted((out / "trials").glob("*/trial.json")):
        try:
            rec = io.read_json(f)
        except UserError:
            continue  # unreadable record: the trial is run again
        if isinstance(rec, dict) and rec.get("id") == f.parent.name:
            done[rec["id"]] = rec
    return done


def _record(out: Path, tid: str, params: dict, result: dict, attempts: list[str]) -> dict:
    rec = {"id": tid, "params": params, "status": result["status"], "reason": result.get("reason"),
           "attempts": len(attempts) + 1, "crashes": attempts, "seconds": result.get("seconds"),
           "host": result.get("host"), "node_id": result.get("node_id"), "pid": result.get("pid"),
           "figures": {k: v for k, v in result.get("figures", {}).items() if k != "rows"},
           "rows": result.get("figures", {}).get("rows", []),
           "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    folder = out / "trials" / tid
    with io.atomic_dir(folder, overwrite=True) as tmp:
        for name, data in (result.get("files") or {}).items():
            io.atomic_write_bytes(tmp / Path(name).name, data)
        for r in rec["rows"]:  # artifacts point at the recorded copy, not the worker's temporary folder
            r["artifact"] = str(folder / Path(r["artifact"]).name)
        io.write_json(tmp / "trial.json", rec)
    return rec


def _crash_reason(e: Exception) -> str:
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return f"{type(e).__name__}: {text[:240]}"


def run_pending(pending: list[tuple[str, dict]], settings: dict, out: Path, address: str | None,
                num_cpus: int | None, cpus_per_trial: float, retries: int, progress: bool) -> dict:
    """Run trials on Ray; record each as it finishes. Returns session facts (nodes, wall time)."""
    with _local_auth(address):
        return _run_on_ray(pending, settings, out, address, num_cpus, cpus_per_trial, retries, progress)


def _run_on_ray(pending: list[tuple[str, dict]], settings: dict, out: Path, address: str | None,
                num_cpus: int | None, cpus_per_trial: float, retries: int, progress: bool) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    ray = _connect(address, num_cpus)
    try:
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        remote = ray.remote(num_cpus=cpus_per_trial, max_retries=0)(run_trial)  # retries are ours, recorded
        settings_ref = ray.put(settings)
        refs, crashes = {}, {}
        for tid, params in pending:
            refs[remote.remote(params, settings_ref)] = (tid, params)
        counts = {"ok": 0, "failed": 0, "did_not_learn": 0}
        with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), disable=not progress, transient=False) as bar:
            task = bar.add_task("", total=len(pending))
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                ref = ready[0]
                tid, params = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as e:  # the worker died (killed, out of memory) or Ray lost it
                    crashes.setdefault(tid, []).append(_crash_reason(e))
                    if len(crashes[tid]) <= retries:
                        refs[remote.remote(params, settings_ref)] = (tid, params)
                        continue
                    result = {"status": "failed", "reason": f"worker crashed {len(crashes[tid])} times; last: "
                                                            f"{crashes[tid][-1]}", "figures": {}, "files": {}}
                    crashes[tid] = crashes[tid][:-1]
                rec = _record(out, tid, params, result, crashes.get(tid, []))
                counts[rec["status"]] = counts.get(rec["status"], 0) + 1
                bar.update(task, advance=1, description=f"ok {counts['ok']}  failed {counts['failed']}  "
                                                        f"did-not-learn {counts['did_not_learn']}  last {tid}")
    finally:
        ray.shutdown()
    return {"nodes": nodes}


def sweep(data, task: str = D.STUDY_TASK, out=D.SWEEP_OUT, arch=D.SWEEP_ARCH, units=D.SWEEP_UNITS,
          layers=D.SWEEP_LAYERS, sparsity=D.SWEEP_SPARSITY,
          quant=D.SWEEP_QUANT, window=None, search: str = D.SWEEP_SEARCH, trials: int | None = None, seed: int = D.SEED,
          epochs: int = D.SWEEP_EPOCHS, prune_epochs: int = D.SWEEP_PRUNE_EPOCHS, max_flash=None, max_ram=None,
          max_latency_ms: float | None = None,
          board: str = D.BOARD, address: str | None = None, num_cpus: int | None = None,
          cpus_per_trial: float = D.SWEEP_CPUS_PER_TRIAL, retries: int = D.SWEEP_RETRIES, mcu_vectors: int = 2,
          cpu_runs: int = 50,
          progress: bool = True) -> dict:
    """Run (or resume) a sweep into ``out``; returns the summary (also in ``out/summary.json``)."""
    from edgernn.data import detect_task, preflight
    from edgernn.targets.boards import get_board

    space = search_space(task, arch, units, layers, sparsity, quant, window)
    designs = plan_trials(space, search, trials, seed)
    constraints = {"max_flash_bytes": parse_size(max_flash, "--max-flash"),
                   "max_ram_bytes": parse_size(max_ram, "--max-ram"), "max_latency_ms": max_latency_ms}
    if max_latency_ms is not None and not max_latency_ms > 0:
        raise UserError("--max-latency-ms must be positive")
    board = get_board(board).name
    if any(v is not None for v in constraints.values()) and "int8" not in space["quant"]:
        raise UserError("flash, RAM and latency limits are measured on the microcontroller, which runs int8 models "
                        "only: add int8 to --quant")
    if epochs < 1 or prune_epochs < 1 or retries < 0 or cpus_per_trial <= 0:
        raise UserError("--epochs and --prune-epochs must be >= 1, --retries >= 0, --cpus-per-trial > 0")
    if address:
        parse_address(address)
    data = str(Path(data).resolve())
    found = detect_task(data)
    if (found == "anomaly") != (task == "anomaly"):
        raise UserError(f"{data}: {found} data does not fit --task {task}")
    preflight(data, task)  # the dataset's own error here, not one per trial after Ray has started
    settings = {"task": task, "data": data, "epochs": epochs, "prune_epochs": prune_epochs, "seed": seed,
                "board": board, "mcu_vectors": mcu_vectors, "cpu_runs": cpu_runs}
    out = io.check_out(out, "folder", inputs=[data])
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "sweep.json").is_file():
        raise UserError(f"--out {out}: a folder that is not a sweep (no sweep.json); choose a new or a sweep folder")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    planned = [(trial_id(p, settings), p) for p in designs]
    done = load_done(out)
    pending = [(t, p) for t, p in planned if t not in done]
    if pending and address:
        check_reachable(address)  # before anything is printed or started: an unreachable cluster is one error line
    started = time.time()
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "trials_run": len(pending),
               "trials_already_done": len(planned) - len(pending), "address": address or "local"}
    if progress:
        print(f"sweep: {len(planned)} trials planned, {len(planned) - len(pending)} already recorded in {out}, "
              f"{len(pending)} to run", flush=True)
    previous = io.read_json(out / "sweep.json") if (out / "sweep.json").is_file() else {}
    record = {"space": space, "search": search, "trials": trials, "settings": settings, "constraints": constraints,
              "sessions": previous.get("sessions") or []}
    if pending:
        # sweep.json first: a sweep interrupted after some trials is a sweep folder the same command resumes
        io.write_json(out / "sweep.json", record)
        try:
            session.update(run_pending(pending, settings, out, address, num_cpus, cpus_per_trial, retries, progress))
        except BaseException:
            if created and not load_done(out):  # interrupted before any trial was recorded: leave nothing
                _remove_empty_sweep(out)
            raise
    session["wall_seconds"] = round(time.time() - started, 1)
    done = load_done(out)
    records = [done[t] for t, _ in planned if t in done]
    summary = summarize(records, constraints, board, task)
    io.write_json(out / "sweep.json", dict(record, sessions=record["sessions"] + [session]))
    write_outputs(out, records, summary, board)
    summary.update(session=session, out=str(out))
    io.write_json(out / "summary.json", summary)
    if summary["best"] is None:
        raise UserError(no_fit_message(summary, constraints))
    return summary


# ---------------------------------------------------------------- results: selection, Pareto, files

def _remove_empty_sweep(out: Path) -> None:
    """Remove the sweep.json this session wrote and the then empty folders; anything else stays."""
    (out / "sweep.json").unlink(missing_ok=True)
    for folder in (out / "trials", out):
        with contextlib.suppress(OSError):  # not empty or not there: not ours to remove
            folder.rmdir()


def violations(rec: dict, constraints: dict) -> dict[str, float]:
    """How far a trial misses each constraint, as a ratio over the limit (empty: it meets them all)."""
    f, out = rec.get("figures", {}), {}
    pairs = (("max_flash_bytes", "flash_bytes"), ("max_ram_bytes", "ram_bytes"), ("max_latency_ms", "mcu_latency_ms"))
    for limit_key, figure in pairs:
        limit = constraints.get(limit_key)
        if limit is None:
            continue
        value = f.get(figure)
        out_of = float("inf") if value is None else value / limit - 1
        if out_of > 0:
            out[figure] = out_of
    return out


def summarize(records: list[dict], constraints: dict, board: str, task: str) -> dict:
    ok = [r for r in records if r["status"] == "ok"]
    fits = [r for r in ok if not violations(r, constraints)]
    # Highest accuracy of the model as the device runs it; ties go to the smaller flash, then RAM.
    key = lambda r: (-r["figures"]["accuracy"], r["figures"].get("flash_bytes") or 0, r["figures"].get("ram_bytes") or 0)  # noqa: E731
    best = min(fits, key=key) if fits else None
    closest = sorted(ok, key=lambda r: (sum(min(v, 1e9) for v in violations(r, constraints).values()),
                                        -r["figures"]["accuracy"]))[:3]
    return {"task": task, "board": board, "constraints": constraints, "trials": len(records),
            "ok": len(ok), "meeting_constraints": len(fits),
            "failed": [{"id": r["id"], "reason": r["reason"]} for r in records if r["status"] == "failed"],
            "did_not_learn": [{"id": r["id"], "reason": r["reason"]} for r in records if r["status"] == "did_not_learn"],
            "best": _brief(best) if best else None,
            "closest": [dict(_brief(r), misses=violations(r, constraints)) for r in closest] if not best else [],
            "nodes_used": sorted({r.get("node_id") for r in records if r.get("node_id")})}


def _brief(r: dict) -> dict:
    f = r["figures"]
    keep = ("metric", "float", "accuracy", "quantized_runtime", "params", "macs", "file_bytes", "arena_bytes",
            "flash_bytes", "ram_bytes", "mcu_latency_ms", "mcu_estimate", "cpu_p50_ms")
    return {"id": r["id"], "params": r["params"], **{k: f.get(k) for k in keep}}


def no_fit_message(summary: dict, constraints: dict) -> str:
    limits = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in constraints.items() if v is not None) or "none"
    if not summary["ok"]:
        bad = summary["failed"] + summary["did_not_learn"]
        reasons = "; ".join(f"{f['id']}: {f['reason']}" for f in bad[:2])
        return (f"no usable trial: {len(summary['failed'])} failed, {len(summary['did_not_learn'])} did not learn"
                f"{' (' + reasons + ')' if reasons else ''}")
    closest = "; ".join(
        f"{c['id']} ({', '.join(f'{k} {v:+.0%}' if v != float('inf') else f'{k} not measured' for k, v in c['misses'].items())})"
        for c in summary["closest"])
    return f"no trial meets the constraints ({limits}); closest: {closest}"


CSV_COLUMNS = ("id", "status", "arch", "units", "layers", "sparsity", "quant", "window", "metric", "float", "accuracy",
               "params", "macs", "file_bytes", "arena_bytes", "flash_bytes", "ram_bytes", "mcu_latency_ms", "cpu_p50_ms",
               "seconds", "attempts", "node_id", "reason")


def write_outputs(out: Path, records: list[dict], summary: dict, board: str) -> None:
    rows = []
    for r in records:
        rows.append({**{c: r["figures"].get(c) for c in CSV_COLUMNS}, **r["params"],
                     **{c: r.get(c) for c in ("id", "status", "seconds", "attempts", "node_id", "reason")}})
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    io.atomic_write_text(out / "trials.csv", buf.getvalue())
    io.write_json(out / "trials.json", {"trials": records})
    # `edgernn report OUT` reads this: every ok trial's rows in the bench schema (cpu and mcu targets)
    io.write_json(out / "results.json", {"results": [row for r in records if r["status"] == "ok" for row in r["rows"]]})
    ok = [r for r in records if r["status"] == "ok"]
    plots = {}
    for target, panels in (("mcu", (("mcu_latency_ms", "latency, ms (estimate)"), ("flash_bytes", "flash, bytes"),
                                    ("ram_bytes", "RAM, bytes"))),
                           ("cpu", (("cpu_p50_ms", "p50 latency, ms (LiteRT)"), ("file_bytes", "model file, bytes")))):
        name = f"pareto_{target}" + (f"_{board}" if target == "mcu" else "") + ".png"
        png = pareto_plot(ok, panels, f"{target}{':' + board if target == 'mcu' else ''}",
                          summary["best"]["id"] if summary["best"] else None)
        if png:
            io.atomic_write_bytes(io.inside(out, name), png)
            plots[target] = name
    best = out / "best"
    if summary["best"]:
        src = out / "trials" / summary["best"]["id"]
        with io.atomic_dir(best, overwrite=True) as tmp:
            for f in src.iterdir():
                shutil.copy2(f, tmp / f.name)
    elif best.exists() and (best / "trial.json").is_file():
        shutil.rmtree(best)  # a best from looser constraints would mislead
    io.atomic_write_text(out / "summary.md", summary_markdown(records, summary, plots))


def pareto_plot(records: list[dict], panels, title: str, best_id: str | None) -> bytes | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401  (formatters below)

    panels = [(k, label) for k, label in panels if any(r["figures"].get(k) is not None for r in records)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        pts = [r for r in records if r["figures"].get(key) is not None]
        xy = [(r["figures"][key], 100 * r["figures"]["accuracy"]) for r in pts]
        colors = {"gru": "tab:blue", "lstm": "tab:orange", "rnn": "tab:green"}
        for r, (x, y) in zip(pts, xy):
            ax.scatter(x, y, s=36, color=colors.get(r["params"]["arch"], "gray"), alpha=0.7,
                       edgecolors="red" if r["id"] == best_id else "none", linewidths=2)
        front = [xy[i] for i in pareto_front(xy)]
        ax.plot([p[0] for p in front], [p[1] for p in front], "k--", lw=0.9, label="Pareto front")
        for arch, c in colors.items():
            if any(r["params"]["arch"] == arch for r in pts):
                ax.scatter([], [], color=c, label=arch.upper())
        if best_id:
            ax.scatter([], [], facecolors="none", edgecolors="red", linewidths=2, label="chosen")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())  # plain numbers, no crowded minor labels
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label + " (log)")
        ax.set_ylabel(f"{records[0]['figures']['metric']} on the test split, %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"sweep, target {title}: {len(records)} trials")
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def summary_markdown(records: list[dict], summary: dict, plots: dict) -> str:
    c = summary["constraints"]
    lines = ["# edgernn sweep", "",
             f"{summary['trials']} trials: {summary['ok']} ok, {len(summary['failed'])} failed, "
             f"{len(summary['did_not_learn'])} did not learn; {summary['meeting_constraints']} meet the constraints "
             f"(flash <= {c['max_flash_bytes']} B, RAM <= {c['max_ram_bytes']} B, latency <= {c['max_latency_ms']} ms "
             f"on {summary['board']}; None = no limit). Ray nodes used: {len(summary['nodes_used'])}.", ""]
    b = summary["best"]
    if b:
        lines += [f"**Chosen**: `{b['id']}`: {b['metric']} {b['accuracy']:.4f} ({b['quantized_runtime']}), "
                  f"flash {b['flash_bytes']} B, RAM {b['ram_bytes']} B, latency {b['mcu_latency_ms']} ms "
                  f"({b['mcu_estimate']}); copied to `best/`.", ""]
    else:
        lines += ["**No trial meets the constraints.** Closest: " +
                  "; ".join(f"`{x['id']}` misses {x['misses']}" for x in summary["closest"]), ""]
    lines += ["| id | status | accuracy | flash B | RAM B | MCU ms | CPU p50 ms | node | reason |", "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        f = r["figures"]
        lines.append(f"| {r['id']} | {r['status']} | {_fmt(f.get('accuracy'))} | {f.get('flash_bytes', '')} | "
                     f"{f.get('ram_bytes', '')} | {_fmt(f.get('mcu_latency_ms'))} | {_fmt(f.get('cpu_p50_ms'))} | "
                     f"{(r.get('node_id') or '')[:8]} | {(r.get('reason') or '').replace('|', '/')} |")
    lines.append("")
    lines += [f"![{t}]({name})" for t, name in plots.items()]
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    return "" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)
