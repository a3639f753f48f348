"""A port for a test's ``serve`` that no one else takes meanwhile."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port for ``serve`` (which takes no port 0) that the system hands no one else meanwhile. A port merely
    found free could be taken, in the seconds before ``serve`` bound it, by another test's server or connection
    (``serve`` then died "port in use" and the test asked whoever held the port). Here the port's server side of a
    connection to itself closes first, so the port stays in TIME_WAIT for a minute: the system skips it when it
    picks a port (bind to port 0, connect), and binding it without SO_REUSEADDR fails, while ``serve`` (which sets
    SO_REUSEADDR, as uvicorn) may bind it."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = listener.accept()
            accepted.close()  # closed first: this end, bound to the port, is the one left in TIME_WAIT
    return port
