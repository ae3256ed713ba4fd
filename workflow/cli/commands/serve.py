"""``campaign serve``: the pages and the JSON API, for people who will not
open a terminal (see :mod:`workflow.web`)."""

from __future__ import annotations

import os

import click

from workflow.cli.common import Env, pass_env


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface of the intranet host).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (on PostgreSQL; SQLite serves one unit with one).")
@pass_env
def serve(env: Env, host: str, port: int, workers: int) -> None:
    """Serve the campaign in a browser: sign in, inbox, review, dashboard, notices."""
    import uvicorn

    from workflow.web.settings import WebSettings

    # Checked here, so a wrong --db or setting is one line and exit code, not a
    # worker's traceback.
    WebSettings.from_env(env.db)
    env.campaign.accounts.cookie_key()
    if env.db:
        os.environ["CAMPAIGN_DB"] = env.db  # the workers open the same database
    click.echo(f"serving on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run("workflow.web.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="warning", proxy_headers=False)


COMMANDS = (serve,)
