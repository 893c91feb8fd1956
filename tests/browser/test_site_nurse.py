"""A nurse of one site, in a real browser, sees only that site; an admin of the group starts from the site list.

Three sites with a fridge each, all reporting; one has an alert waiting. The nurse, listed at Harbour Clinic,
signs in through the real form: the dashboard shows Harbour's fridge and no other, the alerts page and the
inventory are Harbour's, and typing another site's fridge page gives "not found". The admin's dashboard opens
on the list of sites with their counts and leads, with a click, to one site's fridges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store import models as m
from fridge_monitor.store import site_access
from fridge_monitor.store.sync import sync_declarations

from support import add_users, sign_in_page

NOW = datetime.now(UTC).replace(microsecond=0)
SITES = {"Harbour Clinic": "Harbour-Vaccines", "Hill Clinic": "Hill-Botox", "Valley Clinic": "Valley-Insulin"}


def test_a_nurse_of_one_site_sees_only_that_site(sqlite_url, make_config, engine_for, serve, open_page):
    config, _ = make_config(sqlite_url, sections={"web": {"port": free_port()}},
                            sites=[{"name": site, "timezone": "Europe/Berlin"} for site in SITES],
                            fridges=[{"name": fridge, "site": site, "sensors": [f"native:{fridge.lower()}"]}
                                     for site, fridge in SITES.items()])
    engine = engine_for(sqlite_url)
    sync_declarations(engine, config, NOW - timedelta(days=2))
    recent = [NOW - timedelta(minutes=k) for k in range(40, 0, -2)]
    Store(engine).write(Batch(readings=[
        (Reading(f"native:{fridge.lower()}", "native", fridge.lower(), at, 9.5 if fridge == "Hill-Botox" else 4.5), at)
        for fridge in SITES.values() for at in recent]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.close()
    users = add_users(engine, {"hana": "nurse", "ada": "admin"}, NOW, password="long-enough-pw")
    with so.Session(engine) as session, session.begin():
        harbour = session.scalar(sa.select(m.Site.id).where(m.Site.name == "Harbour Clinic"))
        site_access.set_sites(session, session.get(m.User, users["hana"]), {harbour}, actor="test", now=NOW,
                              reason="works at Harbour")
    base = serve(config, engine)

    nurse = open_page()
    sign_in_page(nurse, base, "hana", "long-enough-pw")
    tiles = nurse.locator("[data-fridge]")
    assert tiles.evaluate_all("els => els.map(e => e.dataset.fridge)") == ["Harbour-Vaccines"]
    body = nurse.locator("main").inner_text()
    assert "Hill" not in body and "Valley" not in body and "Sites" not in body
    nurse.goto(f"{base}/alerts?state=all")
    assert "Hill-Botox" not in nurse.locator("main").inner_text()
    nurse.goto(f"{base}/inventory")
    assert "Hill-Botox" not in nurse.locator("main").inner_text()
    answer = nurse.goto(f"{base}/fridges/Hill-Botox")
    assert answer is not None and answer.status == 404
    assert "there is no fridge named 'Hill-Botox'" in nurse.locator("main").inner_text()
    assert "Audit" not in nurse.locator("nav").first.inner_text()

    admin = open_page()
    sign_in_page(admin, base, "ada", "long-enough-pw")
    rows = admin.locator("table.site-list tbody tr")
    assert rows.evaluate_all("els => els.map(e => e.dataset.site)") == list(SITES)
    hill = admin.locator('tr[data-site="Hill Clinic"]')
    assert "site-attention" in (hill.get_attribute("class") or "")
    hill.locator("a").click()
    admin.wait_for_url(f"{base}/sites/*")
    assert admin.locator("[data-fridge]").evaluate_all("els => els.map(e => e.dataset.fridge)") == ["Hill-Botox"]
    assert admin.locator("h1").inner_text().startswith("Hill Clinic")
