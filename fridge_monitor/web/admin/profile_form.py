"""The alarm-profile form: settings and rule rows, checked as typed, then as a whole by the rules' own validation.

A ProfileError from :func:`fridge_monitor.core.profile_definitions.profile_from_config` names the
profile, the rule and the config key it is about; :meth:`ProfileForm.place`
shows it next to that field, in the form's words.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from fridge_monitor.core.rules import ProfileError
from fridge_monitor.web.forms import NumberField, TemperatureField, number_text, options, reason_field, strip

MAX_RULES = 30
BLANK_ROWS = 3  # empty rule rows offered below the filled ones; saving and editing again gives more
DIRECTIONS = {"high": "High (too warm)", "low": "Low (too cold)"}
MODES = {"continuous": "Continuous", "cumulative": "Cumulative"}
SEVERITIES = {"alarm": "Alarm", "warning": "Warning"}
# How a ProfileError's config keys read next to the form's fields.
PROFILE_WORDS = {"name": "name", "low_c": "the lowest allowed temperature", "high_c": "the highest allowed temperature",
                 "hysteresis_c": "the hysteresis margin", "clear_delay_min": "the clear delay",
                 "settle_min": "the settle time", "allowed_gap_min": "the allowed gap",
                 "low_battery_pct": "the low-battery level", "door_open_max_min": "the longest the door may be open",
                 "power_lost_w": "the no-power level", "compressor_on_w": "the compressor's running power",
                 "off_cycle_max_min": "the longest off-cycle"}
RULE_WORDS = {"name": "name", "direction": "direction", "threshold_c": "threshold", "inclusive": "inclusive",
              "mode": "mode", "duration_min": "duration", "window_min": "window", "severity": "severity"}


def _typed(field: Any) -> bool:
    return bool(field.raw_data and field.raw_data[0].strip())


class RuleRow(Form):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("Rule name", filters=[strip], validators=[Length(max=100)])
    direction = SelectField("Direction", choices=options(DIRECTIONS.items()))
    threshold_c = TemperatureField("Threshold (°C)")
    inclusive = BooleanField("Inclusive: the threshold itself counts", default=True)
    mode = SelectField("Mode", choices=options(MODES.items()))
    duration_min = NumberField("Duration (min)", "60")
    window_min = NumberField("Window (min)", "1440")
    severity = SelectField("Severity", choices=options(SEVERITIES.items()))

    def blank(self) -> bool:
        """An untouched row (the selects and the box always carry a value): ignored."""
        return not self.name.data and not any(_typed(f) for f in (self.threshold_c, self.duration_min,
                                                                    self.window_min))

    def check(self) -> bool:
        """What a filled row needs before the profile can be judged as a whole; False with messages if lacking."""
        if not self.name.data:
            self.name.errors.append("Give the rule a name, such as heat or freeze.")
        if self.threshold_c.data is None and not self.threshold_c.errors:
            self.threshold_c.errors.append("Give the threshold in °C.")
        if self.mode.data == "cumulative" and not self.window_min.errors and not self.duration_min.errors:
            # Caught here because the rule's own message for these shows Python values, not minutes.
            if self.window_min.data is None:
                self.window_min.errors.append("A cumulative rule needs a window (min), such as 1440 for 24 hours.")
            elif self.duration_min.data is not None and self.window_min.data < self.duration_min.data:
                self.window_min.errors.append(f"The window must be at least as long as the duration "
                                              f"({number_text(self.duration_min.data)} min).")
        return not any(f.errors for f in self)


class ProfileForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("Name", filters=[strip], validators=[
        DataRequired("Give the profile a name, such as vaccines-cumulative."), Length(max=100)])
    low_c = TemperatureField("Lowest allowed (°C)")
    high_c = TemperatureField("Highest allowed (°C)")
    # Placeholders show the default that an empty field takes.
    hysteresis_c = NumberField("Hysteresis margin (°C)", "0.3", render_kw={"placeholder": "0.3"})
    clear_delay_min = NumberField("Clear delay (min)", "10", render_kw={"placeholder": "10"})
    settle_min = NumberField("Settle time (min)", "30", render_kw={"placeholder": "30"})
    allowed_gap_min = NumberField("Allowed gap between readings (min)", "35", render_kw={"placeholder": "35"})
    low_battery_pct = NumberField("Low-battery level (%)", "20", render_kw={"placeholder": "20"})
    door_open_max_min = NumberField("Door may be open for (min)", "3", render_kw={"placeholder": "3"})
    power_lost_w = NumberField("No power at or below (W)", "0.5", render_kw={"placeholder": "0.5"})
    compressor_on_w = NumberField("Compressor running above (W)", "20", render_kw={"placeholder": "20"})
    off_cycle_max_min = NumberField("Longest normal off-cycle (min)", "learnt",
                                    render_kw={"placeholder": "learnt"})
    rules = FieldList(FormField(RuleRow), max_entries=MAX_RULES)
    reason = reason_field()

    def validate(self, extra_validators: Any = None) -> bool:
        # Check every row even when another field failed, so every problem shows at once.
        valid = super().validate(extra_validators)
        for field, which in ((self.low_c, "lowest"), (self.high_c, "highest")):
            if field.data is None and not field.errors:
                field.errors.append(f"Give the {which} allowed temperature in °C.")
                valid = False
        for row in self.filled_rows():
            valid = row.check() and valid
        return bool(valid)

    def filled_rows(self) -> list[RuleRow]:
        return [entry.form for entry in self.rules if not entry.form.blank()]

    def definition(self) -> dict[str, Any]:
        """The form as an ``[[alarm_profiles]]`` table; left-empty settings take the documented defaults."""
        table: dict[str, Any] = {"name": self.name.data, "low_c": self.low_c.data, "high_c": self.high_c.data}
        for key in ("hysteresis_c", "clear_delay_min", "settle_min", "allowed_gap_min", "low_battery_pct",
                    "door_open_max_min", "power_lost_w", "compressor_on_w", "off_cycle_max_min"):
            if self[key].data is not None:
                table[key] = self[key].data
        rules = []
        for row in self.filled_rows():
            item = {"name": row.name.data, "direction": row.direction.data, "threshold_c": row.threshold_c.data,
                    "inclusive": row.inclusive.data, "mode": row.mode.data, "severity": row.severity.data}
            for key in ("duration_min", "window_min"):
                if row[key].data is not None:
                    item[key] = row[key].data
            rules.append(item)
        table["rules"] = rules
        return table

    def place(self, error: ProfileError) -> None:
        """Show a ProfileError next to the field it names (the profile's, or a rule row's), in the form's words."""
        message, target, words = str(error), self, PROFILE_WORDS
        prefix = f"alarm profile {self.name.data!r}: "
        if message.startswith(prefix):
            message = message[len(prefix):]
            for row in reversed(self.filled_rows()):  # reversed: "declared twice" belongs to the later row
                tag = f"rule {row.name.data!r}"
                if message.startswith(tag):
                    target, words = row, RULE_WORDS
                    message = message.removeprefix(tag + ": ")
                    break
        keys = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b")
        named = keys.search(message)
        message = keys.sub(lambda key: words[key.group(1)], message)
        target[named.group(1) if named else "name"].errors.append(message[:1].upper() + message[1:].rstrip(".") + ".")


def form_data(table: dict[str, Any]) -> dict[str, Any]:
    """A stored or copied ``[[alarm_profiles]]`` table as the form's data (of a damaged one, what can be read)."""
    rules = table.get("rules")
    return {**table, "rules": [r for r in rules if isinstance(r, dict)][:MAX_RULES] if isinstance(rules, list) else []}


def pad(form: ProfileForm) -> None:
    """Offer empty rule rows below the filled ones."""
    while len(form.rules) < min(MAX_RULES, len(form.filled_rows()) + BLANK_ROWS):
        form.rules.append_entry()
