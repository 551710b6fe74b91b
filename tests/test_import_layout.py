"""Data flows one way: no import cycles between edgernn's stage packages (imports inside functions included)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "edgernn"


def _unit(module: str) -> str:
    """The stage a module belongs to: edgernn.<package> (or a top-level module such as api, cli, io)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "edgernn"


def import_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for f in ROOT.rglob("*.py"):
        rel = f.relative_to(ROOT.parent).with_suffix("")
        src = _unit(".".join(rel.parts))
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edgernn"):
                targets = [f"edgernn.{a.name}" for a in node.names] if node.module == "edgernn" else [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("edgernn")]
            else:
                continue
            for t in targets:
                if _unit(t) != src:
                    edges.setdefault(src, set()).add(_unit(t))
    return edges


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    def reaches(a, b, seen):
        return any(d == b or (d not in seen and reaches(d, b, seen | {d})) for d in edges.get(a, ()))
    return sorted((a, b) for a in edges for b in edges[a] if reaches(b, a, {b}))


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b"), ("b", "c"), ("c", "a")]


def test_no_import_cycles_between_stages():
    edges = import_graph()
    assert "tflite" in edges and "export" in edges  # the scan sees the packages
    assert cycles(edges) == []


def test_tflite_reader_depends_on_no_pipeline_stage():
    assert import_graph().get("tflite", set()) <= {"errors", "tf"}
