"""MkDocs hooks (mkdocs.yml `hooks:`): pages generated from the code and the measurements at build time.

- results/: one page per record in docs/results/data/*.json, an index, and their plots
  (tools/docs_results.py), each flagged when the code it describes changed after the measurement;
- reference/boards.md: the boards matrix, from edgernn/targets/boards.py;
- reference/c-runtime.md: the params structs, scratch-size macros and functions of firmware/runtime/*.h;
- the nav's Results and Notes sections are filled from those records and from docs/notes/*.md
  (dated notes, newest first), so adding one needs no edit of mkdocs.yml.

Nothing is written into docs/: the generated files exist only in the build.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent


def _docs_results():
    spec = importlib.util.spec_from_file_location("docs_results", TOOLS / "docs_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def boards_markdown() -> str:
    """The boards matrix: every board edgernn builds firmware for, straight from BOARDS."""
    sys.path.insert(0, str(ROOT))
    try:
        from edgernn.targets.boards import BOARDS
    finally:
        sys.path.remove(str(ROOT))

    def kernels(b) -> str:
        return ", ".join(["reference"] + (["DSP (SMLAD)"] if b.dsp else []) + (["Helium (MVE)"] if b.mve else []))

    def size(n: int) -> str:
        return f"{n >> 20} MB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n >> 10} KB"

    rows = [[f"`{b.name}`", f"`{b.qemu_machine}`", b.core_name, kernels(b),
             f"{size(b.flash_bytes)} at 0x{b.flash_origin:08x}", f"{size(b.ram_bytes)} at 0x{b.ram_origin:08x}",
             f"{b.clock_hz / 1e6:g} MHz", f"`{b.timing}`", str(b.flash_wait_states), b.stands_for, b.uart or "none",
             b.flashing or "not supported"]
            for b in BOARDS.values()]
    table = _docs_results().markdown_table(
        ["board", "QEMU machine", "core", "kernel sets", "flash", "RAM", "clock (for estimates)", "cycle table",
         "flash wait states", "stands for", "serial app UART", "`firmware flash`"], rows)
    return ("# Boards\n\nGenerated from `edgernn/targets/boards.py` when the site is built. Every board runs "
            "in QEMU (`edgernn firmware run`, `edgernn bench --target mcu`); the clock is that of the real part "
            "the board stands for and is used only for cycle and latency *estimates*: QEMU counts instructions, not "
            "cycles, so one inference's executed instructions are priced with the core's cycle table (flash wait "
            "states added per fetch refill and load; see [cycle estimates](cycle-estimates.md)). The RISC-V board "
            "`sifive_e` builds with Debian's riscv64-unknown-elf-gcc (rv32imac) and runs the portable reference "
            "kernels. Kernel sets: the reference C kernels run everywhere; the DSP kernels "
            "need the DSP extension, the Helium ones the M-profile vector extension (see "
            "[the C runtime API](c-runtime.md#kernel-sets)). Flashing a real board: "
            "[firmware guide](../guides/firmware.md#flash).\n\n" + table + "\n")


def _header_api(text: str) -> tuple[str, str]:
    """A runtime header's opening comment (prose) and its public C API: params structs, scratch-size
    macros with the comment above each, and the functions it declares (static inline helpers left out)."""
    opening = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    prose = "\n".join(line.strip().removeprefix("*").strip() for line in opening.group(1).splitlines()) if opening else ""
    parts = [m.group(0) for m in re.finditer(r"^typedef struct \{.*?^\} \w+;", text, re.S | re.M)]
    parts += [m.group(0).strip() for m in re.finditer(r"(?:^/\*[^\n]*\*/\n)?^#define ERN_\w+_SCRATCH_BYTES\(.*$", text, re.M)]
    parts += [" ".join(m.group(0).split()) for m in re.finditer(r"^(?:void|int|int32_t) ern_\w+\([^;{]*\);", text, re.M)]
    return prose, "\n\n".join(parts)


def public_header(text: str) -> bool:
    """A public runtime header includes no runtime header but ern_common.h (ern_common.h itself too);
    the internal ones (ern_support.h's helpers, the dot product core, the inline kernels, the DSP, MVE
    and reference variants) include ern_support.h or a header that does."""
    return (set(re.findall(r'^#include "(ern_\w+\.h)"', text, re.M)) <= {"ern_common.h"}
            and not re.search(r"^static |^#include <arm_", text, re.M))


def c_runtime_markdown() -> str:
    """One section per public runtime header of firmware/runtime/ (params structs, scratch-size macros,
    kernels), then the internal headers by name and opening comment."""
    sections, internal = [], []
    for header in sorted((ROOT / "firmware" / "runtime").glob("ern_*.h")):
        text = header.read_text()
        prose, api = _header_api(text)
        if not public_header(text) or header.stem.endswith(("_dsp", "_mve", "_ref")):
            internal.append(f"- `{header.name}`: {' '.join(prose.split())}")
            continue
        body = f"```c\n{api}\n```\n" if api else "(no params struct, scratch macro or function)\n"
        sections.append(f"### `{header.name}`\n\n{prose}\n\n{body}")
    sections.append("### Internal headers\n\nIncluded by the kernel sources and the generated `edgernn_rt.h`; "
                    "a program calling the kernels needs none of them.\n\n" + "\n".join(internal) + "\n")
    return "\n".join(sections)


def ops_markdown() -> str:
    """The op registry of the C generator: every supported op and fusion with its kernel files."""
    sys.path.insert(0, str(ROOT))
    try:
        from edgernn.export.codegen.ops import FUSIONS, REGISTRY
    finally:
        sys.path.remove(str(ROOT))
    def files(kernels) -> str:
        return ", ".join(f"`{k}.c`" for k in kernels) or "inline C in `model.c` (no kernel file)"
    rows = [[f"`{name}`", files(spec.kernels), "yes" if spec.scratch else "no"] for name, spec in sorted(REGISTRY.items())]
    rows += [[f"`{f.name}` (fusion of several ops)", files(f.kernels), "yes"] for f in FUSIONS]
    return _docs_results().markdown_table(["op", "runtime kernel files", "scratch in the arena"], rows)


def on_page_markdown(markdown, page, config, files):
    """Fill the generated part of the C runtime reference from the headers themselves."""
    if page.file.src_uri == "reference/c-runtime.md":
        return (markdown.replace("<!-- generated: runtime headers -->", c_runtime_markdown())
                .replace("<!-- generated: op registry -->", ops_markdown()))
    return markdown


def _nav_section(nav: list, title: str) -> list | None:
    for entry in nav:
        if isinstance(entry, dict) and title in entry:
            return entry
    return None


def on_config(config):
    """Fill the Results and Notes sections of the nav from the records and the dated notes."""
    results = _nav_section(config["nav"], "Results")
    if results is not None:
        records = _docs_results().load_records()
        results["Results"] = ["results/index.md"] + [{r["page_title"]: f"results/{r['name']}.md"} for r in records]
    notes = _nav_section(config["nav"], "Notes")
    if notes is not None:
        dated = sorted((p for p in (ROOT / config["docs_dir"] / "notes").glob("*.md") if p.name != "index.md"),
                       reverse=True)
        notes["Notes"] = ["notes/index.md"] + [f"notes/{p.name}" for p in dated]
    return config


def on_files(files, config):
    """Add the generated pages and images to the build."""
    generated = dict(_docs_results().results_pages())
    generated["reference/boards.md"] = boards_markdown()
    for src_uri, content in generated.items():
        existing = files.get_file_from_path(src_uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, src_uri, content=content))
    return files
