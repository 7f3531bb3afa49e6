"""The errors rnnlab expects: bad input or a bad environment, never a bug.

The command line prints any ``RnnlabError`` as one line ``rnnlab: error: ...`` and exits
with a non-zero code; every other exception is a bug and keeps its traceback. Each
message names what to fix: the file (and line or key), the option, or the run directory.
``RNNLAB_DEBUG=1`` shows the traceback of an ``RnnlabError`` too.
"""

from __future__ import annotations


class RnnlabError(Exception):
    """An expected failure, reported in one line that names the file, option or directory."""


class ConfigError(RnnlabError, ValueError):
    """An option that does not exist, has the wrong type or an invalid value."""


class CheckpointError(RnnlabError, ValueError):
    """A checkpoint that is missing, truncated, corrupted, forged or for another task or model."""


class RunDirError(RnnlabError):
    """A run directory that cannot be used: in use by another process, not empty, not writable."""


class CommandError(RnnlabError):
    """A command-line request that cannot be carried out as given."""
