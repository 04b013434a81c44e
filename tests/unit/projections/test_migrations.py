"""The read model's Alembic revisions form one chain: exactly one head, no gaps or forks."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from projections.postgres.migrate import alembic_config


def test_migrations_have_exactly_one_head_and_one_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config("tracktion"))
    assert len(script.get_heads()) == 1, script.get_heads()
    chain = [rev.revision for rev in script.walk_revisions()]  # head first, down to base
    assert len(chain) == len(set(chain))
    assert chain[-1] == "0001_initial"
    assert "0003_beat_grid" in chain
    assert len(script.get_bases()) == 1
