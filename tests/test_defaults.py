"""Every default is defined once (edgernn/defaults.py): the CLI, the Python API and the stage functions
the API calls agree on every default they share, and none of them writes a literal of its own."""
import ast
import importlib
import inspect
from pathlib import Path

import click
import pytest

from edgernn import api
from edgernn.cli import main

API_SOURCE = Path(api.__file__).read_text()
API_FUNCTIONS = [n for n in ast.parse(API_SOURCE).body if isinstance(n, ast.FunctionDef)]
# API function -> CLI command path, where the names differ
CLI_NAMES = {"evaluate": "eval", "synth_kws": "data_synth_kws", "synth_anomaly": "data_synth_anomaly",
             "bundled": "data_bundled", "firmware_stream_kws": "firmware_stream", "real_speech": "data_real_speech"}


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield "_".join(prefix + (name,)).replace("-", "_"), cmd


CLI = dict(_commands(main))
# Parameters that share a name but not a meaning. bench's --timeout is the rpi connection timeout; the MCU
# run's limit is bench_mcu's own (the CLI passes max(--timeout, 120)). One Target interface (issue 24 item 4)
# gives each target its own options and removes this entry.
DIFFERENT_MEANING = {("bench", "timeout")}


def _stages(fn: ast.FunctionDef) -> list:
    """The edgernn functions an API function imports (and calls): its stage functions."""
    out = []
    for node in ast.walk(fn):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("edgernn"):
            mod = importlib.import_module(node.module)
            out += [getattr(mod, a.name) for a in node.names if inspect.isfunction(getattr(mod, a.name, None))]
    return out


def _cli_defaults(name: str) -> dict:
    cmd = CLI.get(CLI_NAMES.get(name, name))
    if cmd is None:
        return {}
    out = {}
    for o in cmd.params:
        default = o.default
        if isinstance(o, click.Option) and o.is_flag and not o.required and not isinstance(default, bool):
            default = False  # click's "unset" flag
        if default is None or not isinstance(default, (bool, int, float, str, tuple)):
            continue  # no default (required, or derived later)
        out[o.name] = default
    return out


def _defaults(f) -> dict:
    return {p.name: p.default for p in inspect.signature(f).parameters.values()
            if p.default is not inspect.Parameter.empty}


def _same(a, b) -> bool:
    if isinstance(a, tuple) != isinstance(b, tuple):  # a CLI option holds a tuple as "a,b"
        a, b = (",".join(x) if isinstance(x, tuple) else x for x in (a, b))
    return a == b and type(a) in (type(b), int, float) and type(b) in (type(a), int, float)


@pytest.mark.parametrize("fn", API_FUNCTIONS, ids=lambda f: f.name)
def test_cli_api_and_stage_defaults_agree(fn):
    sources = {"api": _defaults(getattr(api, fn.name)), "cli": _cli_defaults(fn.name)}
    sources.update({f"{s.__module__}.{s.__name__}": _defaults(s) for s in _stages(fn)})
    names = set().union(*sources.values())
    for name in names - {n for f, n in DIFFERENT_MEANING if f == fn.name}:
        values = {where: d[name] for where, d in sources.items() if name in d}
        first = next(iter(values.values()))
        assert all(_same(first, v) for v in values.values()), f"{fn.name}({name}=...): {values}"


def _literal(node) -> bool:
    """A number, string or tuple written out (None and booleans are not defaults anyone tunes)."""
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Tuple) or (isinstance(node, ast.Constant) and node.value is not None
                                           and not isinstance(node.value, bool))


def _signature_defaults(node: ast.FunctionDef) -> dict:
    a = node.args
    pos = a.posonlyargs + a.args
    pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults))
    pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    return {arg.arg: d for arg, d in pairs}


def _function_node(f) -> ast.FunctionDef:
    tree = ast.parse(Path(inspect.getsourcefile(f)).read_text())
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == f.__name__)


def _cli_option_defaults(name: str) -> dict:
    """{parameter: default expression} of a CLI command's options, from cli.py's source."""
    cmd = CLI.get(CLI_NAMES.get(name, name))
    if cmd is None:
        return {}
    node = _function_node(inspect.unwrap(cmd.callback))
    out = {}
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "option":
            decls = {t for a in dec.args if isinstance(a, ast.Constant) for t in a.value.split("/")}
            opt = next(o for o in cmd.params if decls & {*o.opts, *o.secondary_opts, o.name})
            out.update({opt.name: kw.value for kw in dec.keywords if kw.arg == "default"})
    return out


@pytest.mark.parametrize("fn", API_FUNCTIONS, ids=lambda f: f.name)
def test_no_literal_default_in_two_places(fn):
    """A default that the API, the CLI or a stage function share is written once, in edgernn/defaults.py."""
    places = {f"api.{fn.name}": _signature_defaults(fn), f"cli {fn.name}": _cli_option_defaults(fn.name)}
    places.update({f"{s.__module__}.{s.__name__}": _signature_defaults(_function_node(s)) for s in _stages(fn)})
    literal = []
    for name in set().union(*places.values()):
        where = {place: d[name] for place, d in places.items() if name in d}
        if len(where) > 1:
            literal += [f"{place}({name}={ast.unparse(d)})" for place, d in where.items() if _literal(d)]
    assert not literal, "write these defaults once, in edgernn/defaults.py: " + "; ".join(sorted(literal))


def test_the_checks_see_a_planted_duplicate(monkeypatch):
    """A literal in the API, or a value that differs, is found (the checks are not vacuous)."""
    planted = ast.parse("def quantize(run, mode='int8', calibration_samples=300):\n    pass\n").body[0]
    assert [n for n, d in _signature_defaults(planted).items() if _literal(d)] == ["mode", "calibration_samples"]
    assert not _same(300, 200) and _same(("md", "html"), "md,html") and not _same(1, "1")
