"""inventory: products (seeded catalogue), lots, the append-only stock ledger, lot reviews and dispositions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


APPEND_ONLY = ("stock_movements", "stock_entries", "opened_vials", "lot_serials", "lot_dispositions")

# The built-in catalogue, frozen as of this revision (DOMAIN.md "Storage ranges"; CDC Vaccine
# Storage and Handling Toolkit; product labels). No GTINs: a person links each GTIN on first scan.
# Later catalogue changes come as new migrations that touch a row only while edited_at is NULL.
# (key, name, form, unit, ranges, freezing allowed, protect from light, beyond-use hours,
#  opened range, notes)
CATALOGUE = [
    ("botox", "Botox 100 U (onabotulinumtoxinA)", "vial, powder for solution for injection", "vial",
     [(2.0, 8.0)], False, False, 24.0, (2.0, 8.0),
     "Reconstituted: keep at 2-8 °C, use within 24 h; record the date and time of reconstitution."),
    ("dysport", "Dysport 300 U (abobotulinumtoxinA)", "vial, powder for solution for injection", "vial",
     [(2.0, 8.0)], False, True, 24.0, (2.0, 8.0),
     "Protect from light. Do not freeze. Reconstituted: 24 h at 2-8 °C."),
    ("xeomin", "Xeomin 100 U (incobotulinumtoxinA)", "vial, powder for solution for injection", "vial",
     [(20.0, 25.0), (2.0, 8.0), (-20.0, -10.0)], True, False, 24.0, (2.0, 8.0),
     "Unopened: 20-25 °C, or 2-8 °C, or -20 to -10 °C. Reconstituted: 24 h at 2-8 °C."),
    ("jeuveau", "Jeuveau 100 U (prabotulinumtoxinA)", "vial, powder for solution for injection", "vial",
     [(2.0, 8.0)], False, True, 24.0, (2.0, 8.0),
     "Keep in the original carton. Reconstituted: 24 h at 2-8 °C, do not freeze."),
    ("mmr", "MMR vaccine (M-M-R II)", "single-dose vial, lyophilized, with diluent", "vial",
     [(2.0, 8.0), (-50.0, -15.0)], True, True, 8.0, (2.0, 8.0),
     "Freezer or refrigerator. Protect from light. Reconstituted: keep at 2-8 °C, discard after 8 h."),
    ("varicella", "Varicella vaccine (Varivax)", "single-dose vial, lyophilized, with diluent", "vial",
     [(-50.0, -15.0)], True, True, 0.5, (20.0, 25.0),
     "Freezer. May be kept at 2-8 °C for up to 72 continuous hours before use (record it). "
     "Reconstituted: use within 30 min at room temperature."),
    ("influenza", "Influenza vaccine, inactivated", "single-dose prefilled syringe", "syringe",
     [(2.0, 8.0)], False, False, None, None, "Do not freeze; discard if frozen."),
    ("hepatitis-b", "Hepatitis B vaccine", "single-dose vial", "vial",
     [(2.0, 8.0)], False, False, None, None, "Do not freeze; discard if frozen."),
    ("hpv", "HPV vaccine (Gardasil 9)", "single-dose prefilled syringe", "syringe",
     [(2.0, 8.0)], False, True, None, None, "Protect from light. Do not freeze."),
    ("tdap", "Tdap vaccine", "single-dose prefilled syringe", "syringe",
     [(2.0, 8.0)], False, False, None, None, "Do not freeze; discard if frozen."),
]


def _seed_catalogue() -> None:
    products = sa.table(
        "products", sa.column("id", sa.Integer()), sa.column("name", sa.String()), sa.column("form", sa.String()),
        sa.column("unit", sa.String()), sa.column("freezing_allowed", sa.Boolean()),
        sa.column("protect_from_light", sa.Boolean()), sa.column("beyond_use_hours", sa.Double()),
        sa.column("opened_low_c", sa.Double()), sa.column("opened_high_c", sa.Double()),
        sa.column("notes", sa.Text()), sa.column("catalogue_key", sa.String()),
        sa.column("created_at", fridge_monitor.store.models.UTCDateTime()),
    )
    ranges = sa.table("product_ranges", sa.column("product_id", sa.Integer()), sa.column("low_c", sa.Double()),
                      sa.column("high_c", sa.Double()))
    now = datetime.now(UTC)
    bind = op.get_bind()
    for key, name, form, unit, allowed, freezing, light, hours, opened, notes in CATALOGUE:
        product_id = bind.execute(products.insert().returning(products.c.id).values(
            name=name, form=form, unit=unit, freezing_allowed=freezing, protect_from_light=light,
            beyond_use_hours=hours, opened_low_c=opened[0] if opened else None,
            opened_high_c=opened[1] if opened else None, notes=notes, catalogue_key=key, created_at=now,
        )).scalar_one()
        bind.execute(ranges.insert(), [{"product_id": product_id, "low_c": low, "high_c": high}
                                       for low, high in allowed])


def _append_only() -> None:
    # Stock movements and what hangs off them are never changed in place: the database itself
    # refuses UPDATE and DELETE (DESIGN.md "Records are append-only"), as for the audit trail.
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: {verb} refused'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION inventory_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION inventory_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inventory_append_only()")


def upgrade() -> None:
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('form', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('freezing_allowed', sa.Boolean(), nullable=False),
    sa.Column('protect_from_light', sa.Boolean(), nullable=False),
    sa.Column('beyond_use_hours', sa.Double(), nullable=True),
    sa.Column('opened_low_c', sa.Double(), nullable=True),
    sa.Column('opened_high_c', sa.Double(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('catalogue_key', sa.String(length=50), nullable=True),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('edited_by', sa.String(length=100), nullable=True),
    sa.Column('retired_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('catalogue_key', name=op.f('uq_products_catalogue_key')),
    sa.UniqueConstraint('name', name=op.f('uq_products_name'))
    )
    op.create_table('lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.String(length=50), nullable=False),
    sa.Column('expiry', sa.Date(), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_lots_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('product_id', 'lot_number', name=op.f('uq_lots_product_id_lot_number'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lots_expiry'), ['expiry'], unique=False)

    op.create_table('product_gtins',
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('linked_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_gtins_product_id_products')),
    sa.PrimaryKeyConstraint('gtin', name=op.f('pk_product_gtins'))
    )
    with op.batch_alter_table('product_gtins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_gtins_product_id'), ['product_id'], unique=False)

    op.create_table('product_ranges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('low_c', sa.Double(), nullable=False),
    sa.Column('high_c', sa.Double(), nullable=False),
    sa.CheckConstraint('low_c <= high_c', name=op.f('ck_product_ranges_low_not_above_high')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_ranges_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_ranges'))
    )
    with op.batch_alter_table('product_ranges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_ranges_product_id'), ['product_id'], unique=False)

    op.create_table('stock_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reason_code', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('counted', sa.Integer(), nullable=True),
    sa.Column('corrects_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("kind IN ('receive', 'use', 'transfer', 'reconstitute', 'discard', 'correct')", name=op.f('ck_stock_movements_kind')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_stock_movements_quantity_positive')),
    sa.ForeignKeyConstraint(['corrects_id'], ['stock_movements.id'], name=op.f('fk_stock_movements_corrects_id_stock_movements')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_stock_movements_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movements_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_lot_id'), ['lot_id'], unique=False)

    op.create_table('lot_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('excursion_id', sa.Integer(), nullable=True),
    sa.Column('started_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exposure_s', sa.Double(), nullable=False),
    sa.Column('peak_c', sa.Double(), nullable=True),
    sa.Column('low_c', sa.Double(), nullable=True),
    sa.Column('mkt_c', sa.Double(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['excursion_id'], ['excursions.id'], name=op.f('fk_lot_reviews_excursion_id_excursions')),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_lot_reviews_fridge_id_fridges')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_reviews_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_reviews')),
    sa.UniqueConstraint('lot_id', 'excursion_id', name=op.f('uq_lot_reviews_lot_id_excursion_id'))
    )
    with op.batch_alter_table('lot_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_reviews_excursion_id'), ['excursion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_reviews_fridge_id'), ['fridge_id'], unique=False)
        batch_op.create_index('ix_lot_reviews_lot_fridge_started', ['lot_id', 'fridge_id', 'started_at'], unique=False)

    op.create_table('lot_serials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=50), nullable=False),
    sa.Column('movement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_serials_lot_id_lots')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_lot_serials_movement_id_stock_movements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_serials')),
    sa.UniqueConstraint('lot_id', 'serial', name=op.f('uq_lot_serials_lot_id_serial'))
    )
    with op.batch_alter_table('lot_serials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_serials_movement_id'), ['movement_id'], unique=False)

    op.create_table('opened_vials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('movement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opened_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('beyond_use_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_opened_vials_lot_id_lots')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_opened_vials_movement_id_stock_movements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opened_vials')),
    sa.UniqueConstraint('movement_id', name=op.f('uq_opened_vials_movement_id'))
    )
    with op.batch_alter_table('opened_vials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opened_vials_lot_id'), ['lot_id'], unique=False)

    op.create_table('lot_dispositions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('decided_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("decision <> 'released' OR reference IS NOT NULL", name=op.f('ck_lot_dispositions_release_has_reference')),
    sa.CheckConstraint("decision IN ('released', 'discarded')", name=op.f('ck_lot_dispositions_decision')),
    sa.ForeignKeyConstraint(['review_id'], ['lot_reviews.id'], name=op.f('fk_lot_dispositions_review_id_lot_reviews')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['lot_dispositions.id'], name=op.f('fk_lot_dispositions_supersedes_id_lot_dispositions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_dispositions'))
    )
    with op.batch_alter_table('lot_dispositions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_dispositions_review_id'), ['review_id'], unique=False)

    op.create_table('stock_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('movement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('opened_vial_id', sa.Integer(), nullable=True),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.CheckConstraint('delta <> 0', name=op.f('ck_stock_entries_delta_not_zero')),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_stock_entries_fridge_id_fridges')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_stock_entries_lot_id_lots')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_stock_entries_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['opened_vial_id'], ['opened_vials.id'], name=op.f('fk_stock_entries_opened_vial_id_opened_vials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_entries'))
    )
    with op.batch_alter_table('stock_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_entries_fridge_id'), ['fridge_id'], unique=False)
        batch_op.create_index('ix_stock_entries_lot_fridge', ['lot_id', 'fridge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_entries_movement_id'), ['movement_id'], unique=False)

    _append_only()
    _seed_catalogue()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION inventory_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")

    with op.batch_alter_table('stock_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_entries_movement_id'))
        batch_op.drop_index('ix_stock_entries_lot_fridge')
        batch_op.drop_index(batch_op.f('ix_stock_entries_fridge_id'))

    op.drop_table('stock_entries')
    with op.batch_alter_table('lot_dispositions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_dispositions_review_id'))

    op.drop_table('lot_dispositions')
    with op.batch_alter_table('opened_vials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opened_vials_lot_id'))

    op.drop_table('opened_vials')
    with op.batch_alter_table('lot_serials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_serials_movement_id'))

    op.drop_table('lot_serials')
    with op.batch_alter_table('lot_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_lot_reviews_lot_fridge_started')
        batch_op.drop_index(batch_op.f('ix_lot_reviews_fridge_id'))
        batch_op.drop_index(batch_op.f('ix_lot_reviews_excursion_id'))

    op.drop_table('lot_reviews')
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_lot_id'))
        batch_op.drop_index(batch_op.f('ix_stock_movements_at'))

    op.drop_table('stock_movements')
    with op.batch_alter_table('product_ranges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_ranges_product_id'))

    op.drop_table('product_ranges')
    with op.batch_alter_table('product_gtins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_gtins_product_id'))

    op.drop_table('product_gtins')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_expiry'))

    op.drop_table('lots')
    op.drop_table('products')
