"""``python -m ecgsk.ui``: browse the tracked runs in the MLflow UI."""

import argparse
import signal
import sys

from .._argtypes import positive_seconds

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  python -m ecgsk.ui                                   # ./mlruns/mlflow.db on port 5000
  python -m ecgsk.ui --port 8080 --backend-store-uri sqlite:///runs/mlflow.db

Ctrl-C stops the server. The UI has no authentication and its REST API can
delete runs: it binds 127.0.0.1; reach it from another machine through an SSH
tunnel (ssh -L 5000:127.0.0.1:5000 host), or pass --host with --allow-remote.
"""


def build_parser():
    """The argument parser of ``python -m ecgsk.ui``."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgsk.ui",
        description="Start the MLflow UI on ecgsk's tracking store, lean (one worker, no\n"
                    "job runner) and local.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5000,
                        help="TCP port (5000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (127.0.0.1; others need --allow-remote)")
    parser.add_argument("--backend-store-uri", metavar="URI",
                        help="tracking store (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///mlruns/mlflow.db in the current directory)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the UI has no authentication)")
    parser.add_argument("--timeout", type=positive_seconds, default=120.0,
                        help="seconds to wait for the server to answer (120)")
    return parser


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Run the command line; return the exit status (0 after a clean stop, 2 on error).

    Serves until Ctrl-C, SIGTERM or SIGHUP, then stops the server. While it
    serves, these signals raise :class:`KeyboardInterrupt`; the handlers
    they had before are put back when it returns. Call it from the main
    thread, where Python lets a program set signal handlers.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 when the server was stopped by a signal, 2 when it could not be
        started or exited by itself.

    Raises
    ------
    SystemExit
        From :mod:`argparse`, for ``--help`` or arguments it cannot parse.
    """
    from ._server import UIError, is_loopback, start_ui

    args = build_parser().parse_args(argv)
    from ..tracking import mask_secrets  # mlflow: after --help, not before
    if args.allow_remote and not is_loopback(args.host):
        port = f"port {args.port}" if args.port else "the port it picks (--port 0)"
        print(f"warning: binding {args.host}: anyone who can reach this machine on {port} "
              "can read, change and delete your runs (the MLflow UI has no "
              "authentication). MLflow still refuses Host headers other than localhost and "
              "private addresses unless you run mlflow ui --allowed-hosts yourself.",
              file=sys.stderr)
    # Ctrl-C (even where a shell made background jobs ignore SIGINT), SIGTERM and SIGHUP
    # stop the server: it must never be left running orphaned.
    previous = {sig: signal.signal(sig, _raise_interrupt)
                for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
                if sig is not None}  # Windows has no SIGHUP
    server = None
    try:
        server = start_ui(args.backend_store_uri, host=args.host, port=args.port,
                          allow_remote=args.allow_remote, timeout=args.timeout)
        print(f"MLflow UI at {server.url}  (store: {mask_secrets(server.backend_store_uri)})"
              "\nCtrl-C stops it.", flush=True)
        if not args.allow_remote and "--allowed-hosts" not in list(server.process.args):
            # MLflow's own banner says "use --host 0.0.0.0 and configure --allowed-hosts",
            # flags of its command that this one refuses or does not take.
            print("note: MLflow's line on other hosts is about its own command; here, pass "
                  "--host with --allow-remote, or reach this one through an SSH tunnel.",
                  file=sys.stderr, flush=True)
        status = server.process.wait()
        print(f"error: mlflow ui exited with status {status}.", file=sys.stderr)
        return 2
    except UIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: stopping already
        if server is not None:
            server.stop()
        print("stopped the MLflow UI.", flush=True)
        return 0
    finally:
        if server is not None:
            server.stop()
        for sig, handler in previous.items():
            if handler is not None:  # None: set from C, not restorable from Python
                signal.signal(sig, handler)
