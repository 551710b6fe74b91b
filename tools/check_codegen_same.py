"""Is the C generated for the reference models the same at another commit, up to renames?

    python tools/check_codegen_same.py BASE_REV [MODEL.tflite ...] [--json PATH]

Generates C for every ``models/*/model_int8.tflite`` (or the models given) with the code generator of
``BASE_REV`` (its ``edgernn/`` and ``firmware/`` extracted with ``git archive`` into a temporary folder
and imported from there in a child process) and with the working tree's, then compares ``model.c``,
``model.h`` and ``edgernn_rt.c``:

- text outside the params structs must be equal once the identifiers in ``RENAMES`` are renamed;
- every params struct (``static const ern_*_params NAME = {...};``) is flattened to field paths
  (``rq.multiplier``, ``input_rq[2].shift``, ``table[5]``) and must hold the same values once the
  paths in ``FIELD_RENAMES`` are renamed (with a sign change where the C now stores a shift rather
  than a right shift) and the fields in ``ADDED_FIELDS`` (new in the struct, no value before) are left out.

The runtime files copied beside the model (``ern_*.c/h``) are listed, not compared: they are what a
refactor of the C runtime changes. Exit status 0 when every model matches, 1 otherwise.
Behaviour on the devices is checked by tools/bench_mcu.py (instruction counts, bit-exactness).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Identifiers renamed in model.c / edgernn_rt.c since the base (old -> new), whole words.
RENAMES: dict[str, str] = {}
_RQ = [(r"multiplier", "rq.multiplier", 1), (r"shift", "rq.shift", 1), (r"output_offset", "rq.zero_point", 1),
       (r"fast_round", "rq.round", 1)]
_GRU_ROLES = r"(add_z|add_r|add_n|sub_h|add_out|mul_r|mul_z)"
# Params struct fields: (struct type, regex on the old flattened path, replacement, sign of the value).
# The one ern_requant struct (issue 24): every kernel's multiplier, shift, zero point and requant_fast
# round in ``rq`` (the GRU's right shifts became shifts: the sign changes).
FIELD_RENAMES: list[tuple[str, str, str, int]] = [
    *[("ern_fully_connected_params", old, new, s) for old, new, s in _RQ],
    *[("ern_mul_params", old, new, s) for old, new, s in _RQ],
    ("ern_add_params", "output_multiplier", "rq.multiplier", 1), ("ern_add_params", "output_shift", "rq.shift", 1),
    ("ern_add_params", "output_offset", "rq.zero_point", 1), ("ern_add_params", "fast_round", "rq.round", 1),
    ("ern_gru_params", r"(input|recurrent)_(multiplier|round)", r"\1_rq.\2", 1),
    ("ern_gru_params", r"(input|recurrent)_right", r"\1_rq.shift", -1),
    ("ern_gru_params", _GRU_ROLES + r"\.(multiplier|round)", r"\1.rq.\2", 1),
    ("ern_gru_params", _GRU_ROLES + r"\.right", r"\1.rq.shift", -1),
    ("ern_lstm_params", r"(input|recurrent)_(multiplier|shift|round)\[(\d)\]", r"\1_rq[\3].\2", 1),
    ("ern_lstm_params", r"(forget|input|output)_mul_(multiplier|shift|round)", r"\1_mul.\2", 1),
    ("ern_lstm_params", "hidden_zero_point", "output_mul.zero_point", 1),
]
# Fields new in a struct (regex on the new path): the base had no value for them. ern_requant's zero
# point where it was folded into the round constant before (GRU), or 0 (the LSTM's int16 cell products).
ADDED_FIELDS: list[tuple[str, str]] = [
    ("ern_gru_params", r"(input|recurrent)_rq\.zero_point"), ("ern_gru_params", _GRU_ROLES + r"\.rq\.zero_point"),
    ("ern_lstm_params", r"(input|recurrent)_rq\[\d\]\.zero_point"), ("ern_lstm_params", r"(forget|input)_mul\.zero_point"),
]

STRUCT = re.compile(r"^static const (ern_\w+) (\w+) = \{\n(.*?)\n\};$", re.S | re.M)

GENERATE = """
import sys
from pathlib import Path
root, model, out = sys.argv[1:4]
sys.path.insert(0, root)
import edgernn
assert Path(edgernn.__file__).resolve().is_relative_to(Path(root).resolve()), edgernn.__file__
from edgernn.export.codegen import generate_c
generate_c(model, out)
"""


def generate(root: Path, model: Path, out: Path) -> None:
    """The C of ``model`` as the edgernn package under ``root`` generates it (a child: -I, its own imports)."""
    subprocess.run([sys.executable, "-I", "-c", GENERATE, str(root), str(model.resolve()), str(out)],
                   check=True, cwd=root)


def _split_top(text: str) -> list[str]:
    """Split at commas outside braces."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def flatten(init: str, prefix: str = "") -> dict[str, str]:
    """A C99 initializer body (designated or positional, nested) as {field path: value}."""
    fields = {}
    for k, part in enumerate(_split_top(init)):
        m = re.match(r"^\.(\w+)\s*=\s*(.*)$", part, re.S)
        key, value = (f"{prefix}.{m.group(1)}" if prefix else m.group(1), m.group(2)) if m else (f"{prefix}[{k}]", part)
        value = value.strip()
        if value.startswith("{") and value.endswith("}"):
            fields.update(flatten(value[1:-1], key))
        else:
            fields[key] = " ".join(value.split())
    return fields


def _rename_words(text: str) -> str:
    if not RENAMES:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(RENAMES, key=len, reverse=True))) + r")\b")
    return pattern.sub(lambda m: RENAMES[m.group(1)], text)


def _negate(value: str) -> str:
    return str(-int(value))


def structs(text: str, renamed: bool) -> tuple[str, dict[str, tuple[str, dict[str, str]]]]:
    """(the text with each params struct replaced by a marker, {name: (type, flattened fields)})."""
    found = {}

    def take(m: re.Match) -> str:
        ctype, name, body = m.group(1), m.group(2), m.group(3)
        fields = flatten(body)
        if renamed:
            moved = {}
            for path, value in fields.items():
                for t, old, new, sign in FIELD_RENAMES:
                    if t == ctype and re.fullmatch(old, path):
                        path, value = re.sub(f"^{old}$", new, path), (_negate(value) if sign < 0 else value)
                        break
                moved[path] = value
            fields = moved
        found[name] = (ctype, fields)
        return f"<struct {ctype} {name}>"
    return STRUCT.sub(take, text), found


def compare(base_dir: Path, new_dir: Path) -> tuple[list[str], int]:
    """(problems, params structs compared)."""
    problems, n_structs = [], 0
    for fname in ("model.c", "model.h", "edgernn_rt.c"):
        old_text = _rename_words((base_dir / fname).read_text())
        old_rest, old_structs = structs(old_text, renamed=True)
        new_rest, new_structs = structs((new_dir / fname).read_text(), renamed=False)
        n_structs += len(new_structs)
        if old_rest != new_rest:
            a, b = old_rest.splitlines(), new_rest.splitlines()
            diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(f"{fname}: text differs at line {diff + 1}: "
                            f"{a[diff] if diff < len(a) else '<end>'!r} vs {b[diff] if diff < len(b) else '<end>'!r}")
        for name in sorted(set(old_structs) | set(new_structs)):
            (t0, f0), (t1, f1) = old_structs.get(name, ("-", {})), new_structs.get(name, ("-", {}))
            # a field new in the struct is left out only where the base has no value for it (a base that
            # already has it, e.g. one after the ern_requant change, is compared on it)
            f1 = {p: v for p, v in f1.items()
                  if p in f0 or not any(t == t1 and re.fullmatch(rx, p) for t, rx in ADDED_FIELDS)}
            if (t0, f0) != (t1, f1):
                keys = sorted(k for k in set(f0) | set(f1) if f0.get(k) != f1.get(k))
                problems.append(f"{fname}: struct {name} ({t0} -> {t1}) differs in "
                                + ", ".join(f"{k}: {f0.get(k)} -> {f1.get(k)}" for k in keys[:6]))
    return problems, n_structs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", help="the git revision to compare with (e.g. main, ffdc600)")
    ap.add_argument("models", nargs="*", type=Path, help="int8 .tflite files (default: models/*/model_int8.tflite)")
    ap.add_argument("--json", type=Path, default=None, help="write the per-model result here")
    args = ap.parse_args(argv)
    models = args.models or sorted(ROOT.glob("models/*/model_int8.tflite"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_root = tmp / "base"
        base_root.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "edgernn", "firmware"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base_root)], input=archive, check=True)
        for model in models:
            label = model.parent.name if model.name == "model_int8.tflite" else model.stem
            generate(base_root, model, tmp / label / "base")
            generate(ROOT, model, tmp / label / "new")
            problems, n_structs = compare(tmp / label / "base", tmp / label / "new")
            files = lambda d: sorted(p.name for p in d.iterdir())  # noqa: E731
            results[label] = {"same": not problems, "problems": problems, "params_structs": n_structs,
                              "runtime_files_base": files(tmp / label / "base"),
                              "runtime_files_new": files(tmp / label / "new")}
            status = (f"same up to renames ({n_structs} params structs compared field by field)" if not problems
                      else f"DIFFERENT ({len(problems)} problems)")
            print(f"{label}: {status}")
            for p in problems[:10]:
                print(f"  {p}")
            gone = sorted(set(results[label]["runtime_files_base"]) - set(results[label]["runtime_files_new"]))
            new = sorted(set(results[label]["runtime_files_new"]) - set(results[label]["runtime_files_base"]))
            if gone or new:
                print(f"  files: -{gone} +{new}")
    if args.json:
        args.json.write_text(json.dumps({"base": args.base, "models": results}, indent=1) + "\n")
    return 0 if all(r["same"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
