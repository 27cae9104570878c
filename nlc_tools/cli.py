"""The `nlc-api` command: local stack, publishing, provisioning and the
submission tools staff use by hand."""

from __future__ import annotations

import argparse
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

from chalicelib.settings import PROJECT_DIR, STAGES, Settings, apply_stage_environment

DEFAULT_CONTENT = PROJECT_DIR / "content"


class CommandError(Exception):
    """A failure to report on stderr with exit status 1, without a traceback."""

    output = ""  # what the command printed before it failed (see `run`)


def _stage_settings(args: argparse.Namespace) -> Settings:
    return apply_stage_environment(args.stage)


def _principal() -> str:
    """Who is publishing: the AWS principal, on this machine (STS
    GetCallerIdentity needs no permission)."""
    import socket

    from chalicelib import aws

    try:
        arn = aws.client("sts").get_caller_identity()["Arn"]
    except aws.errors() as error:
        arn = f"an unknown AWS principal ({aws.error_code(error)})"
    return f"{arn} on {socket.gethostname()}"


def _source_version(content: Path) -> str:
    """The content folder's git commit, and whether it has uncommitted
    changes; or that it is not a git checkout."""
    import subprocess

    def git(*command: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(content), *command], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return f"{content} (not a git checkout)"
    changes = git("status", "--porcelain", "--", ".")
    return f"git commit {commit}" + (" with uncommitted changes" if changes else "")


def cmd_publish(args: argparse.Namespace) -> None:
    from chalicelib import aws
    from chalicelib.content import publishing
    from chalicelib.content.lease import LeaseLost, PublishBusy
    from chalicelib.tables import content_table

    _stage_settings(args)
    content = Path(args.content)
    try:
        if args.rollback:
            publishing.rollback(report=print, origin=publishing.Origin(by=_principal()))
        elif args.dry_run:
            publishing.publish_directory(content, dry_run=True, report=print)
        else:
            origin = publishing.Origin(by=_principal(), source=_source_version(content))
            publishing.publish_directory(content, report=print, origin=origin)
    except (publishing.PublishError, LeaseLost) as error:
        raise CommandError(str(error)) from None
    except PublishBusy as error:
        raise CommandError(error.message) from None
    except Exception as error:
        if not isinstance(error, (*aws.errors(), content_table.UnprocessedWrites)):
            raise
        raise CommandError(
            f"the publish stopped part-way ({aws.error_code(error)}): publish again to finish it"
        ) from None


def cmd_status(args: argparse.Namespace) -> None:
    from chalicelib.content import publishing

    _stage_settings(args)
    found = publishing.status()
    if found["live"] is None:
        print(f"Stage {args.stage} has no recorded publish.")
    else:
        print(f"Stage {args.stage} serves {publishing.describe_release(found['live'])}.")
    if found["previous"] is not None:
        print(
            f"Before it (publish --rollback goes back to): {publishing.describe_release(found['previous'])}."
        )
    print(f"Publishing now: {found['publishing']}." if found["publishing"] else "No publish is running.")
    if found["dirty"]:
        print(
            "The bucket has changes the API does not serve yet (a publish failed, was refused "
            "or is running): publish again, or see the indexer's log."
        )


def cmd_provision(args: argparse.Namespace) -> None:
    from .provision import ProvisionError, provision

    try:
        provision(_stage_settings(args), report=print)
    except ProvisionError as error:
        raise CommandError(str(error)) from None


def cmd_cloudformation(args: argparse.Namespace) -> None:
    import json

    from .cloudformation import template

    print(json.dumps(template(_stage_settings(args)), indent=2))


def cmd_local(args: argparse.Namespace) -> None:
    from .local import run_local_stack

    run_local_stack(
        port=args.port,
        aws_endpoint=args.aws_endpoint,
        content_dir=Path(args.content),
        site_port=args.site_port,
    )


def cmd_retry(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.submissions import delivery, staff

    _stage_settings(args)
    if args.reference:
        try:
            found = staff.retry_submission(args.reference)
        except DomainError as error:
            raise CommandError(error.message) from None
        print(f"{found['reference']}: {found['status']}")
        return
    report = delivery.retry_pending(ignore_backoff=True)
    for status, references in (
        ("forwarded", report.forwarded),
        ("still failing, will try again", report.will_retry),
        ("failed for good", report.failed),
        ("being sent elsewhere, skipped", report.skipped),
    ):
        for reference in references:
            print(f"{reference}: {status}")
    print(report.summary())


def cmd_submissions(args: argparse.Namespace) -> None:
    import json

    from chalicelib.errors import DomainError
    from chalicelib.submissions import staff
    from chalicelib.submissions.submission import STATUSES

    _stage_settings(args)
    try:
        found = [
            submission
            for status in ([args.status] if args.status else STATUSES)
            for submission in staff.list_submissions(status)
        ]
    except DomainError as error:
        raise CommandError(error.message) from None
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for submission in found:
        print(
            f"{submission['reference']}  {submission['type']:<25}  {submission['status']:<9}  "
            f"{submission['created_at']}  attempts {submission['attempts']}"
            + (f"  last error {submission['last_error']}" if submission["last_error"] else "")
        )
    print(f"{len(found)} submission(s)" + (f" with status {args.status}." if args.status else "."))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlc-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def with_stage(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--stage", required=True, choices=STAGES)
        return sub

    local = commands.add_parser("local", help="run the whole stack on this machine")
    local.add_argument("--port", type=int, default=8000)
    local.add_argument("--aws-endpoint", help="use this running AWS emulator instead of starting one")
    local.add_argument("--content", default=str(DEFAULT_CONTENT))
    local.add_argument("--site-port", type=int, default=8080, help="port of the example website")
    local.set_defaults(handler=cmd_local)

    publish = with_stage(commands.add_parser("publish", help="validate and publish a content directory"))
    publish.add_argument("--content", default=str(DEFAULT_CONTENT))
    publish.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    publish.add_argument(
        "--rollback",
        action="store_true",
        help="publish again the set published before the live one, from the bucket's versions",
    )
    publish.set_defaults(handler=cmd_publish)

    status = with_stage(commands.add_parser("status", help="say what the stage serves and who published it"))
    status.set_defaults(handler=cmd_status)

    provision = with_stage(
        commands.add_parser("provision", help="create the stage's bucket, tables and sender")
    )
    provision.set_defaults(handler=cmd_provision)

    cloudformation = with_stage(
        commands.add_parser(
            "cloudformation", help="print the stage's bucket, tables and sender as a CloudFormation template"
        )
    )
    cloudformation.set_defaults(handler=cmd_cloudformation)

    retry = with_stage(
        commands.add_parser("retry", help="send every pending submission now, whatever its backoff")
    )
    retry.add_argument(
        "--reference", help="send this one submission, even if it failed for good or was taken for spam"
    )
    retry.set_defaults(handler=cmd_retry)

    listing = with_stage(commands.add_parser("submissions", help="list stored submissions, oldest first"))
    listing.add_argument("--status", help="only these: received, forwarded, failed or spam")
    listing.add_argument(
        "--json", action="store_true", help="print every stored field, personal data included"
    )
    listing.set_defaults(handler=cmd_submissions)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except CommandError as error:
        print(f"nlc-api {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


def run(argv: list[str]) -> str:
    """Run a command in this process and return what it printed (for tests);
    a failure raises CommandError, carrying the output in `.output`."""
    args = build_parser().parse_args(argv)
    output = io.StringIO()
    try:
        with redirect_stdout(output):
            args.handler(args)
    except CommandError as error:
        error.output = output.getvalue()
        raise
    return output.getvalue()


if __name__ == "__main__":
    sys.exit(main())
