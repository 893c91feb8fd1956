"""The recipe in deploy/ stays true to the program: its command lines parse with the real CLI, its settings load,
the migration runs before every role, and the ingest processes share one group.

Each command line runs through ``fridge-monitor``'s own click entry point as far as loading its settings (the
step that would start the role is replaced by a recorder), so an option that does not exist, or a role that reads
its settings differently, fails here. Secrets the recipe reads from files are given sample values.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from fridge_monitor.cli import admin, main, roles
from fridge_monitor.config import DEFAULT_SUBSCRIPTIONS, Config, load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS_FILE = DEPLOY / "fridge-monitor.toml"
UNITS = DEPLOY / "systemd"
# Where deploy/README.md has the files of deploy/ installed on a host.
INSTALLED = {
    "/etc/fridge-monitor/fridge-monitor.toml": SETTINGS_FILE,
    "/etc/fridge-monitor/fridge-monitor.env": UNITS / "fridge-monitor.env",
}
# What a secret file holds, by the setting it is read into.
SAMPLE_SECRETS = {
    "FRIDGE_MONITOR_DATABASE_URL": "postgresql://fridge:sample-password@db.internal:5432/fridge_monitor",
    "FRIDGE_MONITOR_MQTT_PASSWORD": "sample-password",
    "FRIDGE_MONITOR_WEB_SECRET_KEY": "sample-session-key-" + "x" * 40,
}


class Loaded(Exception):
    """Raised where the command would have started its role."""


@dataclass
class Invocation:
    command: str  # e.g. "fridge-monitor db upgrade"
    config_path: str | None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def invoke(argv: list[str], env: dict[str, str]) -> Invocation:
    """Run ``fridge-monitor ARGV`` with the environment ``env`` until it loads its settings."""
    seen: list[Invocation] = []

    def record(ctx: Any, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
        seen.append(Invocation(ctx.command_path, ctx.obj["config_path"], overrides or {}))
        raise Loaded

    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("FRIDGE_MONITOR_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(roles, "load", record)
        patch.setattr(admin, "load", record)
        with pytest.raises(Loaded):
            main.main(args=argv, prog_name="fridge-monitor", standalone_mode=False)
    assert len(seen) == 1
    return seen[0]


def settings(invocation: Invocation, env: dict[str, str], files: dict[str, Path]) -> Config:
    """The settings the process would run with: its file (found where the recipe puts it), env and options."""
    assert invocation.config_path in files, f"{invocation.command}: settings file {invocation.config_path} is not " \
        "one the recipe provides"
    return load_config(files[invocation.config_path], environ=env, overrides=invocation.overrides)


def secret_files(env: dict[str, str], where: Path, secret_dir: Path) -> dict[str, str]:
    """``env`` with each ``$file:`` under ``where`` moved to ``secret_dir``, holding a sample of that setting."""
    resolved = dict(env)
    for name, value in env.items():
        if value.startswith("$file:"):
            path = Path(value.removeprefix("$file:"))
            assert path.parent == where, f"{name} reads {path}, outside {where}"
            assert name in SAMPLE_SECRETS, f"{name} is read from a file: give it a sample in SAMPLE_SECRETS"
            (secret_dir / path.name).write_text(SAMPLE_SECRETS[name] + "\n")
            resolved[name] = f"$file:{secret_dir / path.name}"
    return resolved


# -- compose.yaml ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def fridge_monitor_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    image = compose["x-fridge-monitor"]["image"]
    return {name: s for name, s in compose["services"].items() if s.get("image") == image}


def container_value(text: str) -> str:
    """What a container sees of an environment value: compose reads "$$" as a literal "$"."""
    assert "$" not in text.replace("$$", ""), f"{text!r} would be interpolated by compose"
    return text.replace("$$", "$")


def mounted_files(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> the file of deploy/ mounted there."""
    files = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            files[target] = DEPLOY / source
    return files


def compose_settings(name: str, service: dict[str, Any], compose: dict[str, Any],
                     secret_dir: Path) -> tuple[Invocation, Config]:
    env = {k: container_value(str(v)) for k, v in service["environment"].items()}
    for ref in [v for v in env.values() if v.startswith("$file:/run/secrets/")]:
        secret = Path(ref).name
        assert secret in service.get("secrets", []), f"{name} reads secret {secret} it is not given"
        assert secret in compose["secrets"], f"{name}: secret {secret} is not defined"
    invocation = invoke([*service["entrypoint"], *service["command"]][1:], env)
    env = secret_files(env, Path("/run/secrets"), secret_dir)
    return invocation, settings(invocation, env, mounted_files(service))


def test_compose_commands_parse_and_their_settings_load(compose, tmp_path):
    services = fridge_monitor_services(compose)
    assert {name: s["entrypoint"] for name, s in services.items()} == {name: ["fridge-monitor"] for name in services}
    commands = {name: compose_settings(name, s, compose, tmp_path)[0].command for name, s in services.items()}
    assert sorted(commands.values()) == sorted(
        ["fridge-monitor db upgrade"] + ["fridge-monitor ingest"] * 2 + ["fridge-monitor web"] * 2
        + ["fridge-monitor scheduler"] * 2)


def test_compose_runs_the_migration_first(compose):
    services = fridge_monitor_services(compose)
    migrations = [n for n, s in services.items() if s["command"] == ["db", "upgrade"]]
    assert migrations == ["migrate"]
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name, service in services.items():
        if name != "migrate":
            assert service.get("depends_on", {}).get("migrate") == {"condition": "service_completed_successfully"}, \
                f"{name} does not wait for the migration"


def test_compose_ingest_processes_share_one_group(compose, tmp_path):
    ingest = {name: compose_settings(name, s, compose, tmp_path)[1]
              for name, s in fridge_monitor_services(compose).items() if s["command"][0] == "ingest"}
    assert len(ingest) >= 2
    groups = {config.ingest["shared_group"] for config in ingest.values()}
    assert len(groups) == 1 and "" not in groups
    client_ids = [config.mqtt["client_id"] for config in ingest.values()]
    assert len(set(client_ids)) == len(client_ids)
    assert "fridge-monitor-ingest" not in client_ids  # the default, which two processes would share


def test_compose_brokers_are_one_cluster_behind_the_configured_name(compose):
    settings_host = load_config(SETTINGS_FILE, environ={}).mqtt["url"].split("//")[1].split(":")[0]
    nodes = {name: s for name, s in compose["services"].items() if s.get("image", "").startswith("emqx/")}
    assert len(nodes) == 2
    seeds = compose["x-emqx-env"]["EMQX_CLUSTER__STATIC__SEEDS"]
    for node in nodes.values():
        assert settings_host in node["networks"]["backend"]["aliases"]
        assert node["environment"]["EMQX_NODE__NAME"] in seeds


def test_nginx_upstream_is_every_compose_web_process(compose, tmp_path):
    webs = {name: compose_settings(name, s, compose, tmp_path)[1]
            for name, s in fridge_monitor_services(compose).items() if s["command"] == ["web"]}
    assert len(webs) >= 2
    upstream = re.search(r"upstream fridge_monitor_web \{(.*?)\}", (DEPLOY / "nginx.conf").read_text(), re.S)
    assert upstream is not None
    servers = re.findall(r"^\s*server\s+(\S+?)(?:\s|;)", upstream.group(1), re.M)
    assert sorted(servers) == sorted(f"{name}:{config.web['port']}" for name, config in webs.items())
    assert all(config.web["https"] for config in webs.values())  # nginx terminates TLS


# -- systemd units ---------------------------------------------------------------------------------------------

def unit_entries(name: str) -> dict[str, list[str]]:
    """``Section.Key`` -> its values in order."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{name}: continued lines are not read by this test"
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key}", []).append(value)
    return entries


def environment_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip().removeprefix("'").removesuffix("'")
    return env


@dataclass
class Unit:
    entries: dict[str, list[str]]
    invocation: Invocation
    config: Config


def unit_settings(name: str, instance: str, tmp_path: Path) -> Unit:
    """The unit ``name`` started as ``instance``: its command line parsed, its settings loaded."""
    entries = unit_entries(name)
    credentials = tmp_path / f"credentials-{name}-{instance}"
    credentials.mkdir()

    def expand(value: str) -> str:
        value = value.replace("%i", instance).replace("%d", str(credentials))
        assert not re.search(r"%[A-Za-z]", value), f"{name}: a specifier this test does not know in {value!r}"
        return value

    env = dict(expand(v).split("=", 1) for v in entries.get("Service.Environment", []))
    for path in entries["Service.EnvironmentFile"]:
        env.update(environment_file(INSTALLED[path.removeprefix("-")]))  # the file wins over Environment=
    declared = {v.split(":", 1)[0] for v in entries.get("Service.LoadCredential", [])}
    used = {Path(v.removeprefix("$file:")).name for v in env.values() if v.startswith(f"$file:{credentials}/")}
    assert used <= declared, f"{name} reads credentials it does not load: {used - declared}"
    argv = shlex.split(expand(entries["Service.ExecStart"][0]))
    assert argv[0] == "/opt/fridge-monitor/bin/fridge-monitor"
    invocation = invoke(argv[1:], env)
    return Unit(entries, invocation, settings(invocation, secret_files(env, credentials, credentials), INSTALLED))


ROLE_UNITS = {
    "fridge-monitor-ingest@.service": ("fridge-monitor ingest", "1"),
    "fridge-monitor-web@.service": ("fridge-monitor web", "8001"),
    "fridge-monitor-scheduler.service": ("fridge-monitor scheduler", ""),
    "fridge-monitor-migrate.service": ("fridge-monitor db upgrade", ""),
}


@pytest.mark.parametrize("name", sorted(ROLE_UNITS))
def test_unit_command_parses_and_its_settings_load(name, tmp_path):
    command, instance = ROLE_UNITS[name]
    unit = unit_settings(name, instance, tmp_path)
    assert unit.invocation.command == command
    service = unit.entries
    assert service["Service.User"] == ["fridge-monitor"]
    assert service["Service.EnvironmentFile"] == ["/etc/fridge-monitor/fridge-monitor.env"]
    assert service["Service.NoNewPrivileges"] == ["yes"]
    assert service["Service.ProtectSystem"] == ["strict"]
    if name == "fridge-monitor-migrate.service":
        assert service["Service.Type"] == ["oneshot"]
    else:
        assert service["Service.Restart"] == ["always"]
        assert "fridge-monitor-migrate.service" in service["Unit.After"][0].split()


def test_unit_instances_differ_where_they_must(tmp_path):
    ingest = [unit_settings("fridge-monitor-ingest@.service", n, tmp_path).config for n in ("1", "2")]
    assert ingest[0].ingest["shared_group"] == ingest[1].ingest["shared_group"] != ""
    assert ingest[0].mqtt["client_id"] != ingest[1].mqtt["client_id"]
    web = unit_settings("fridge-monitor-web@.service", "8002", tmp_path).config
    assert web.web["port"] == 8002


def test_units_are_installed_under_the_target():
    for name in ROLE_UNITS:
        assert unit_entries(name)["Install.WantedBy"] == ["fridge-monitor.target"]
    assert unit_entries("fridge-monitor.target")["Install.WantedBy"] == ["multi-user.target"]


# -- broker access ---------------------------------------------------------------------------------------------

def test_emqx_acl_lets_ingest_read_every_default_subscription():
    acl = (DEPLOY / "emqx" / "acl.conf").read_text()
    rule = re.search(r'\{allow, \{username, "fm-ingest"\}, subscribe,\s*\[(.*?)\]\}\.', acl, re.S)
    assert rule is not None
    assert set(re.findall(r'"([^"]+)"', rule.group(1))) == {topic for topic, _ in DEFAULT_SUBSCRIPTIONS}


def test_mosquitto_acl_lets_fridge_monitor_read_every_default_subscription():
    acl = (DEPLOY / "mosquitto.acl").read_text()
    block = acl.split("\nuser fridge-monitor\n", 1)[1].split("\nuser ", 1)[0]
    readable = set(re.findall(r"^topic read (\S+)$", block, re.M))
    assert "topic readwrite fridge-monitor/#" in block
    missing = {t for t, _ in DEFAULT_SUBSCRIPTIONS if t not in readable and not t.startswith("fridge-monitor/")}
    assert not missing, f"deploy/mosquitto.acl does not let Fridge Monitor read {sorted(missing)}"
