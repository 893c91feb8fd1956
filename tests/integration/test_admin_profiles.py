"""Admin → Alarm profiles over the real app and database: made, refused, audited, assigned and judged by."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.web import create_app

from support import client_for, post, staffed_clinic

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
LIST = "/admin/alarm-profiles/"
NEW = "/admin/alarm-profiles/new"
CONFIG_PROFILE = {"name": "ward-insulin", "low_c": 2.0, "high_c": 8.0,
                  "rules": [{"name": "heat", "direction": "high", "threshold_c": 8.0, "duration_min": 30}]}


@pytest.fixture
def config(database_url):
    return build_config({"database": {"url": database_url}, "alarm_profiles": [CONFIG_PROFILE]}, {}, {}, "test")


@pytest.fixture
def engine(database_url, engine_for):
    return staffed_clinic(engine_for(database_url), T0)


@pytest.fixture
def app(engine, config):
    return create_app(config, engine=engine, testing=True)



def errors_at(page: str, field_id: str) -> list[str]:
    """The messages shown next to one field (the macro puts them in ``<div id="FIELD-errors">``)."""
    block = re.search(rf'<div id="{re.escape(field_id)}-errors">(.*?)</div>', page, re.DOTALL)
    return [html.unescape(e) for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', block.group(1))] if block else []


def value_of(page: str, field_id: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    found = re.search(r'\bvalue="([^"]*)"', tag.group(0)) if tag else None
    return html.unescape(found.group(1)) if found else None


def rule(index: int, **values: str) -> dict[str, str]:
    """One rule row as the form posts it; ``inclusive`` posted only when checked."""
    row = {"name": "", "direction": "high", "threshold_c": "", "inclusive": "y", "mode": "continuous",
           "duration_min": "", "window_min": "", "severity": "alarm", **values}
    if row["inclusive"] in ("", None):
        del row["inclusive"]
    return {f"rules-{index}-{key}": value for key, value in row.items()}


def cumulative_profile(**changes: str) -> dict[str, str]:
    """warm-2h: an alarm once 30 minutes at or above 8 °C add up within 2 hours; a second row left empty."""
    form = {"name": "warm-2h", "low_c": "2", "high_c": "8", "hysteresis_c": "0.2", "clear_delay_min": "15",
            "allowed_gap_min": "30", "low_battery_pct": "25", "door_open_max_min": "5",
            "reason": "Programme rule: 30 min beyond within 2 h",
            **rule(0, name="warm", threshold_c="8.0", mode="cumulative", duration_min="30", window_min="120"),
            **rule(1)}
    form.update(changes)
    return form


def stored(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {name: json.loads(text) for name, text in conn.execute(
            sa.select(m.StoredAlarmProfile.name, m.StoredAlarmProfile.definition))}


def profile_events(engine) -> list[tuple]:
    a = m.AuditEvent
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            sa.select(a.actor, a.action, a.record_id, a.field, a.old_value, a.new_value, a.reason)
            .where(a.record_type == "alarm_profile").order_by(a.id))]


def text_of(page: str) -> str:
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    return re.sub(r" ([,.:])", r"\1", text)


# -- making one -------------------------------------------------------------------


def test_an_admin_creates_a_cumulative_profile_it_is_listed_and_audited_with_the_reason(app, engine):
    admin = client_for(app, engine, "ada")
    assert 'href="/admin/alarm-profiles/"' in admin.get("/admin/").get_data(as_text=True)
    page = admin.get(NEW).get_data(as_text=True)
    assert 'name="reason"' in page and 'name="rules-2-threshold_c"' in page  # a few empty rule rows

    response = post(admin, NEW, cumulative_profile())
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[-2000:]
    assert response.headers["Location"] == LIST

    definition = stored(engine)["warm-2h"]
    assert definition == {
        "name": "warm-2h", "low_c": 2.0, "high_c": 8.0, "hysteresis_c": 0.2, "clear_delay_min": 15.0,
        "settle_min": 30.0,
        "allowed_gap_min": 30.0, "low_battery_pct": 25.0,
        # The causes' settings: the door's as typed, the plug's left empty take their defaults (the
        # off-cycle, learnt, is not written at all).
        "door_open_max_min": 5.0, "power_lost_w": 0.5, "compressor_on_w": 20.0,
        "rules": [{"name": "warm", "direction": "high", "threshold_c": 8.0, "inclusive": True, "mode": "cumulative",
                   "duration_min": 30.0, "window_min": 120.0, "severity": "alarm"}],  # the empty row is ignored
    }
    [(actor, action, record, field, old, new, reason)] = profile_events(engine)
    assert (actor, action, record, field, old, reason) == (
        "ada", "create", "warm-2h", "definition", None, "Programme rule: 30 min beyond within 2 h")
    assert json.loads(new) == definition

    listing = admin.get(LIST).get_data(as_text=True)
    row = text_of(re.search(r"<tr[^>]*>(?:(?!</tr>).)*warm-2h(?:(?!</tr>).)*</tr>", listing, re.DOTALL).group(0))
    assert "admin" in row and "2.0 … 8.0 °C" in row
    assert "warm (alarm): high, ≥ 8.0 °C (inclusive), cumulative 30 min within 2 h" in row
    assert "hysteresis 0.2 °C" in row and "clear delay 15 min" in row and "30 min" in row and "< 25 %" in row
    assert "no fridge" in row and "Edit" in row
    assert 'href="/admin/alarm-profiles/edit?name=warm-2h"' in listing


def test_the_list_shows_presets_and_config_profiles_read_only_with_their_users(app, engine):
    listing = client_for(app, engine, "ada").get(LIST).get_data(as_text=True)
    rows = {name: text_of(row) for row, name in (
        (r, re.search(r"<strong>([^<]+)</strong>", r).group(1))
        for r in re.findall(r"<tr id=.*?</tr>", listing, re.DOTALL))}
    assert list(rows) == ["cdc-refrigerator", "cdc-freezer", "who-30dtr", "ward-insulin"]
    assert "preset" in rows["cdc-refrigerator"] and "Built in, read-only." in rows["cdc-refrigerator"]
    assert "heat (alarm): high, > 8.0 °C (not inclusive), continuous 1 h" in rows["cdc-refrigerator"]
    assert "freeze (alarm): low, < 2.0 °C (not inclusive), continuous, at the first reading beyond" in rows[
        "cdc-refrigerator"]
    assert "A1" in rows["cdc-refrigerator"]  # the declared fridge takes its kind's default
    assert "freeze (alarm): low, ≤ -0.5 °C (inclusive), continuous 1 h" in rows["who-30dtr"]
    assert "config file" in rows["ward-insulin"] and "Read-only: change it in the config file." in rows["ward-insulin"]
    assert "Edit" not in " ".join(rows.values())
    assert 'href="/admin/alarm-profiles/new?copy=who-30dtr"' in listing


def test_copy_from_fills_the_form_with_a_profile_but_not_its_name(app, engine):
    page = client_for(app, engine, "ada").get(NEW + "?copy=who-30dtr").get_data(as_text=True)
    assert value_of(page, "name") == ""
    assert (value_of(page, "low_c"), value_of(page, "high_c")) == ("2.0", "8.0")
    assert (value_of(page, "rules-0-name"), value_of(page, "rules-0-duration_min")) == ("heat", "600")
    assert (value_of(page, "rules-1-name"), value_of(page, "rules-1-threshold_c")) == ("freeze", "-0.5")
    assert value_of(page, "rules-2-name") == ""


# -- refusing bad input ------------------------------------------------------------


@pytest.mark.parametrize("changes, field_id, message", [
    (rule(0, name="warm", threshold_c="8", mode="cumulative", duration_min="30"), "rules-0-window_min",
     "A cumulative rule needs a window (min), such as 1440 for 24 hours."),
    (rule(0, name="warm", threshold_c="warm", mode="cumulative", duration_min="30", window_min="120"),
     "rules-0-threshold_c", "Enter a temperature in °C as a number, such as 2.0 or -20."),
    (rule(0, name="warm", threshold_c="8", mode="cumulative", duration_min="30", window_min="20"),
     "rules-0-window_min", "The window must be at least as long as the duration (30 min)."),
    (rule(0, name="", threshold_c="8"), "rules-0-name", "Give the rule a name, such as heat or freeze."),
    # From profile_from_config: its ProfileError, placed on the field it names.
    (rule(0, name="warm", threshold_c="8", duration_min="30", window_min="120"), "rules-0-window_min",
     "Window applies only to a cumulative rule; remove it or set mode 'cumulative'."),
    (rule(0, name="warm", threshold_c="8", mode="cumulative", duration_min="0", window_min="120"),
     "rules-0-duration_min", "A cumulative rule needs a duration longer than zero."),
    (rule(0, name="out-of-range", threshold_c="8"), "rules-0-name",
     "The name 'out-of-range' is reserved for out-of-range episodes."),
    ({**rule(0, name="warm", threshold_c="8"), **rule(1, name="warm", threshold_c="9")}, "rules-1-name",
     "Rule 'warm' is declared twice."),
    ({"hysteresis_c": "5"}, "hysteresis_c",
     "The hysteresis margin must be at least 0 and at most half the range (3 °C), not 5.0."),
    ({"low_c": "8", "high_c": "2"}, "low_c",
     "The lowest allowed temperature (8.0) must be below the highest allowed temperature (2.0)."),
    ({"clear_delay_min": "-5"}, "clear_delay_min",
     "The clear delay must be a number of minutes from 0 to 527040, not -5.0."),
    ({"high_c": ""}, "high_c", "Give the highest allowed temperature in °C."),
    ({"reason": " "}, "reason", "Give the reason for this change; it is kept in the audit trail."),
])
def test_bad_input_shows_its_message_next_to_the_field_keeps_the_values_and_stores_nothing(
        app, engine, changes, field_id, message):
    admin = client_for(app, engine, "ada")
    form = cumulative_profile(**changes)
    response = post(admin, NEW, form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert errors_at(page, field_id) == [message]
    for key in ("name", "low_c", "rules-0-name", "rules-0-threshold_c", "rules-0-window_min"):
        assert value_of(page, key) == form[key], key
    assert stored(engine) == {} and profile_events(engine) == []


@pytest.mark.parametrize("name, message", [
    ("cdc-refrigerator", "cdc-refrigerator is a built-in preset, which cannot be changed. Choose another name."),
    ("CDC-Refrigerator", "cdc-refrigerator is a built-in preset, which cannot be changed. Choose another name."),
    ("ward-insulin", "ward-insulin is declared in the config file; change it there, or choose another name."),
])
def test_preset_and_config_names_are_refused(app, engine, name, message):
    admin = client_for(app, engine, "ada")
    response = post(admin, NEW, cumulative_profile(name=name))
    assert errors_at(response.get_data(as_text=True), "name") == [message]
    assert stored(engine) == {} and profile_events(engine) == []


def test_presets_cannot_be_edited_and_a_second_profile_of_the_same_name_is_refused(app, engine):
    admin = client_for(app, engine, "ada")
    response = post(admin, "/admin/alarm-profiles/edit?name=cdc-freezer", cumulative_profile(name="cdc-freezer"))
    assert response.status_code == 302 and response.headers["Location"] == LIST
    assert "cdc-freezer is a preset profile and read-only here" in html.unescape(
        admin.get(LIST).get_data(as_text=True))
    assert post(admin, NEW, cumulative_profile()).status_code == 302
    response = post(admin, NEW, cumulative_profile(name="Warm-2H"))
    assert errors_at(response.get_data(as_text=True), "name") == [
        "An alarm profile named 'warm-2h' already exists; edit it instead, or choose another name."]
    assert list(stored(engine)) == ["warm-2h"]


# -- changing one -----------------------------------------------------------------


def test_an_edit_keeps_the_name_and_audits_old_and_new(app, engine):
    admin = client_for(app, engine, "ada")
    assert post(admin, NEW, cumulative_profile()).status_code == 302
    url = "/admin/alarm-profiles/edit?name=warm-2h"
    page = admin.get(url).get_data(as_text=True)
    assert value_of(page, "rules-0-window_min") == "120" and re.search(r'<input[^>]*id="name"[^>]*readonly', page)

    unchanged = cumulative_profile(reason="looked again")
    response = post(admin, url, unchanged)
    assert response.status_code == 302 and len(profile_events(engine)) == 1  # nothing changed: nothing audited

    response = post(admin, url, cumulative_profile(name="renamed", **{
        "rules-0-window_min": "1440", "rules-0-severity": "warning", "reason": "24 h window per SOP 12"}))
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[-2000:]
    assert list(stored(engine)) == ["warm-2h"]
    assert stored(engine)["warm-2h"]["rules"][0] == {
        "name": "warm", "direction": "high", "threshold_c": 8.0, "inclusive": True, "mode": "cumulative",
        "duration_min": 30.0, "window_min": 1440.0, "severity": "warning"}
    created, updated = profile_events(engine)
    assert updated[:4] == ("ada", "update", "warm-2h", "definition") and updated[6] == "24 h window per SOP 12"
    assert updated[4] == created[5]
    assert json.loads(updated[5])["rules"][0]["window_min"] == 1440.0


def test_a_stored_profile_that_no_longer_validates_is_shown_and_can_be_mended(app, engine):
    with so.Session(engine) as session, session.begin():
        session.add(m.StoredAlarmProfile(name="old-one", definition=json.dumps(
            {"name": "old-one", "low_c": 2.0, "high_c": 8.0, "rules": [{"name": "heat", "threshold_c": 8.0}]}),
            created_at=T0, updated_at=T0))
    admin = client_for(app, engine, "ada")
    listing = text_of(admin.get(LIST).get_data(as_text=True))
    assert "old-one: its definition no longer validates: alarm profile 'old-one': rule 'heat': direction is required" \
        in listing
    page = admin.get("/admin/alarm-profiles/edit?name=old-one").get_data(as_text=True)
    assert value_of(page, "rules-0-name") == "heat"
    response = post(admin, "/admin/alarm-profiles/edit?name=old-one", cumulative_profile(
        name="old-one", **rule(0, name="heat", threshold_c="8", duration_min="60"), reason="mended"))
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[-2000:]
    assert stored(engine)["old-one"]["rules"][0]["direction"] == "high"
    assert profile_events(engine)[0][1] == "update"


# -- who may ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nina", "aldo"])
def test_nurses_and_auditors_get_403(app, engine, name):
    client = client_for(app, engine, name)
    for method, url in (("GET", LIST), ("GET", NEW), ("POST", NEW), ("GET", NEW + "?copy=cdc-freezer"),
                        ("GET", "/admin/alarm-profiles/edit?name=warm-2h"),
                        ("POST", "/admin/alarm-profiles/edit?name=warm-2h")):
        response = client.open(url, method=method, data=cumulative_profile()) if method == "POST" else client.get(url)
        assert response.status_code == 403, (name, method, url)
    assert stored(engine) == {} and profile_events(engine) == []


# -- using one --------------------------------------------------------------------


def test_a_fridge_takes_the_new_profile_and_is_judged_by_its_cumulative_rule(app, engine, config):
    admin = client_for(app, engine, "ada")
    assert post(admin, NEW, cumulative_profile()).status_code == 302
    with engine.connect() as conn:
        a1 = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "A1"))
    url = f"/admin/fridges/{a1}"
    assert '<option value="warm-2h" label="warm-2h (admin, 2 … 8 °C)">' in admin.get(url).get_data(as_text=True)
    response = post(admin, url, {"name": "A1", "site": "1", "kind": "refrigerator", "low_c": "2.0", "high_c": "8.0",
                                 "alarm_profile": "warm-2h", "reason": "new programme rule"})
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[-2000:]
    with engine.connect() as conn:
        assert conn.scalar(sa.select(m.Fridge.alarm_profile).where(m.Fridge.id == a1)) == "warm-2h"
    listing = text_of(admin.get(LIST).get_data(as_text=True))
    assert re.search(r"warm-2h admin .* A1 Edit", listing)

    # Twice 20 minutes at 8.5 °C an hour apart: never 60 min at once (the preset's heat alarm would stay
    # quiet), but 30 min add up within 2 hours at minute 110, so the custom rule "warm" fires.
    start = T0 + timedelta(hours=1)
    trace = [(k * 5, 8.5 if 60 <= k * 5 < 80 or 100 <= k * 5 < 120 else 5.0) for k in range(31)]
    Store(engine).write(Batch(readings=[
        (Reading("native:a1-probe", "native", "a1-probe", start + timedelta(minutes=minute), temp),
         start + timedelta(minutes=minute)) for minute, temp in trace]))
    evaluator = Evaluator(engine, config, clock=lambda: start + timedelta(minutes=150))
    evaluator.marked()
    evaluator.outbox.close()
    with engine.connect() as conn:
        alerts = conn.execute(sa.select(m.Alert.kind, m.Alert.rule, m.Alert.severity, m.Alert.started_at)
                              .order_by(m.Alert.id)).all()
    assert ("excursion", "warm", "alarm", start + timedelta(minutes=100)) in [tuple(a) for a in alerts]
    assert "heat" not in {a.rule for a in alerts}
