from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core.charts import Point, Series, convert, nice_ticks, render, time_ticks, unbroken_runs

T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def chart(series, **kw):
    args = dict(start=T0, end=T0 + timedelta(hours=2), tz=UTC, band=(2.0, 8.0), max_gap=timedelta(minutes=15),
                title="A1", description="test", width=200, height=100)
    return render(series, **{**args, **kw})


def test_runs_break_at_gaps_longer_than_the_threshold():
    points = [Point(at(0), 4.0), Point(at(10), 4.1), Point(at(25), 4.2), Point(at(40), 4.3), Point(at(56), 4.4)]
    runs = unbroken_runs(points, timedelta(minutes=15))
    assert [[p.mean for p in run] for run in runs] == [[4.0, 4.1, 4.2, 4.3], [4.4]]
    assert unbroken_runs([], timedelta(minutes=15)) == []


def test_a_gap_breaks_the_line_instead_of_bridging_it():
    svg = chart([Series("p1", [Point(at(0), 4.0), Point(at(10), 5.0), Point(at(60), 5.0), Point(at(70), 6.0)])])
    assert svg.count("<polyline") == 2
    bridged = chart([Series("p1", [Point(at(0), 4.0), Point(at(10), 5.0), Point(at(60), 5.0), Point(at(70), 6.0)])],
                    max_gap=timedelta(hours=1))
    assert bridged.count("<polyline") == 1


def test_points_are_placed_on_time_and_value():
    # Plot area: x 46..188 over 2 h; y 76..10 over the ticks -2.5..12.5 (values 0..10 plus padding).
    svg = chart([Series("p1", [Point(at(0), 0.0), Point(at(120), 10.0)])], max_gap=timedelta(hours=3))
    assert 'points="46.0,65.0 188.0,21.0"' in svg
    assert ">-2.5</text>" in svg and ">12.5</text>" in svg


def test_band_and_envelope_are_drawn():
    svg = chart([Series("all", [Point(at(0), 5.0, 4.0, 6.0), Point(at(60), 5.0, 3.0, 9.0)])])
    assert '<rect class="band"' in svg and "allowed 2 to 8 °C" in svg
    assert '<polygon class="envelope"' in svg


def test_accessible_and_escaped():
    svg = chart([Series("<probe>", [Point(at(0), 4.0), Point(at(5), 4.2)])], title='Fridge "A&B" <1>',
                description="d<e>sc", chart_id="c1")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert 'role="img" aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Fridge &quot;A&amp;B&quot; &lt;1&gt;</title>' in svg
    assert '<desc id="c1-desc">d&lt;e&gt;sc</desc>' in svg
    assert 'data-series="&lt;probe&gt;"' in svg and "<probe>" not in svg


def test_no_data_says_so():
    assert "No readings in this period" in chart([])


def test_nice_ticks():
    assert nice_ticks(1.5, 8.5) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(-0.3, 0.9, 5) == [-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]


def test_time_labels_are_in_the_site_time_zone():
    berlin = ZoneInfo("Europe/Berlin")
    ticks = time_ticks(T0, T0 + timedelta(hours=12), berlin, most=8)
    assert [label for _, label in ticks] == ["02:00", "04:00", "06:00", "08:00", "10:00", "12:00"]
    assert ticks[0][0] == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 02:00 in Berlin
    svg = chart([], start=T0, end=T0 + timedelta(hours=12), tz=berlin)
    assert ">02:00</text>" in svg


def test_day_ticks_follow_local_midnight_across_dst():
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    ticks = time_ticks(start, start + timedelta(days=4), berlin)
    assert [(t.isoformat(), label) for t, label in ticks] == [
        ("2026-03-27T23:00:00+00:00", "28 Mar"),
        ("2026-03-28T23:00:00+00:00", "29 Mar"),
        ("2026-03-29T22:00:00+00:00", "30 Mar"),
        ("2026-03-30T22:00:00+00:00", "31 Mar"),
    ]


def test_month_ticks_for_a_year():
    ticks = time_ticks(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC), UTC)
    assert [label for _, label in ticks][:3] == ["Jan 2026", "Mar 2026", "May 2026"]


def test_convert_to_fahrenheit():
    (series,) = convert([Series("p", [Point(at(0), 5.0, 0.0, 10.0)])], lambda c: c * 9 / 5 + 32)
    assert series.points == [Point(at(0), 41.0, 32.0, 50.0)]


def test_a_floor_keeps_the_axis_from_going_below_it():
    power = [Series("plug", [Point(at(0), 0.0), Point(at(60), 85.0)])]
    assert ">-" in chart(power, band=None, max_gap=timedelta(hours=3))
    floored = chart(power, band=None, max_gap=timedelta(hours=3), floor=0.0)
    assert ">-" not in floored and ">0</text>" in floored


def test_spans_are_shaded_within_the_window_with_their_label():
    svg = chart([Series("p1", [Point(at(0), 4.0)])],
                spans=[(at(30), at(45), "door open 00:30, 15 min"), (at(-30), at(-10), "before the window")])
    assert svg.count('<rect class="span"') == 1
    assert "<title>door open 00:30, 15 min</title>" in svg
    # 15 minutes of a 2-hour plot 142 px wide, from a quarter of it.
    assert 'x="81.5" y="10" width="17.8"' in svg
