"""Command-line tools: `flask --app grants demo`, `create-admin`, `reset-two-factor`, `audit`, `outbox`, `worker`."""

from __future__ import annotations

import click
from flask import Flask

from grants.audit import verifications
from grants.core import jobs
from grants.core.db import db, read_only
from grants.core.errors import UserInputError
from grants.core.roles import RoleCode
from grants.demo import load_demo
from grants.exports.services import requeue_stale
from grants.notifications.services import outbox_counts, send_pending
from grants.users.services import find_user_by_email, register_user
from grants.users.two_factor import remove_two_factor


def register_cli(app: Flask) -> None:
    @app.cli.command("demo")
    def demo_command():
        """Create the demo programme, calls, accounts and applications (idempotent)."""
        counts = load_demo()
        db.session.commit()
        click.echo(f"Demo ready: {counts['users']} accounts, {counts['organisations']} organisations, "
                   f"{counts['calls']} calls, {counts['applications']} applications. Password for every demo account: "
                   f"{app.config['DEMO_PASSWORD']}")

    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    @click.password_option()
    def create_admin_command(email: str, name: str, password: str):
        """Create an administrator account."""
        try:
            user = register_user(email=email, password=password, name=name, roles=(RoleCode.ADMIN,))
        except UserInputError as error:
            for field, messages in error.fields.items():
                click.echo(f"{field}: {' '.join(messages)}", err=True)
            raise SystemExit(1) from None
        db.session.commit()
        click.echo(f"Administrator {user.email} created.")

    @app.cli.command("reset-two-factor")
    @click.argument("email")
    @click.option("--reason", required=True, help="Why (kept in the audit trail).")
    def reset_two_factor_command(email: str, reason: str):
        """Turn off two-step sign-in of an account whose owner lost the device and the recovery codes
        (for the last administrator; others are reset on their page under /admin/people/). Audited."""
        user = find_user_by_email(email)
        if user is None:
            click.echo(f"No account with the e-mail address {email}.", err=True)
            raise SystemExit(1)
        if not remove_two_factor(user, None, comment=f"command line: {reason}"):
            click.echo(f"{user.email} has no two-step sign-in.")
            return
        db.session.commit()
        click.echo(f"Two-step sign-in of {user.email} is off; they set it up again at their next sign-in.")

    @app.cli.group("audit")
    def audit_group():
        """The audit trail."""

    @audit_group.command("verify")
    def audit_verify_command():
        """Recompute the audit hash chain, printing the progress; exit status 1 when it is broken.

        The run is kept with the others (the audit page shows the last one), made here whether or not
        Redis is configured."""
        run, _new = verifications.request_verification(None, "cli")
        db.session.commit()
        shown = {"percent": -1}

        def report(checked: int, total: int) -> None:
            percent = checked * 100 // total if total else 100
            if percent >= shown["percent"] + 5:  # about twenty lines however long the chain
                shown["percent"] = percent
                click.echo(f"checked {checked:,} of {total:,} events ({percent} %)", err=True)

        verifications.run_verification(run.id, report=report)
        db.session.expire_all()
        run = verifications.get_verification(run.id)
        if run.state != "done":
            click.echo(f"the verification did not finish: {run.error}", err=True)
            raise SystemExit(2)
        click.echo(f"events: {run.events_checked}\nhead: {run.head_hash}")
        if not run.valid:
            click.echo(f"INVALID: the first event that does not match is {run.first_invalid_id}", err=True)
            raise SystemExit(1)
        click.echo("valid")

    @app.cli.group("outbox")
    def outbox_group():
        """Notification messages waiting to be e-mailed."""

    @outbox_group.command("send")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000),
                  help="Send at most this many messages.")
    def outbox_send_command(limit: int):
        """Send due messages through SMTP (SMTP_HOST, SMTP_PORT); failed ones are retried later.

        Commits after each message, so one bad message neither blocks nor resends the others."""
        result = send_pending(limit=limit)
        click.echo(f"sent: {result.sent}, retried later: {result.retried}, given up: {result.failed}")

    @outbox_group.command("list")
    def outbox_list_command():
        """How many messages are waiting, sent and given up."""
        with read_only():
            counts = outbox_counts()
            db.session.rollback()
        click.echo(f"pending: {counts['pending']}\nsent: {counts['sent']}\nfailed: {counts['failed']}")

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
    def worker_command(burst: bool):
        """Run background jobs (exports, audit verifications) from Redis (GRANTS_REDIS_URL) until stopped.

        Exports whose worker died mid-way are queued again first, and made from the start."""
        if not jobs.is_configured():
            click.echo("Set GRANTS_REDIS_URL (for example redis://127.0.0.1:6379/0): without Redis the work runs "
                       "inline and no worker is needed.", err=True)
            raise SystemExit(1)
        again = requeue_stale()
        if again:
            click.echo(f"queued again: exports {', '.join(map(str, again))}")
        jobs.worker().work(burst=burst, with_scheduler=False)
