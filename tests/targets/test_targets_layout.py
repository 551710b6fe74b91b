"""targets/ (issue #24 item 5): toolchain.py and qemu.py at the bottom, shared by the model firmware app
(mcu.py) and the kws app (kws_firmware.py); no circle between modules, imports inside functions included."""
import ast
from pathlib import Path

TARGETS = Path(__file__).resolve().parents[2] / "edgernn" / "targets"


def module_imports() -> dict[str, set[str]]:
    """targets module -> the targets modules it imports (anywhere in the file)."""
    graph = {}
    for f in TARGETS.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "edgernn.targets":
                    deps |= {a.name for a in node.names}
                elif node.module.startswith("edgernn.targets."):
                    deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[2] for a in node.names if a.name.startswith("edgernn.targets.")}
        graph[f.stem] = deps - {f.stem}
    return graph


def test_targets_modules_form_no_circle():
    graph = module_imports()

    def reaches(a, b, seen=frozenset()):
        return any(d == b or (d not in seen and reaches(d, b, seen | {d})) for d in graph.get(a, ()))

    assert [m for m in graph if reaches(m, m)] == []


def test_toolchain_and_qemu_are_shared_and_import_no_app():
    graph = module_imports()
    assert graph["toolchain"] <= set() and graph["qemu"] <= {"boards", "toolchain"}
    for app in ("mcu", "kws_firmware"):
        assert {"toolchain", "qemu"} <= graph[app], app
    assert "mcu" not in graph["kws_firmware"]
