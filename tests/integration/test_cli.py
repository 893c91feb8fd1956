"""The command line as installers and operators use it."""

from __future__ import annotations

import json

from support import cli


def test_parse_prints_what_it_understood():
    payload = json.dumps({"Time": "2026-11-25T11:00:00", "DS18B20": {"Id": "01144A0CB2AA", "Temperature": 4.2},
                          "TempUnit": "C"}).encode()
    result = cli("parse", "--format", "tasmota", "--topic", "tele/fridge-a/SENSOR", "--timezone", "Europe/Berlin",
                 input=payload)
    assert result.returncode == 0, result.stderr
    assert "tasmota:fridge-a:01144A0CB2AA" in result.stdout
    assert "4.2 °C" in result.stdout


def test_parse_explains_a_rejection_and_exits_non_zero():
    result = cli("parse", "--format", "native", "--topic", "fridge-monitor/readings/a1",
                 input=b'{"temperature_c": 150}')
    assert result.returncode == 1
    assert "outside the plausible range" in result.stdout


def test_bad_config_key_is_one_line_naming_it(tmp_path):
    config = tmp_path / "fm.toml"
    config.write_text('[mqtt]\nurll = "mqtt://x:1883"\n')
    result = cli("--config", str(config), "db", "upgrade")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"fridge-monitor: error: {config}: unknown setting [mqtt] urll (known: url, username, password, client_id, "
        "protocol, keepalive_s, session_expiry_s, receive_maximum, ca_file, cert_file, key_file, embedded)"
    ]


def test_bad_env_override_is_one_line(tmp_path):
    result = cli("db", "upgrade", env={"FRIDGE_MONITOR_DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "env FRIDGE_MONITOR_DATABASE_URL" in result.stderr


def test_export_refuses_unknown_fridge_and_bad_dates(tmp_path):
    env = {"FRIDGE_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert cli("db", "upgrade", env=env).returncode == 0
    result = cli("export", "readings", "--from", "2026-11-01", "--to", "2026-11-30", "--fridge", "Z9", env=env)
    assert result.returncode == 2 and "no fridge named 'Z9'" in result.stderr
    result = cli("export", "readings", "--from", "yesterday", "--to", "2026-11-30", env=env)
    assert result.returncode == 2 and "'yesterday' is not a date" in result.stderr
    result = cli("export", "readings", "--from", "2026-11-30", "--to", "2026-11-01", env=env)
    assert result.returncode == 2 and "the period is empty" in result.stderr
