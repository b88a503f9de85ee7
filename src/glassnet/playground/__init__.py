"""glassnet playground: watch a network learn in the browser, trained by glassnet itself.

``glassnet playground`` starts the local web app (``app``, needs ``glassnet[playground]``:
Starlette and uvicorn). The rest is NumPy and glassnet: ``settings`` (what the page controls),
``data`` (the 2-D problems and input features), ``session`` (the training thread and its
frames), ``codegen`` (the script that trains the same network).
"""

from __future__ import annotations

import sys

__all__ = ["serve"]


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True,
          settings=None) -> None:
    """Run the playground at ``http://host:port/`` until interrupted."""
    try:
        import uvicorn

        from .app import create_app
    except ImportError as error:
        raise ImportError(f"the playground needs its extra ({error.name} is missing): "
                          "pip install 'glassnet[playground]'") from None
    app = create_app(settings, hosts=[host])
    # A page's frame stream never ends by itself: on Ctrl-C or SIGTERM, close open connections
    # after 2 s rather than wait for every tab to go.
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    # The training threads hold the GIL between NumPy calls; Python hands it over every 5 ms
    # by default, so a click waited several of those turns for its answer. This process is the
    # playground's own: a 1 ms turn lets the server answer sooner.
    sys.setswitchinterval(0.001)
    if open_browser:
        import threading
        import webbrowser

        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"

        def opener():
            # Once the server listens: a page opened earlier would find nothing.
            import time

            for _ in range(100):
                if server.started:
                    webbrowser.open(url)
                    return
                time.sleep(0.05)

        threading.Thread(target=opener, daemon=True).start()
    server.run()
