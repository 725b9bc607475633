"""messages of registry-spanning tasks

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["task"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task", "sender", "kind"),
    )
    op.create_index(op.f("ix_task_messages_task"), "task_messages", ["task"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_task_messages_task"), table_name="task_messages")
    op.drop_table("task_messages")
