"""Where does an int8 GRU (or RNN) lose its accuracy? Float vs int8, tensor by tensor (issue 29).

    python tools/int8_error_by_tensor.py RUN [--split val|test] [--calibration-samples 300]
                                             [--calibration minmax|percentile|mse] [--update-gate z|complement]
                                             [--tflm] [--json OUT.json]

For a GRU or vanilla-RNN classifier run (``edgernn train``), the tool takes the same calibration
clips and ranges as ``edgernn quantize --mode int8`` and simulates the compact int8 graph in NumPy
(``edgernn.optimize.int8_sim``), where each tensor of the WHILE body can be quantized or kept float:

- ``all int8``: every tensor quantized (the int8 model); with ``--tflm`` the real int8 model is
  built and run on TFLite Micro too, with the count of clips whose class differs from the simulation;
- per tensor: accuracy with ONLY that tensor int8 (what it costs on its own), and with every tensor
  int8 BUT that one (what keeping it float would win back), its calibrated range and step (scale),
  the share of its float values outside the range on the split (clipping), and its rounding noise
  relative to its spread (RMS error / std when only it is quantized);
- the hidden state's drift: RMS of (int8 h - float h) over the time steps, all tensors int8.

Accuracy is on the run's ``--split`` (validation by default: anything chosen from this output must be
chosen there; the test split is for reporting).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def analyse(run: Path, split: str = "val", calibration_samples: int = 300, tflm: bool = False, seed: int = 0,
            method: str = "minmax", update_gate: str = "z") -> dict:
    from edgernn.optimize import gru_int8, rnn_int8
    from edgernn.optimize.int8_sim import Sim, fake_quant
    from edgernn.optimize.quantize import calibration_set
    from edgernn.train.run import load_data_for_run, load_run, prepare_inputs

    model, config = load_run(run)
    if config.task not in ("kws", "classify") or config.arch not in ("gru", "rnn"):
        raise SystemExit(f"{run}: a {config.arch} {config.task} run; this tool covers GRU and RNN classifiers")
    mod = gru_int8 if config.arch == "gru" else rnn_int8
    w = gru_int8.with_update_gate(mod.gru_weights(model), update_gate) if config.arch == "gru" else mod.rnn_weights(model)
    cal = calibration_set(config, calibration_samples, seed)
    q = gru_int8.calibrated_params(mod.float_reference, cal, w, method)
    data = load_data_for_run(config).splits[split]
    X, y = prepare_inputs(data.X, config).astype(np.float64), np.asarray(data.y)
    sim = Sim(w, q, config.arch)

    def acc(probs):
        return float((probs.argmax(-1) == y).mean())

    p_float, tr_float = sim(X, quantized=[], trace=True)

    def flips(probs):  # clips whose class differs from the float model's: less noisy than accuracy
        return int((probs.argmax(-1) != p_float.argmax(-1)).sum())

    p_int8, tr_int8 = sim(X, quantized=None, trace=True)
    out = {"run": str(run), "arch": config.arch, "units": int(config.units), "split": split, "clips": int(len(y)),
           "calibration_samples": int(len(cal)), "calibration": method, "update_gate": update_gate if config.arch == "gru" else None, "float_accuracy": acc(p_float), "int8_sim_accuracy": acc(p_int8),
           "int8_sim_flips": flips(p_int8)}
    if tflm:
        import tempfile

        from edgernn.runtimes.tflm import TFLMRuntime

        data_bytes = mod.build(model, cal, method, update_gate) if config.arch == "gru" else mod.build(model, cal, method)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "int8.tflite"
            path.write_bytes(data_bytes)
            rt = TFLMRuntime(path)
            p_tflm = np.concatenate([rt.invoke(X[i:i + 1].astype(np.float32)) for i in range(len(X))])
        out["int8_tflm_accuracy"] = acc(p_tflm)
        out["int8_tflm_flips"] = flips(p_tflm)
        out["sim_vs_tflm_class_differs"] = int((p_tflm.argmax(-1) != p_int8.argmax(-1)).sum())
        out["sim_vs_tflm_max_abs_prob_diff"] = float(np.abs(p_tflm - p_int8).max())
    fixed = {"z": gru_int8.SIGMOID, "r": gru_int8.SIGMOID, "cand": gru_int8.TANH, "h": (gru_int8.H_SCALE, 0),
             "softmax": gru_int8.SOFTMAX}
    rows = []
    for name in sim.names:
        base = name.rstrip("0123456789")
        only, _ = sim(X, quantized=[name])
        but, _ = sim(X, quantized=[n for n in sim.names if n != name])
        row = {"tensor": name, "only_this_int8": acc(only), "all_but_this_int8": acc(but),
               "only_flips": flips(only), "all_but_flips": flips(but)}
        if not name.startswith("w_") and name in tr_float:
            v = np.asarray(tr_float[name])
            scale, zp = fixed.get(base) or q[name]
            lo, hi = (-128 - zp) * scale, (127 - zp) * scale
            err = fake_quant(v, scale, zp) - v
            row.update(range=[float(lo), float(hi)], scale=float(scale), float_min=float(v.min()), float_max=float(v.max()),
                       clipped_share=float(((v < lo - scale / 2) | (v > hi + scale / 2)).mean()),
                       rms_error_over_std=float(np.sqrt((err ** 2).mean()) / max(float(v.std()), 1e-12)))
        rows.append(row)
    out["tensors"] = rows
    top = f"h{len(w['layers']) - 1}"
    drift = np.sqrt(((np.asarray(tr_int8[top]) - np.asarray(tr_float[top])) ** 2).mean(axis=(1, 2)))
    out["h_drift_rms_by_step"] = [float(v) for v in drift]
    out["h_float_std"] = float(np.asarray(tr_float[top]).std())
    return out


def show(r: dict) -> None:
    print(f"{r['run']}  {r['arch']}-{r['units']}  {r['split']} split, {r['clips']} clips, "
          f"{r['calibration_samples']} calibration clips, {r['calibration']} ranges"
          + (f", update gate {r['update_gate']}" if r.get("update_gate") else ""))
    line = (f"float {r['float_accuracy']:.2%}   all int8 (simulated) {r['int8_sim_accuracy']:.2%}, "
            f"{r['int8_sim_flips']} clips change class")
    if "int8_tflm_accuracy" in r:
        line += f"   int8 TFLite Micro {r['int8_tflm_accuracy']:.2%}, {r['int8_tflm_flips']} change class ({r['sim_vs_tflm_class_differs']} clips differ from the simulation, " \
                f"max |p diff| {r['sim_vs_tflm_max_abs_prob_diff']:.4f})"
    print(line)
    print(f"{'tensor':<9} {'only int8':>9} {'flips':>5} {'all but':>8} {'flips':>5} {'range':>19} {'scale':>8} {'float min..max':>17} "
          f"{'clipped':>8} {'rms/std':>8}")
    for t in r["tensors"]:
        if "range" in t:
            extra = (f"{t['range'][0]:>9.3f}..{t['range'][1]:<8.3f} {t['scale']:>8.5f} "
                     f"{t['float_min']:>8.2f}..{t['float_max']:<7.2f} {t['clipped_share']:>8.4%} {t['rms_error_over_std']:>8.4f}")
        else:
            extra = "(weights and bias)"
        print(f"{t['tensor']:<9} {t['only_this_int8']:>9.2%} {t['only_flips']:>5} {t['all_but_this_int8']:>8.2%} "
              f"{t['all_but_flips']:>5} {extra}")
    d = r["h_drift_rms_by_step"]
    marks = [0, len(d) // 4, len(d) // 2, 3 * len(d) // 4, len(d) - 1]
    print("hidden-state drift, RMS(int8 h - float h) at steps " + ", ".join(f"{i + 1}: {d[i]:.4f}" for i in marks)
          + f"  (float h std {r['h_float_std']:.3f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=Path, help="a GRU or RNN classifier run folder (edgernn train --out)")
    ap.add_argument("--split", choices=("val", "test"), default="val", help="split to score (default val)")
    ap.add_argument("--calibration-samples", type=int, default=300, help="as edgernn quantize (default 300)")
    ap.add_argument("--calibration", choices=("minmax", "percentile", "mse"), default="minmax",
                    help="how tensor ranges are drawn from the calibration clips (default minmax, today's)")
    ap.add_argument("--update-gate", choices=("z", "complement"), default="z",
                    help="GRU: the int8 graph's update-gate form (quantize --update-gate; default z, the form analysed)")
    ap.add_argument("--tflm", action="store_true", help="also build the int8 model and run it on TFLite Micro")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    r = analyse(args.run, args.split, args.calibration_samples, args.tflm, method=args.calibration,
                update_gate=args.update_gate)
    show(r)
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
