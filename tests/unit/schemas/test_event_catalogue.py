"""The event catalogue in docs/events.md is generated from schemas/ and must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from schemas.codec import EVENT_TYPES

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "gen_event_catalogue.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_event_catalogue", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load()


def test_committed_catalogue_equals_the_generated_one() -> None:
    committed = gen.committed_block(gen.DOC.read_text())
    assert committed == gen.render(), (
        "docs/events.md's event catalogue is stale: run "
        "`.venv/bin/python scripts/gen_event_catalogue.py` and commit the result")


def test_every_event_type_and_version_has_a_table() -> None:
    block = gen.render()
    for tag, cls in EVENT_TYPES.items():
        assert f"### {tag} (schema_version {cls.SCHEMA_VERSION})" in block


def test_nested_fields_are_listed_with_their_defaults() -> None:
    rows = {name: (kind, default) for name, kind, default in
            gen.rows(gen.mi.type_info(EVENT_TYPES["FileDiscovered"]))}
    assert rows["payload.file.tags.year"] == ("integer \\| null", "default `null`")
    assert rows["payload.file.content_hash"] == ("string", "required")
    assert rows["priority"][1] == 'default `"normal"`'
    completed = {name for name, _, _ in
                 gen.rows(gen.mi.type_info(EVENT_TYPES["AnalysisCompleted"]))}
    assert "payload.features.camelot" in completed


def test_replace_block_keeps_the_text_around_the_markers() -> None:
    text = f"before\n{gen.START}\nold\n{gen.END}\nafter\n"
    assert gen.replace_block(text, "NEW") == "before\nNEW\nafter\n"
