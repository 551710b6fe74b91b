"""Write docs/reference/run-folder.md from the run-record models (edgernn/records.py).

    python tools/gen_schema_docs.py [--check]

The page lists every field of config.json and metrics.json with its type, range and default, read
from ``RunConfig.model_json_schema()`` and ``Metrics.model_json_schema()``, so the documentation
cannot drift from the validator. ``--check`` exits 1 if the committed page differs (the test suite
runs the same comparison: tests/test_records_docs.py).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgernn import records as R  # noqa: E402

PAGE = ROOT / "docs" / "reference" / "run-folder.md"

INTRO = f"""# The run folder

A run folder is the unit that flows through the pipeline: `edgernn train` writes one, and every later
step (`eval`, `quantize`, `prune`, `export`, `detect`, `streaming-eval`, `firmware build --app kws`,
`bench`, `compare`) reads it and writes new artifacts next to it.

```
runs/NAME/
  model.keras          the float model (tf_keras, zip format)
  config.json          the run record: model, data, training (RunConfig, below)
  metrics.json         test metrics (Metrics, below); eval --out writes the same schema
  history.json         per-epoch loss and accuracy
  train.json           what train was given and made (inputs, parameters, versions)
  training_curve.png, confusion_matrix.png (classifiers) or anomaly_scores.png (anomaly models)
  model_<mode>.tflite, quantize_<mode>.json     after edgernn quantize
  streaming_eval.json, det_curve.png            after edgernn streaming-eval (kws)
```

Every reader checks `config.json` with the same validator (`edgernn/records.py`): types, ranges,
the rules across fields listed below, and the model file against the record (its output size must
equal the number of classes, or the features per step for anomaly models; its input must be
`input_shape`). A record that fails is refused with one `edgernn: error:` line naming the field,
exit status 2. Records are written atomically and only after they pass the same check.

## Versions and migration

`config.json` carries `schema_version` (now {R.SCHEMA_VERSION}). Records without one are version 1: run
folders written before typed records, including `models/*` as shipped. They are migrated when read
(version 1 to 2 writes out the defaults readers used to assume: `dropout` 0, `anomaly_model`
`predictor` for anomaly runs). A record from a newer edgernn is refused with a message saying so.
`metrics.json` carries its own `schema_version` (now {R.METRICS_SCHEMA_VERSION}).

Unknown keys are kept and written back (a newer edgernn may add fields), except inside
`data_options`, `input_norm` and `augment`, whose keys go to code as arguments: there an unknown key
is refused.

## Rules across fields

- `input_norm.mean` and `input_norm.std` hold one number per feature (`input_shape[1]`); every std is
  at least {R.MIN_STD:g}.
- Classifiers (`kws`, `classify`) name at least 2 classes; class names are unique.
- Anomaly runs have a `threshold`.
- kws runs with feature parameters: `input_shape` equals the front end's frames x features;
  `fmin` < `fmax` <= sample_rate / 2; `n_mfcc` <= `n_mels`; the window fits in `n_fft`; the hop is at
  least one sample; at most {R.MAX_FEATURE_RATE} feature values per second of audio.
- `input_shape` holds at most {R.MAX_INPUT_VALUES} values (steps x features).
"""


def _type(prop: dict, defs: dict) -> str:
    """A short type description of one JSON-schema property."""
    if "$ref" in prop:
        return f"object ({prop['$ref'].split('/')[-1]})"
    if "anyOf" in prop:
        parts = [_type(p, defs) for p in prop["anyOf"]]
        return " or ".join(dict.fromkeys(p for p in parts if p != "null")) + (
            ", or null" if any(p.get("type") == "null" for p in prop["anyOf"]) else "")
    if "enum" in prop:
        return " \\| ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = prop.get("type", "any")
    if kind == "array":
        item = _type(prop.get("items", {}), defs)
        n = _range(prop, "items", "minItems", "maxItems")
        return f"list of {item}" + (f" ({n})" if n else "")
    if kind == "object" and "additionalProperties" in prop:
        return "object"
    rng = _range(prop)
    if kind == "string":
        rng = prop.get("pattern") and f"pattern `{prop['pattern']}`" or _range(prop, "chars", "minLength", "maxLength")
    return kind + (f" {rng}" if rng else "")


def _range(prop: dict, unit: str = "", lo: str = "minimum", hi: str = "maximum") -> str:
    """[a, b], (a, b], ... from inclusive and exclusive bounds; '' without bounds."""
    a, b = prop.get(lo, prop.get("exclusiveMinimum")), prop.get(hi, prop.get("exclusiveMaximum"))
    if a is None and b is None:
        return ""
    left = "[" if lo in prop or a is None else "("
    right = "]" if hi in prop or b is None else ")"
    text = f"{left}{'' if a is None else _num(a)}, {'' if b is None else _num(b)}{right}"
    return f"{text} {unit}".strip()


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _table(name: str, schema: dict, defs: dict) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()).replace("``", "`"), ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | default |", "| --- | --- | --- | --- |"]
    for key, prop in schema.get("properties", {}).items():
        default = json.dumps(prop["default"]) if "default" in prop else ""
        lines.append(f"| `{key}` | {_type(prop, defs)} | {'yes' if key in required else ''} | {default} |")
    return lines + [""]


def _section(title: str, model) -> list[str]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    lines = [f"## {title}", ""] + _table(model.__name__, schema, defs)
    for name in sorted(defs):
        lines += _table(name, defs[name], defs)
    return lines


def render() -> str:
    lines = [INTRO.rstrip(), ""]
    lines += _section("config.json", R.RunConfig)
    lines += _section("metrics.json", R.Metrics)
    lines.append("<!-- generated by tools/gen_schema_docs.py from edgernn/records.py; do not edit by hand -->")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed page is out of date")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        same = PAGE.is_file() and PAGE.read_text() == text
        print(f"{PAGE}: {'up to date' if same else 'out of date (run tools/gen_schema_docs.py)'}")
        return 0 if same else 1
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
