"""Run localstripe, the fake Stripe API used by ``make run``, CI and the tests, on loopback.

    python -m billing.localstripe_server --port 8421
    python -m billing.localstripe_server --port 8421 --register-webhook URL

The first form serves; the second tells the one already serving on that port to send its
signed webhooks to URL, with STRIPE_WEBHOOK_SECRET (POST /_config/webhooks/<id>), and exits.

localstripe's own ``localstripe`` command listens on every interface; this runner binds
127.0.0.1 only. It is a development tool: production talks to Stripe itself.

localstripe pickles its whole store to a fixed file in the system temp folder after every
change. Every instance on the machine (``make run``, a CI run, a test session) would then
write the same file, and each write grows with the store; nothing here ever reads it back
(every start is from scratch), so the write is turned off.
"""

import argparse
import json
import os
import socket
import time
import urllib.request

from aiohttp import web

HOST = "127.0.0.1"


def serve(port: int) -> None:
    import localstripe.resources  # noqa: PLC0415 - dev-only dependency
    import localstripe.server  # noqa: PLC0415 - dev-only dependency

    localstripe.resources.Store.dump_to_disk = lambda self: None
    web.run_app(localstripe.server.app, host=HOST, port=port, print=None)


def register_webhook(port: int, url: str, secret: str, *, wait: float = 20.0) -> None:
    deadline = time.monotonic() + wait
    while True:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                break
        if time.monotonic() > deadline:
            raise SystemExit(f"localstripe is not listening on {HOST}:{port}")
        time.sleep(0.1)
    request = urllib.request.Request(
        f"http://{HOST}:{port}/_config/webhooks/portal",
        data=json.dumps({"url": url, "secret": secret}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - http://127.0.0.1 only
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="localstripe on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--register-webhook", metavar="URL", default="")
    args = parser.parse_args(argv)
    if args.register_webhook:
        secret = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
        if not secret:
            raise SystemExit("STRIPE_WEBHOOK_SECRET is not set")
        register_webhook(args.port, args.register_webhook, secret)
        return
    serve(args.port)


if __name__ == "__main__":
    main()
