"""juicefs-guard: give an untrusted agent a JuiceFS volume, never its credentials."""

__version__ = "0.1.0"
