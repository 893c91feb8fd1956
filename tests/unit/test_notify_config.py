"""[[alerts.channels]]: declarations, defaults, secrets and one-line errors naming channel and key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fridge_monitor.alerts.notify import (
    AppriseChannel,
    EmailChannel,
    MqttChannel,
    WebhookChannel,
    build_channel,
    retry_delay,
)
from fridge_monitor.config import ChannelDecl, ConfigError, build_config


def channels(*tables: dict, extra: dict | None = None) -> tuple[ChannelDecl, ...]:
    return build_config({"alerts": {"channels": list(tables), **(extra or {})}}, {}, {}, "test.toml").channels


def test_no_channels_by_default():
    assert build_config({}, {}, {}, "test.toml").channels == ()


def test_the_issue_example_with_defaults_filled_in():
    email, hook = channels(
        {"name": "ward-email", "type": "email", "to": ["nurses@clinic.example"], "tier": 1},
        {"name": "coordinator-hook", "type": "webhook", "url": "http://127.0.0.1:9000/hook", "tier": 2},
    )
    assert email == ChannelDecl("ward-email", "email", 1, {
        "to": ["nurses@clinic.example"], "from": "fridge-monitor@localhost", "smtp_host": "localhost",
        "smtp_port": 25, "smtp_username": "", "smtp_password": "", "starttls": False, "timeout_s": 10.0,
    })
    assert hook == ChannelDecl("coordinator-hook", "webhook", 2,
                               {"url": "http://127.0.0.1:9000/hook", "secret": "", "timeout_s": 10.0})


def test_every_type_builds_its_channel():
    decls = channels(
        {"name": "e", "type": "email", "to": ["a@b.example"], "from": "fm@b.example", "smtp_host": "mail",
         "smtp_port": 587, "starttls": True, "timeout_s": 5},
        {"name": "w", "type": "webhook", "url": "https://hooks.example/x", "secret": "k", "tier": 3},
        {"name": "m", "type": "mqtt"},
        {"name": "a", "type": "apprise", "urls": ["json://127.0.0.1:9/x"]},
    )
    mqtt_settings = build_config({}, {}, {}, "t").mqtt
    email, hook, mqtt, chat = (build_channel(d, mqtt_settings) for d in decls)
    assert isinstance(email, EmailChannel)
    assert (email.host, email.port, email.starttls, email.timeout_s, email.sender) == (
        "mail", 587, True, 5.0, "fm@b.example")
    assert isinstance(hook, WebhookChannel) and (hook.secret, hook.tier) == ("k", 3)
    assert isinstance(mqtt, MqttChannel) and mqtt.topic_prefix == "fridge-monitor/alerts"
    assert isinstance(chat, AppriseChannel) and chat.urls == ["json://127.0.0.1:9/x"]


def test_secrets_come_from_env_and_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "pw-from-env")
    (tmp_path / "hook").write_text("hook-secret\n")
    monkeypatch.setenv("CHAT_URL", "json://127.0.0.1:9/token")
    email, hook, chat = channels(
        {"name": "e", "type": "email", "to": ["a@b.example"], "smtp_username": "fm", "smtp_password": "$env:SMTP_PW"},
        {"name": "w", "type": "webhook", "url": "http://h/x", "secret": f"$file:{tmp_path / 'hook'}"},
        {"name": "a", "type": "apprise", "urls": ["$env:CHAT_URL"]},
    )
    assert email.options["smtp_password"] == "pw-from-env"
    assert hook.options["secret"] == "hook-secret"
    assert chat.options["urls"] == ["json://127.0.0.1:9/token"]


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ([{"type": "email"}], "test.toml: [[alerts.channels]] #1 needs a name"),
        ([{"name": "x", "type": "sms"}], "channel 'x': type must be one of email, webhook, mqtt, apprise, not 'sms'"),
        ([{"name": "x", "type": "mqtt"}, {"name": "x", "type": "mqtt"}], "channel 'x' is declared twice"),
        ([{"name": "x", "type": "mqtt", "tier": 0}], "channel 'x': tier must be a whole number of at least 1, not 0"),
        ([{"name": "x", "type": "mqtt", "tier": "2"}], "channel 'x': tier must be a whole number"),
        ([{"name": "x", "type": "mqtt", "url": "http://h"}], "channel 'x': unknown key 'url'"),
        ([{"name": "x", "type": "email"}], "channel 'x': to is required"),
        ([{"name": "x", "type": "email", "to": []}], "channel 'x': to must be a non-empty list of strings"),
        ([{"name": "x", "type": "email", "to": "a@b"}], "channel 'x': to must be a non-empty list of strings"),
        ([{"name": "x", "type": "email", "to": ["nurses"]}], "channel 'x': 'nurses' is not an e-mail address"),
        ([{"name": "x", "type": "email", "to": ["a@b"], "smtp_port": 70000}], "channel 'x': smtp_port must be a port"),
        ([{"name": "x", "type": "email", "to": ["a@b"], "starttls": "yes"}],
         "channel 'x': starttls must be true or false"),
        ([{"name": "x", "type": "email", "to": ["a@b"], "smtp_password": "$env:NOT_SET_ANYWHERE"}],
         "channel 'x': smtp_password refers to environment variable NOT_SET_ANYWHERE, which is not set"),
        ([{"name": "x", "type": "webhook"}], "channel 'x': url is required"),
        ([{"name": "x", "type": "webhook", "url": "ftp://h/x"}], "channel 'x': url must look like http://HOST/PATH"),
        ([{"name": "x", "type": "webhook", "url": "http://h", "timeout_s": 0}],
         "channel 'x': timeout_s must be a number greater than 0, not 0"),
        ([{"name": "x", "type": "webhook", "url": "http://h", "secret": 5}], "channel 'x': secret must be a string"),
        ([{"name": "x", "type": "mqtt", "topic_prefix": "alerts/#"}], "channel 'x': topic_prefix must be a topic"),
        ([{"name": "x", "type": "mqtt", "topic_prefix": "alerts/"}], "channel 'x': topic_prefix must be a topic"),
        ([{"name": "x", "type": "apprise", "urls": ["token-only"]}],
         "channel 'x': urls entry #1 is not an apprise URL"),
    ],
)
def test_bad_channels_fail_with_one_line_naming_channel_and_key(tables, message):
    with pytest.raises(ConfigError) as info:
        channels(*tables)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_channel_may_be_scoped_to_declared_sites():
    sites = {"sites": [{"name": "North", "timezone": "UTC"}, {"name": "South", "timezone": "UTC"}]}
    made = build_config({**sites, "alerts": {"channels": [
        {"name": "north-hook", "type": "webhook", "url": "http://h/n", "sites": ["North"]},
        {"name": "all-hook", "type": "webhook", "url": "http://h/a"}]}}, {}, {}, "test.toml").channels
    assert [(c.name, c.sites) for c in made] == [("north-hook", ("North",)), ("all-hook", ())]
    with pytest.raises(ConfigError, match="channel 'x': site 'Nort' is not declared in \\[\\[sites\\]\\]"):
        build_config({**sites, "alerts": {"channels": [{"name": "x", "type": "mqtt", "sites": ["Nort"]}]}},
                     {}, {}, "test.toml")
    with pytest.raises(ConfigError, match="channel 'x': sites must be a list of site names"):
        channels({"name": "x", "type": "mqtt", "sites": "North"})


def test_channels_must_be_an_array_of_tables():
    with pytest.raises(ConfigError, match=r"alerts.channels must be an array of tables \(\[\[alerts.channels\]\]\)"):
        build_config({"alerts": {"channels": {"name": "x"}}}, {}, {}, "test.toml")


def test_retry_backs_off_exponentially_up_to_15_minutes():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 900, 900, 900]
    assert retry_delay(10_000) == timedelta(minutes=15)
    with pytest.raises(ValueError, match="attempt counts from 1"):
        retry_delay(0)


def test_the_example_config_documents_every_channel_key():
    from pathlib import Path

    from fridge_monitor.config import CHANNEL_KEYS

    text = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text()
    section = text[text.index("# Where alert notifications go."):]
    for kind, keys in CHANNEL_KEYS.items():
        assert f"#   {kind}:" in section
        for key in keys:
            assert key in section, f"config.example.toml does not document the {kind} channel key {key}"
