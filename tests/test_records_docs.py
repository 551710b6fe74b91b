"""docs/reference/run-folder.md is generated from the record models; the committed page is current."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import gen_schema_docs  # noqa: E402


def test_committed_page_equals_the_generated_one():
    assert gen_schema_docs.PAGE.read_text() == gen_schema_docs.render(), \
        "docs/reference/run-folder.md is out of date: run python tools/gen_schema_docs.py"


def test_page_documents_every_field():
    from edgernn.records import Metrics, RunConfig

    page = gen_schema_docs.render()
    for model in (RunConfig, Metrics):
        for name in model.model_fields:
            assert f"| `{name}` |" in page, name
