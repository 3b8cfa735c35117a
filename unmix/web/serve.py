"""``unmix-serve`` / ``python3 -m unmix.web``: serve the separation page on this machine.

The server listens on 127.0.0.1 (this machine only) unless ``--host`` says otherwise; any other
address lets whoever reaches it upload files and spend this machine's CPU, so it is warned
about on one line. On loopback, requests must also name a loopback host, which keeps web pages
from other sites out (DNS rebinding).

Exit codes: 0 stopped (Ctrl-C); 1 the port is in use (or not permitted), or another server has
the working folder; 2 a bad flag, ``--host`` that is no address of this machine among them. Each
error is one line, before the address is printed or any job is touched.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import socket
import sys
from pathlib import Path

from unmix.cli import options
from unmix.cli.common import EXIT_OK, add_logging_flags, guarded, set_tensorflow_log_level
from unmix.errors import ConfigurationError, UnmixError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unmix-serve", description="Serve a local web page that separates songs into vocals and instrumental.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--workingdir", default="unmix-web", help="folder of the jobs: uploads, stems, pictures (default: ./%(default)s)")
    parser.add_argument("--max_upload_mb", type=float, default=500, help="largest upload accepted, in megabytes (default: %(default)s)")
    parser.add_argument("--model", metavar="NAME", help="the model the page preselects (default: the best built-in model installed)")
    add_logging_flags(parser)
    return parser


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (localhost or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


NUMERIC_FLAGS = ("--port", "--max_upload_mb")


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options.check_numbers(args, *NUMERIC_FLAGS)
    except ConfigurationError as error:
        parser.error(str(error))
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    return guarded(lambda: _serve(args), verbose=args.verbose)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, for uvicorn to serve on.

    Bound here, before the working folder is touched or the address is printed: uvicorn binds
    only once it starts, and on a port in use it printed its own error and exited 3 after
    unmix-serve had already said "open http://…" (the other server's address).

    Raises:
        ConfigurationError: ``host`` is no address of this machine (exit 2).
        UnmixError: the port is in use or not permitted (exit 1).
    """
    name = host.strip("[]")
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise ConfigurationError(f"--host {host}: no such address ({getattr(error, 'strerror', None) or error}); pass an address of this machine, e.g. 127.0.0.1") from None
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait for TIME_WAIT
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRNOTAVAIL:
            raise ConfigurationError(f"--host {host}: not an address of this machine ({error.strerror}); pass one of its addresses, e.g. 127.0.0.1") from None
        if error.errno == errno.EADDRINUSE:
            raise UnmixError(f"cannot listen on {host}:{port}: the port is in use (another server?); stop what uses it, or pass --port with a free one") from None
        raise UnmixError(f"cannot listen on {host}:{port}: {error.strerror}; pass --port with another port (1024 or above needs no privileges)") from None
    return listener


def run_server(app, listener: socket.socket, *, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn on the bound ``listener`` until Ctrl-C (``host`` and ``port`` are for its messages)."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run(sockets=[listener])


def _serve(args: argparse.Namespace) -> int:
    from unmix.web.app import create_app

    loopback = is_loopback(args.host)
    shown = f"[{args.host.strip('[]')}]" if ":" in args.host else args.host
    with listening_socket(args.host, args.port) as listener:
        app = create_app(
            Path(args.workingdir), max_upload_mb=args.max_upload_mb, default_model=args.model,
            allowed_hosts=LOOPBACK_NAMES if loopback else None, holder=f"unmix-serve (pid {os.getpid()}) at http://{shown}:{args.port}/",
        )  # fmt: skip
        if not loopback:
            sys.stderr.write(f"warning: --host {args.host} is not a loopback address: anyone who can reach this machine on port {args.port} can upload files and use its CPU\n")
        sys.stdout.write(f"unmix: open http://{shown}:{args.port}/ (jobs in {args.workingdir}; Ctrl-C stops, unfinished jobs resume at the next start)\n")
        sys.stdout.flush()
        try:
            run_server(app, listener, host=args.host, port=args.port)
        finally:
            app.state.store.close()  # also when the server never started its lifespan
    return EXIT_OK
