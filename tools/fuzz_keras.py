"""Fuzz the model gate and the Keras loader with mutated ``.keras`` configs (issue #30 item 8).

    python tools/fuzz_keras.py [MODEL.keras ...] [--cases 3000] [--seed 0] [--timeout 60] [--json OUT] [--gate-only]

Each case takes a shipped model (default: models/*/model.keras) and applies 1 to 4 seeded mutations to
its ``config.json`` or its archive: a value of another type or size, a class name, module, registered
name or function reference from a pool of dangerous and harmless ones, an extra or missing key, deeper
nesting, a duplicated subtree, the issue's pydoc Lambda, an extra, missing or oversized zip member.
The case goes through the model gate here (pure Python, under a timer), and each case the gate accepts
through ``edgernn.io.load_keras_model`` (the gate again, then tf_keras) in a worker process with a
timeout; the worker imports TensorFlow before its first case, so the timeout is the case's alone.
Acceptable outcomes: refused by the gate, refused by the loader (one UserError), or loaded.
Failures: any other exception (a traceback), a hang (the worker is killed and restarted), or code run
(a marker file written by the pydoc payload or by the planted module ``fuzz_keras_plant``, which the
worker can import on purpose so that a module reference getting through would show).
Prints the counts; exits 1 if any failure.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PLANT = "fuzz_keras_plant"
CLASS_POOL = ("Lambda", "function", "Sequential", "Functional", "Model", "Policy", "Adam", "GRU", "LSTM", "SimpleRNN",
              "Dense", "Dropout", "TimeDistributed", "RepeatVector", "InputLayer", "GlorotUniform", "Orthogonal",
              "Zeros", "L2", "MaxNorm", "Bidirectional", "RNN", "GRUCell", "TFOpLambda", "SlicingOpLambda",
              "__tensor__", "__lambda__", "__typespec__", "__numpy__", "__bytes__", "", "run")
MODULE_POOL = ("pydoc", "os", "subprocess", "builtins", "importlib", PLANT, "keras.layers", "keras.initializers",
               "tf_keras.src.engine.functional", "keras", "tf_keras", "numpy", "", None)
KEY_POOL = ("function", "function_type", "module", "class_name", "registered_name", "config", "arguments",
            "output_shape", "output_shape_type", "custom_objects", "shared_object_id", "compile_config",
            "build_config", "inbound_nodes", "layer", "cell", "activation", "kernel_initializer", "dtype", "name")


def payloads(marker: Path) -> list:
    """Values that would run code if tf_keras acted on them (each writes ``marker``)."""
    return [
        {"module": "pydoc", "class_name": "function", "config": "pipepager", "registered_name": "function"},
        {"module": PLANT, "class_name": "function", "config": "run", "registered_name": "function"},
        {"module": PLANT, "class_name": "Thing", "config": {}, "registered_name": f"{PLANT}>Thing"},
        {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}},
        f"{PLANT}.run", "pydoc.pipepager", {"cmd": f"touch {marker}"},
    ]


def evil_lambda(marker: Path, after: str) -> dict:
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "name": "evil",
            "config": {"name": "evil", "trainable": True, "dtype": "float32", "function": payloads(marker)[0],
                       "function_type": "function", "module": "pydoc", "output_shape": None,
                       "output_shape_type": "raw", "output_shape_module": None,
                       "arguments": {"cmd": f"touch {marker}"}},
            "inbound_nodes": [[[after, 0, 0, {}]]]}


# ---- mutation --------------------------------------------------------------------------------------

def _paths(tree, prefix=()) -> list[tuple]:
    """Every path (tuple of keys / indices) to a node of the JSON tree."""
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def _get(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def _set(tree, path, value):
    if not path:
        return value
    _get(tree, path[:-1])[path[-1]] = value
    return tree


def random_value(rng, marker: Path):
    kind = rng.integers(12)
    return [lambda: int(rng.integers(-2**31, 2**31)), lambda: int(10 ** int(rng.integers(1, 30))),
            lambda: float(rng.normal() * 10.0 ** int(rng.integers(-5, 300))), lambda: bool(rng.integers(2)), lambda: None,
            lambda: str(rng.choice(CLASS_POOL)), lambda: "x" * int(10 ** rng.integers(0, 6)), lambda: [],
            lambda: {}, lambda: [None] * int(rng.integers(1, 9)),
            lambda: copy.deepcopy(payloads(marker)[int(rng.integers(len(payloads(marker))))]),
            lambda: {"class_name": str(rng.choice(CLASS_POOL)), "config": {}, "module": rng.choice(MODULE_POOL)}][kind]()


def mutate_config(config: dict, rng, marker: Path) -> dict:
    """One seeded mutation of the config tree (returns the new tree; the input is not changed)."""
    config = copy.deepcopy(config)
    paths = _paths(config)
    path = paths[int(rng.integers(len(paths)))]
    node = _get(config, path)
    op = int(rng.integers(10))
    if op == 0:  # a value of another type or size
        return _set(config, path, random_value(rng, marker))
    if op == 1 and isinstance(node, dict):  # class name
        node["class_name"] = str(rng.choice(CLASS_POOL))
    elif op == 2 and isinstance(node, dict):  # module
        node["module"] = rng.choice(MODULE_POOL)
    elif op == 3 and isinstance(node, dict):  # registered-object indirection
        node["registered_name"] = str(rng.choice((f"{PLANT}>Thing", "Custom>Layer", "Functional", "function",
                                                  node.get("class_name") or "x")))
    elif op == 4 and isinstance(node, dict):  # an extra key
        node[str(rng.choice(KEY_POOL))] = random_value(rng, marker)
    elif op == 5 and isinstance(node, dict) and node:  # a missing key
        del node[list(node)[int(rng.integers(len(node)))]]
    elif op == 6:  # deeper nesting
        wrapped = node
        for _ in range(int(rng.integers(1, 40))):
            wrapped = [wrapped] if rng.integers(2) else {"config": wrapped, "class_name": "Dense"}
        return _set(config, path, wrapped)
    elif op == 7 and isinstance(node, list):  # sizes: a duplicated element, many times
        if node:
            node.extend(copy.deepcopy(node[int(rng.integers(len(node)))]) for _ in range(int(rng.integers(1, 200))))
    elif op == 8:  # the exploit, in the layer list
        inner = config.get("config") if isinstance(config, dict) else None
        layers = inner.get("layers") if isinstance(inner, dict) else None
        if isinstance(layers, list) and layers and isinstance(layers[0], dict):
            layers.insert(1, evil_lambda(marker, str(layers[0].get("name", "x"))))
    elif op == 9:  # a function-type value wherever a value is
        return _set(config, path, copy.deepcopy(payloads(marker)[int(rng.integers(3))]))
    return config


def make_case(model: dict[str, bytes], rng, marker: Path) -> bytes:
    """The bytes of one mutated .keras archive."""
    members = dict(model)
    config = json.loads(members["config.json"])
    for _ in range(int(rng.integers(1, 5))):
        config = mutate_config(config, rng, marker)
    members["config.json"] = json.dumps(config).encode()
    archive_op = int(rng.integers(12))
    if archive_op == 0:
        members["assets/" + PLANT + ".py"] = b"import os\n"
    elif archive_op == 1:
        members.pop(str(rng.choice(list(members))))
    elif archive_op == 2:
        members["config.json"] = members["config.json"] + b" " * (2 * 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name below, which is the point
        for name, body in members.items():
            z.writestr(name, body)
        if archive_op == 3:
            z.writestr("config.json", b"{}")  # a duplicate name
    return out.getvalue()


# ---- running cases in a worker ----------------------------------------------------------------------

PLANT_SOURCE = """
import os
from pathlib import Path
MARKER = Path(os.environ["FUZZ_KERAS_MARKER"])
MARKER.write_text("imported")
def run(*args, **kwargs):
    MARKER.write_text("called")
    return args[0] if args else None
class Thing:
    def __init__(self, *args, **kwargs):
        MARKER.write_text("instantiated")
"""


def worker() -> None:
    """Read case paths on stdin; for each, print one JSON line: the outcome of load_keras_model."""
    results = os.fdopen(os.dup(1), "w")  # our protocol's own channel; whatever libraries print goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.insert(0, os.environ["FUZZ_KERAS_PLANT_DIR"])  # the planted module is importable on purpose
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgernn.errors import UserError
    from edgernn.io import load_keras_model
    from edgernn.model_gate import GateRefusal
    from edgernn.tf import load

    load()  # TensorFlow's import (seconds) is not any case's time
    print("READY", file=results, flush=True)
    for line in sys.stdin:
        path = line.strip()
        try:
            load_keras_model(path)
            outcome = {"kind": "loaded"}
        except GateRefusal as e:
            outcome = {"kind": "refused", "detail": str(e)[:200]}
        except UserError as e:
            outcome = {"kind": "load-refused", "detail": str(e)[:200]}
        except BaseException as e:  # noqa: BLE001  (the fuzzer's point: nothing else may escape)
            outcome = {"kind": "traceback", "detail": f"{type(e).__name__}: {str(e)[:200]}"}
        print(json.dumps(outcome), file=results, flush=True)


class Worker:
    START_TIMEOUT = 900.0  # importing TensorFlow on a loaded machine

    def __init__(self, env: dict):
        self.env, self.proc = env, None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-I", str(Path(__file__).resolve()), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=self.env, cwd=self.env["FUZZ_KERAS_PLANT_DIR"])
        ready, _, _ = select.select([self.proc.stdout], [], [], self.START_TIMEOUT)
        if not ready or self.proc.stdout.readline().strip() != "READY":
            self.close()
            raise RuntimeError("the fuzz worker did not start")

    def run(self, path: Path, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            hung = self.proc.poll() is None
            self.close()
            return {"kind": "hang" if hung else "crash"}
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def fuzz(models: list[Path], cases: int, seed: int = 0, timeout: float = 60.0, log=print,
         gate_only_run: bool = False) -> dict:
    """Run ``cases`` mutated archives (spread over ``models``); counts per outcome and the failures.
    ``gate_only_run``: the gate only (fast; the cases it accepts are counted, not loaded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sources = []
    for m in models:
        with zipfile.ZipFile(m) as z:
            sources.append({n: z.read(n) for n in z.namelist()})
    totals, failures = Counter(), []
    with tempfile.TemporaryDirectory(prefix="fuzz-keras-") as tmp:
        tmp = Path(tmp)
        marker = tmp / "CODE-RAN"
        (tmp / f"{PLANT}.py").write_text(PLANT_SOURCE)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "FUZZ_KERAS_MARKER": str(marker),
               "FUZZ_KERAS_PLANT_DIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        w = Worker(env)
        started = time.time()
        try:
            for i in range(cases):
                data = make_case(sources[i % len(sources)], rng, marker)
                outcome = gate_only(data, timeout)
                if outcome["kind"] == "accepted" and not gate_only_run:  # only these reach tf_keras: load them
                    case = tmp / "case.keras"
                    case.write_bytes(data)
                    outcome = w.run(case, timeout)
                if marker.exists():
                    outcome = {"kind": "code-ran", "detail": marker.read_text()}
                    marker.unlink()
                totals[outcome["kind"]] += 1
                totals["cases"] += 1
                if outcome["kind"] not in ("refused", "load-refused", "loaded", "accepted"):
                    failures.append({"case": i, **outcome})
                if log and (i + 1) % 250 == 0:
                    log(f"{i + 1}/{cases} cases, {time.time() - started:.0f} s: {summary_line(totals)}")
        finally:
            w.close()
    totals["seconds"] = round(time.time() - started, 1)
    return {"totals": dict(totals), "failures": failures}


def gate_only(data: bytes, timeout: float) -> dict:
    """The gate on one case, in this process, under a timer (SIGALRM) that turns a hang into a failure."""
    import signal

    from edgernn.model_gate import GateRefusal, gate_keras_zip

    def alarm(signum, frame):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        gate_keras_zip("case.keras", data)
        return {"kind": "accepted"}
    except GateRefusal as e:
        return {"kind": "refused", "detail": str(e)[:200]}
    except TimeoutError:
        return {"kind": "hang", "detail": "in the gate"}
    except BaseException as e:  # noqa: BLE001  (the fuzzer's point: nothing else may escape)
        return {"kind": "traceback", "detail": f"gate: {type(e).__name__}: {str(e)[:200]}"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def summary_line(totals: dict) -> str:
    keys = ("cases", "refused", "accepted", "load-refused", "loaded", "traceback", "hang", "crash", "code-ran")
    return ", ".join(f"{k} {totals.get(k, 0)}" for k in keys)


def main_cli() -> int:
    if "--worker" in sys.argv:
        worker()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--json", type=Path, help="write the counts and failures here")
    ap.add_argument("--gate-only", action="store_true",
                    help="run the gate only, in this process (fast); accepted cases are counted, not loaded")
    a = ap.parse_args()
    models = a.models or sorted((ROOT / "models").glob("*/model.keras"))
    r = fuzz(models, a.cases, a.seed, a.timeout, log=lambda line: print(line, flush=True), gate_only_run=a.gate_only)
    print(summary_line(r["totals"]), f"in {r['totals']['seconds']} s")
    for f in r["failures"][:20]:
        print("  failure:", f)
    if a.json:
        a.json.write_text(json.dumps(r, indent=2) + "\n")
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main_cli())
