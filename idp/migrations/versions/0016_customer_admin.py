"""the console's customers: sign-in lock, phone digits, search indexes

Revision ID: 0016_customer_admin
Revises: 0017_complaints
Create Date: 2026-12-02 16:00:00

``users.locked_at``: an admin locked the customer's sign-in (idp.admin.customers.lock).
``users.phone_digits``: the phone number as international digits, kept by the model
(``User._keep_phone_digits``); filled here for the customers there are.

The search indexes (idp.admin.customer_search): a prefix search is a range on one key and
pages by (key, id), so each index is (key, id). On PostgreSQL the key is compared with the
"C" collation (byte order), so that a range is a prefix whatever the database's locale; on
SQLite text compares in byte order already, and ix_users_email_lower (0015) serves the
address there (lower(email) is unique, so no tie needs the id). SQLite cannot reflect expression indexes, so a
later ``batch_alter_table('users')`` recreates the table without them: such a migration must
create them again (as 0015 says of ix_users_email_lower).
"""

from alembic import op
import sqlalchemy as sa


revision = '0016_customer_admin'
down_revision = '0017_complaints'
branch_labels = None
depends_on = None

KEYS = {
    'email': 'lower(email)',
    'name': 'lower(name)',
    'family_name': 'lower(family_name)',
    'phone': 'phone_digits',
}


def _digits(number: str | None) -> str | None:
    """As idp.models.users.phone_digits (a migration does not import the app)."""
    digits = ''.join(c for c in number or '' if c.isascii() and c.isdigit())
    if digits.startswith('00'):
        digits = digits[2:]
    elif digits.startswith('0'):
        digits = '358' + digits[1:]
    return digits[:40] or None


def upgrade() -> None:
    op.add_column('users', sa.Column('phone_digits', sa.String(length=40), nullable=True))
    op.add_column('users', sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    users = sa.table(
        'users', sa.column('id', sa.String), sa.column('phone_number', sa.String),
        sa.column('phone_digits', sa.String),
    )
    rows = conn.execute(
        sa.select(users.c.id, users.c.phone_number).where(users.c.phone_number.is_not(None))
    ).all()
    for user_id, number in rows:
        conn.execute(
            users.update().where(users.c.id == user_id).values(phone_digits=_digits(number))
        )
    postgres = conn.dialect.name == 'postgresql'
    for name, key in KEYS.items():
        if postgres:
            op.create_index(
                f'ix_users_search_{name}', 'users', [sa.text(f'{key} COLLATE "C"'), 'id']
            )
        elif name != 'email':  # ix_users_email_lower serves it (emails are unique)
            op.create_index(f'ix_users_search_{name}_lite', 'users', [sa.text(key), 'id'])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    for name in KEYS:
        if postgres:
            op.drop_index(f'ix_users_search_{name}', table_name='users')
        elif name != 'email':
            op.drop_index(f'ix_users_search_{name}_lite', table_name='users')
    op.drop_column('users', 'locked_at')
    op.drop_column('users', 'phone_digits')
