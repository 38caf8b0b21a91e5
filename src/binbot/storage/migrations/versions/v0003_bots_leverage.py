"""bots.leverage: its own column (it was kept inside bots.risk as {"leverage", "limits"})

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _loads(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return dict(json.loads(value) if isinstance(value, str) else value)


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("leverage", sa.Integer(), nullable=False,
                                   server_default="1"))
    bots = sa.table("bots", sa.column("bot_id", sa.String(32)), sa.column("risk", sa.JSON()),
                    sa.column("leverage", sa.Integer()))
    connection = op.get_bind()
    for bot_id, risk in connection.execute(sa.select(bots.c.bot_id, bots.c.risk)).all():
        profile = _loads(risk)
        if "limits" not in profile and "leverage" not in profile:
            continue  # already only limits
        connection.execute(
            bots.update().where(bots.c.bot_id == bot_id).values(
                leverage=int(profile.get("leverage", 1)),
                risk=dict(profile.get("limits") or {})))


def downgrade() -> None:
    bots = sa.table("bots", sa.column("bot_id", sa.String(32)), sa.column("risk", sa.JSON()),
                    sa.column("leverage", sa.Integer()))
    connection = op.get_bind()
    for bot_id, risk, leverage in connection.execute(
            sa.select(bots.c.bot_id, bots.c.risk, bots.c.leverage)).all():
        connection.execute(bots.update().where(bots.c.bot_id == bot_id).values(
            risk={"leverage": leverage, "limits": _loads(risk)}))
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("leverage")
