"""episodes record their unknown time; products may allow USP <659> excursions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('excursions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unknown_s', sa.Double(), server_default='0', nullable=False))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excursion_low_c', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('excursion_high_c', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('excursion_mkt_max_c', sa.Double(), nullable=True))
    # Unopened Xeomin is kept at 20-25 °C (or 2-8, or -20 to -10): USP <659> controlled room temperature
    # permits excursions from 15 to 30 °C while the MKT stays at or below 25 °C. Rows an admin edited stay.
    op.execute("UPDATE products SET excursion_low_c = 15.0, excursion_high_c = 30.0, excursion_mkt_max_c = 25.0 "
               "WHERE catalogue_key = 'xeomin' AND edited_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('excursion_mkt_max_c')
        batch_op.drop_column('excursion_high_c')
        batch_op.drop_column('excursion_low_c')
    with op.batch_alter_table('excursions', schema=None) as batch_op:
        batch_op.drop_column('unknown_s')
