"""Configuration: settings in layers (defaults, TOML file, environment) and declarations.

- :mod:`.settings`: the typed settings, their layers, :class:`Config`.
- :mod:`.section_checks`: each section's checks beyond the types.
- :mod:`.declarations`: subscriptions, sites, fridges and alarm profiles.
- :mod:`.alert_channels`: where alert notifications go.
- :mod:`.errors`: the one-line :class:`ConfigError` and shared checks.
- :mod:`.redact`: hides credentials in every message and log line.
"""

from fridge_monitor.config.alert_channels import (
    CHANNEL_KEYS,
    CHANNEL_SECRETS,
    ChannelDecl,
)
from fridge_monitor.config.declarations import (
    DEFAULT_ALARM_PROFILES,
    DEFAULT_SUBSCRIPTIONS,
    FRIDGE_KINDS,
    FridgeDecl,
    SiteDecl,
    Subscription,
)
from fridge_monitor.config.errors import ConfigError
from fridge_monitor.config.redact import redact, redact_log_handlers
from fridge_monitor.config.section_checks import CHOICES
from fridge_monitor.config.settings import (
    CONFIG_ENV,
    ENV_PREFIX,
    SETTINGS,
    Config,
    build_config,
    load_config,
)

__all__ = [
    "CHANNEL_KEYS", "CHANNEL_SECRETS", "CHOICES", "CONFIG_ENV", "DEFAULT_ALARM_PROFILES", "DEFAULT_SUBSCRIPTIONS",
    "ENV_PREFIX", "FRIDGE_KINDS", "SETTINGS", "ChannelDecl", "Config", "ConfigError", "FridgeDecl", "SiteDecl",
    "Subscription", "build_config", "load_config", "redact", "redact_log_handlers",
]
