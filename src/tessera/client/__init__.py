"""The researcher's SDK: `Client` logs in, proposes studies, submits analyses, gets results."""

from tessera.client.client import Client, TaskFailed
from tessera.protocol.connection import HubError

__all__ = ["Client", "HubError", "TaskFailed"]
