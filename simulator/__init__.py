"""An offline stand-in for Aculab Cloud's messaging web services.

It follows ``shared/reference/aculab-messaging-web-services.txt``: msg_send,
msg_cancel, msg_status and msg_list_blocked over GET/POST with basic auth,
carrier-like splitting into parts, status notifications to ``status_page``,
inbound messages with STOP/START/HELP handling, and fault controls under
``/_sim/``. Run it with ``python -m simulator``.
"""

from simulator.core import SimConfig, SimulatorState
from simulator.server import SimulatorServer, serve, stop

__all__ = ["SimConfig", "SimulatorServer", "SimulatorState", "serve", "stop"]
