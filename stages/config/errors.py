"""The one error a config raises."""


class ConfigError(ValueError):
    """A config value or key is wrong; the message names the key."""
