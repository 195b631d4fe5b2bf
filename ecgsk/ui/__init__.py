"""Browse tracked runs: ``python -m ecgsk.ui`` starts the MLflow UI on ecgsk's store.

``python -m ecgsk.ui [--port 5000] [--backend-store-uri URI] [--host
127.0.0.1]`` runs ``mlflow ui`` against the project's default store
(:func:`ecgsk.tracking.default_tracking_uri`: ``$MLFLOW_TRACKING_URI``, else
``sqlite:///mlruns/mlflow.db`` in the current directory), lean (one worker,
``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``: MLflow's defaults start about
15 processes), waits until it answers, prints its address and stops it,
with every process it started, on Ctrl-C (or SIGTERM); on Linux the server
also ends if the wrapper is killed (even by SIGKILL). It binds the loopback
interface: the UI has no authentication and its REST API can delete runs,
so another host is refused unless ``--allow-remote`` is given (with a
warning).

Examples
--------
>>> from ecgsk.ui import start_ui                                        # doctest: +SKIP
>>> server = start_ui(port=0)                                            # doctest: +SKIP
>>> print(server.url)                                                    # doctest: +SKIP
http://127.0.0.1:40521
>>> server.stop()                                                        # doctest: +SKIP
"""

from ._cli import build_parser, main
from ._server import LEAN_ENV, UIError, UIServer, free_port, is_loopback, start_ui, ui_command

__all__ = [
    "start_ui",
    "UIServer",
    "UIError",
    "ui_command",
    "is_loopback",
    "free_port",
    "LEAN_ENV",
    "main",
    "build_parser",
]
