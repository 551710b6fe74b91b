"""Make the pretrained reference models in ``models/`` from the built-in data, with model cards.

    python tools/make_models.py [--kws-data data/kws] [--out models] [--only kws-gru64,...]
                                [--retrain] [--boards mps2-an386,...]

Each model folder holds ``model.keras`` (float, without optimizer state), ``model_int8.tflite``
(full integer), ``config.json`` / ``metrics.json`` (the run folder files every edgernn command
reads: input standardization, classes, threshold) and the model card (``card.json`` and its
rendering ``README.md``): data, seed, test metrics of the float and the int8 model, sizes, the
measured TFLite Micro arena, and per board the generated C's instructions per inference, flash
and RAM with the C generator version they were measured with, date and the command.

Re-running is cheap: a model whose ``model.keras`` exists is not retrained (``--retrain`` does),
its int8 file is kept when its card says it came from this ``model.keras``, and only the
measurements are redone (check, accuracy, MCU). So after the C kernels change, re-run this tool
to refresh the MCU figures; ``tests/test_models_dir.py`` checks every card against its files.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgernn import api, io  # noqa: E402
from edgernn.errors import UserError  # noqa: E402
from edgernn.records import read_config, write_config  # noqa: E402

KWS_DATA_NOTE = ("built-in keyword data: `edgernn data synth-kws data/kws` (default options: seed 0, 800 speakers "
                 "of espeak-ng, flite, festival, piper and hibari)")
# name -> how it is made; data paths are the ones `edgernn data ...` creates in the repository.
SPECS = {
    "kws-gru64": {"task": "kws", "arch": "gru", "units": 64, "data": "data/kws",
                  "data_note": KWS_DATA_NOTE},
    "kws-lstm64": {"task": "kws", "arch": "lstm", "units": 64, "data": "data/kws",
                   "data_note": KWS_DATA_NOTE},
    "anomaly-lstm32": {"task": "anomaly", "arch": "lstm", "units": 32, "data": "data/anomaly",
                       "data_note": "built-in machine sensor data: `edgernn data synth-anomaly data/anomaly` (seed 0)"},
}
SEED = 0
DEFAULT_BOARDS = ("mps2-an386", "mps2-an500", "mps2-an505", "stm32f4", "microbit")
MCU_VECTORS = 4
FILES = ("model.keras", "model_int8.tflite", "config.json", "metrics.json")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_facts(folder: Path) -> dict:
    return {f: {"bytes": (folder / f).stat().st_size, "sha256": sha256(folder / f)} for f in FILES}


def train_into(folder: Path, name: str, spec: dict, data: Path) -> None:
    """Train with default options and seed 0, then keep only the small run files in ``folder``."""
    from edgernn.train.run import load_run

    with tempfile.TemporaryDirectory(prefix=f"edgernn-{name}-") as tmp:
        run = api.train(task=spec["task"], arch=spec["arch"], units=spec["units"], data=data, out=Path(tmp) / "run",
                        seed=SEED, progress=False)
        model, config = load_run(run)
        # The feature cache is a path on the machine that trained it: meaningless (and private) in a shipped model.
        record = config.to_json()
        record.get("dataset_meta", {}).pop("cache", None)
        folder.mkdir(parents=True, exist_ok=True)
        # Loaded uncompiled, so saved without optimizer state: a third of the size; nothing trains it further.
        model.save(folder / "model.keras")
        write_config(folder / "config.json", record)
        shutil.copy2(run / "metrics.json", folder / "metrics.json")
        (folder / "model_int8.tflite").unlink(missing_ok=True)


def set_data_path(folder: Path, data: str) -> None:
    config = read_config(folder / "config.json")
    if config.data != data:
        write_config(folder / "config.json", {**config.to_json(), "data": data})


def measure_mcu(model: Path, boards) -> dict:
    from edgernn.export.codegen import GENERATOR_VERSION
    from edgernn.targets.mcu import measure

    out = {"generator_version": GENERATOR_VERSION, "vectors": MCU_VECTORS, "boards": {}}
    with tempfile.TemporaryDirectory(prefix="edgernn-fw-") as tmp:
        for board in boards:
            try:
                r = measure(model, board, vectors=MCU_VECTORS, out=Path(tmp) / board)
            except UserError as e:
                out["boards"][board] = {"error": str(e)}
                continue
            out["boards"][board] = {k: r[k] for k in (
                "cpu", "bit_exact_vs_tflm", "instructions_per_inference", "instructions_per_mac", "flash_bytes",
                "flash_without_vectors_bytes", "static_ram_bytes", "stack_used_bytes", "ram_bytes",
                "estimated_latency_ms", "estimate")}
    return out


def card_markdown(card: dict) -> str:
    metric = card["metric"]
    lines = [f"# {card['name']}: {card['arch'].upper()}-{card['units']} {card['task']} reference model", "",
             f"Made {card['date']} by `{card['command']}` (seed {card['seed']}).", "",
             f"**Data**: {card['data']['note']}; test split {card['data']['test_samples']} samples.", "",
             "| figure | value |", "|---|---|",
             f"| {metric} float (Keras) | {card['metrics']['float_keras'][metric]:.4f} |",
             f"| {metric} int8 (TFLite Micro) | {card['metrics']['int8_tflm'][metric]:.4f} |",
             f"| parameters | {card['params']:,} |", f"| MACs per inference | {card['macs']:,} |"]
    lines += [f"| `{f}` bytes | {v['bytes']:,} |" for f, v in card["files"].items()]
    lines += [f"| TFLite Micro arena (measured) | {card['int8']['arena_bytes']:,} B |",
              f"| int8 ops | {', '.join(card['int8']['ops'])} |", "",
              f"**Generated C on Cortex-M under QEMU** (C generator version {card['mcu']['generator_version']}, "
              f"{card['mcu']['vectors']} test vectors, bit-exact with TFLite Micro where marked):", "",
              "| board | core | instructions / inference | flash (B) | RAM (B) | est. latency (ms) | bit-exact |",
              "|---|---|---|---|---|---|---|"]
    for board, r in card["mcu"]["boards"].items():
        if "error" in r:
            lines.append(f"| {board} | | not measured: {r['error']} | | | | |")
        else:
            lines.append(f"| {board} | {r['cpu']} | {r['instructions_per_inference']:,} | {r['flash_bytes']:,} | "
                         f"{r['ram_bytes']:,} | {r['estimated_latency_ms']:.2f} | {r['bit_exact_vs_tflm']} |")
    bases = [f"- {board}: {r['estimate']}" for board, r in card["mcu"]["boards"].items() if r.get("estimate")]
    lines += ["", "Latency is an estimate, not a measurement (QEMU counts instructions, not cycles); its basis per "
              "board:", "", *bases, "", "Flash includes the benchmark app and its test vectors.", "",
              "Use it:", "", "```", f"edgernn check models/{card['name']}/model_int8.tflite",
              f"edgernn bench models/{card['name']}/model_int8.tflite --target cpu",
              f"edgernn export models/{card['name']}/model_int8.tflite --format c --out build/{card['name']}",
              f"edgernn firmware build models/{card['name']}/model_int8.tflite --board mps2-an386 --out build/fw", "```", ""]
    return "\n".join(lines)


def make_one(name: str, out: Path, data: Path, boards, retrain: bool) -> dict:
    from edgernn.tf import load  # noqa: F401  (sets up tf_keras before any model is loaded)

    spec, folder = SPECS[name], out / name
    old = io.read_json(folder / "card.json") if (folder / "card.json").is_file() else {}
    if retrain or not (folder / "model.keras").is_file():
        print(f"{name}: training {spec['arch'].upper()}-{spec['units']} on {data}", flush=True)
        train_into(folder, name, spec, data)
        old = {}
    set_data_path(folder, str(Path(data).resolve()))  # quantize calibrates on the data named in config.json
    int8 = folder / "model_int8.tflite"
    same_float = old.get("files", {}).get("model.keras", {}).get("sha256") == sha256(folder / "model.keras")
    if not (int8.is_file() and same_float):
        int8 = api.quantize(folder, mode="int8", out=int8)
        (folder / "quantize_int8.json").unlink(missing_ok=True)  # the card carries what matters
    config = read_config(folder / "config.json")
    metric = "roc_auc" if spec["task"] == "anomaly" else "accuracy"
    # The run's own test split (config.json names the data), as training measured it; an explicit
    # data argument would make evaluate read the folder as test-only data (a different sample).
    float_m = api.evaluate(folder / "model.keras", progress=False)
    int8_m = api.evaluate(int8, runtime="tflm", progress=False)
    chk = api.check(int8)
    # Ship the path the data command of docs/getting-started creates, so `bench`/`eval` find the data when run from the repo.
    set_data_path(folder, spec["data"])
    print(f"{name}: {metric} float {float_m[metric]:.4f}, int8 {int8_m[metric]:.4f}; arena {chk['arena_bytes']} B; "
          f"measuring on {', '.join(boards)}", flush=True)
    card = {
        "name": name, "task": spec["task"], "arch": spec["arch"], "units": spec["units"], "layers": config.layers,
        "seed": SEED, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": f"python tools/make_models.py --only {name}",
        "training_command": f"edgernn train --task {spec['task']} --arch {spec['arch']} --units {spec['units']} "
                            f"--data {spec['data']} --seed {SEED}",
        "data": {"path": spec["data"], "note": spec["data_note"], "test_samples": _test_count(folder, data),
                 "fingerprint": data_fingerprint(data)},
        "metric": metric,
        "metrics": {"float_keras": {metric: float_m[metric]}, "int8_tflm": {metric: int8_m[metric]}},
        "params": config.params, "macs": config.macs, "input_shape": config.input_shape,
        "files": file_facts(folder),
        "int8": {"ops": sorted(chk["ops"]),
                 "arena_bytes": chk["arena_bytes"], "flash_bytes": chk["flash_bytes"]},
        "mcu": measure_mcu(int8, boards),
        "versions": io.versions(),
    }
    if spec["task"] == "anomaly":
        card["threshold"] = config.threshold
    io.write_json(folder / "card.json", card)
    io.atomic_write_text(folder / "README.md", card_markdown(card))
    return card


def data_fingerprint(data: Path) -> str | None:
    """What made the dataset (its edgernn_dataset.json record without the time), hashed: a card's metrics
    only apply to data made the same way."""
    import json

    record = Path(data) / "edgernn_dataset.json"
    if not record.is_file():
        return None
    rec = {k: v for k, v in json.loads(record.read_text()).items() if k not in ("time", "versions")}
    return hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]


def _test_count(folder: Path, data: Path) -> int:
    from edgernn.train.run import load_data_for_run

    return len(load_data_for_run(read_config(folder / "config.json"), data).splits["test"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kws-data", default=str(ROOT / "data" / "kws"), help="built-in KWS data (edgernn data synth-kws)")
    p.add_argument("--anomaly-data", default=None,
                   help="built-in anomaly data (default: synthesized with seed 0 into a temporary folder)")
    p.add_argument("--out", default=str(ROOT / "models"))
    p.add_argument("--only", default=",".join(SPECS), help="comma-separated model names")
    p.add_argument("--boards", default=",".join(DEFAULT_BOARDS))
    p.add_argument("--retrain", action="store_true", help="train again even if model.keras exists")
    a = p.parse_args(argv)
    names = [n for n in a.only.split(",") if n]
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {', '.join(SPECS)}")
    boards = [b for b in a.boards.split(",") if b]
    with tempfile.TemporaryDirectory(prefix="edgernn-anomaly-") as tmp:
        anomaly = Path(a.anomaly_data) if a.anomaly_data else None
        for name in names:
            if SPECS[name]["task"] == "anomaly":
                if anomaly is None:
                    anomaly = api.synth_anomaly(Path(tmp) / "anomaly", seed=SEED)
                data = anomaly
            else:
                data = Path(a.kws_data)
            card = make_one(name, Path(a.out), Path(data), boards, a.retrain)
            sizes = ", ".join(f"{f} {v['bytes']:,} B" for f, v in card["files"].items())
            print(f"{name}: {sizes}")
            for board, r in card["mcu"]["boards"].items():
                print(f"  {board}: " + (r["error"] if "error" in r else
                                        f"{r['instructions_per_inference']:,} instr, flash {r['flash_bytes']:,} B, "
                                        f"RAM {r['ram_bytes']:,} B, bit-exact {r['bit_exact_vs_tflm']}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
