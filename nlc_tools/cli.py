"""The nlc-api command: the local stack, publishing, provisioning, and the
submission tools staff use by hand.

Results go to stdout; log lines (JSON) and problems to stderr. An expected
failure (bad content, AWS out of reach, a busy port) is one line on stderr
and exit status 1; a usage error is exit status 2.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.settings import PROJECT_DIR, STAGES, Settings, apply_stage_environment

if TYPE_CHECKING:
    from .check import Checked

DEFAULT_CONTENT = PROJECT_DIR / "content"
DESCRIPTION = (
    "The National Leadership Centre API's tools: run the whole stack on this machine, "
    "check and publish content, provision a stage, and list or resend form submissions."
)


class CommandError(Exception):
    """A failure to report on stderr with exit status 1, without a traceback."""

    output = ""  # what the command printed before it failed (see `run`)


def _stage_settings(args: argparse.Namespace) -> Settings:
    """The stage's settings; for the local stage, AWS is the running local
    stack's emulator, found through its state file (`run`, in-process, uses
    the AWS this process already has)."""
    if args.stage == "local" and args.find_local_stack:
        from .local import LocalStackError, connect_to_local_stack

        try:
            connect_to_local_stack()
        except LocalStackError as error:
            raise CommandError(str(error)) from None
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
    from chalicelib.content.publishing import publish
    from chalicelib.tables import content_table

    if args.dry_run and not args.rollback:
        _dry_run(args)
        return
    _stage_settings(args)
    content = Path(args.content)
    try:
        if args.rollback:
            publish.rollback(report=print, origin=publish.Origin(by=_principal()))
        else:
            origin = publish.Origin(by=_principal(), source=_source_version(content))
            publish.publish_directory(content, report=print, origin=origin)
    except Exception as error:
        if not isinstance(error, (*aws.errors(), content_table.UnprocessedWrites)):
            raise
        raise CommandError(
            f"the publish stopped part-way ({aws.error_code(error)}): publish again to finish it"
        ) from None


def _dry_run(args: argparse.Namespace) -> None:
    """Validate and report, writing nothing. Compared with what the stage
    holds when it can be reached; otherwise the content is checked alone,
    with no AWS call at all."""
    from chalicelib.content.publishing import publish

    reason = None
    try:
        _stage_settings(args)
    except CommandError as error:
        reason = str(error)
        apply_stage_environment(args.stage)
    if reason is None:
        lines: list[str] = []
        try:
            publish.publish_directory(Path(args.content), dry_run=True, report=lines.append)
        except publish.PublishError:
            print("\n".join(lines))
            raise
        except Exception as error:  # an AWS failure, if aws_problem knows it
            reason = aws_problem(error, args.stage)
            if reason is None:
                raise
        else:
            print("\n".join(lines))
            return
    print(
        f"Not compared with the {args.stage} stage ({reason}); checking the content alone.", file=sys.stderr
    )
    _check_as_text(Path(args.content))


def cmd_check(args: argparse.Namespace) -> None:
    from .check import as_github, as_json, check, summary

    content = Path(args.content)
    if args.format == "text":
        checked = _check_as_text(content)
    else:
        checked = check(content, report=lambda line: None)
        print(as_json(checked) if args.format == "json" else "\n".join(as_github(checked)))
        if checked.refusal:
            raise CommandError(checked.refusal)
    if args.strict and checked.count("warning"):
        raise CommandError(f"{summary(checked)}, and --strict refuses warnings")


def _check_as_text(content: Path) -> Checked:
    """What `publish --dry-run` prints when it checks the content alone."""
    from .check import check

    checked = check(content, report=print)
    if checked.refusal:
        raise CommandError(checked.refusal)
    return checked


def cmd_status(args: argparse.Namespace) -> None:
    from chalicelib.content.publishing import publish

    _stage_settings(args)
    found = publish.status()
    if found["live"] is None:
        print(f"Stage {args.stage} has no recorded publish.")
    else:
        print(f"Stage {args.stage} serves {publish.describe_release(found['live'])}.")
    if found["previous"] is not None:
        print(f"Before it (publish --rollback goes back to): {publish.describe_release(found['previous'])}.")
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


def cmd_doctor(args: argparse.Namespace) -> None:
    from .doctor import failures, report, run_checks

    checks = run_checks(_stage_settings(args))
    print(report(checks, args.format))
    failed = failures(checks)
    if failed:
        raise CommandError(f"{len(failed)} check(s) failed: {', '.join(check.name for check in failed)}")


def cmd_cloudformation(args: argparse.Namespace) -> None:
    import json

    from .cloudformation import template
    from .publisher import PublisherError

    try:
        print(json.dumps(template(apply_stage_environment(args.stage)), indent=2))
    except PublisherError as error:
        raise CommandError(str(error)) from None


def cmd_local(args: argparse.Namespace) -> None:
    from .local import LocalStackError, run_local_stack

    try:
        run_local_stack(
            port=args.port,
            aws_endpoint=args.aws_endpoint,
            content_dir=Path(args.content),
            site_port=args.site_port,
        )
    except LocalStackError as error:
        raise CommandError(str(error)) from None


def cmd_retry(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.submissions import delivery, staff

    _stage_settings(args)
    if args.reference:
        found = staff.retry_submission(args.reference)
        print(f"{found['reference']}: {found['status']}")
        return
    try:
        report = delivery.retry_pending(ignore_backoff=True)
    except DomainError as error:
        # The run may stop part-way through the queue: the table's own
        # message says so, whatever the setup.
        raise CommandError(error.message) from None
    for status, references in (
        ("forwarded", report.forwarded),
        ("still failing, will try again", report.will_retry),
        ("failed for good", report.failed),
        ("being sent elsewhere, skipped", report.skipped),
        ("left for the next run", report.left),
    ):
        for reference in references:
            print(f"{reference}: {status}")
    print(report.summary())


def cmd_submissions(args: argparse.Namespace) -> None:
    import json

    from chalicelib.submissions import staff
    from chalicelib.submissions.submission import STATUSES

    _stage_settings(args)
    if args.email:
        from chalicelib.submissions import data_requests

        found = data_requests.find(data_requests.address(args.email))
    else:
        found = [
            submission
            for status in ([args.status] if args.status else STATUSES)
            for submission in staff.list_submissions(status)
        ]
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for submission in found:
        print(
            f"{submission['reference']}  {submission['type']:<25}  {submission['status']:<9}  "
            f"{submission['created_at']}  attempts {submission['attempts']}"
            + (f"  last error {submission['last_error']}" if submission["last_error"] else "")
        )
    print(
        f"{len(found)} submission(s)"
        + (f" with status {args.status}." if args.status else " from that address." if args.email else ".")
    )


# Requests about personal data ------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> None:
    import json

    from chalicelib.submissions import data_requests

    _stage_settings(args)
    found = data_requests.export(data_requests.address(args.email))
    print(json.dumps(found, indent=2, ensure_ascii=False))


def cmd_restrict(args: argparse.Namespace) -> None:
    _change_data(args, "lift" if args.lift else "restrict")


def cmd_erase(args: argparse.Namespace) -> None:
    _change_data(args, "erase")


_CHANGES = {
    "restrict": ("restrict", "Restricted {} submission(s): kept, and never sent."),
    "lift": ("lift the restriction on", "Lifted the restriction on {} submission(s)."),
    "erase": ("erase", "Erased {} item(s)."),
}


def _change_data(args: argparse.Namespace, action: str) -> None:
    """Say what a change will touch, ask (unless --yes), then make it."""
    from chalicelib.submissions import data_requests

    _stage_settings(args)
    verb, done = _CHANGES[action]
    change = data_requests.plan(action, data_requests.address(args.email))
    if not change.touches:
        print(f"Nothing to {verb}: no submission from that address.\n" + done.format(0))
        return
    print(f"This will {verb}, in stage {args.stage}:")
    for name in change.touches:
        print(f"  {name}")
    if args.dry_run:
        print("Dry run: nothing changed.")
        return
    if not args.yes:
        _confirm(action)
    count = data_requests.carry_out(change)
    print(done.format(count))


def _confirm(action: str) -> None:
    """A yes from the person at the terminal; refused without one."""
    if not sys.stdin.isatty():
        raise CommandError(f"{action} changes stored data: run it in a terminal to confirm, or pass --yes")
    print("Type yes to go on: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() != "yes":
        raise CommandError("nothing changed")


def cmd_backfill(args: argparse.Namespace) -> None:
    from .provision import backfill_addresses

    for change in backfill_addresses(_stage_settings(args), always=True):
        print(change)


# AWS out of reach ------------------------------------------------------------------


def aws_problem(error: BaseException, stage: str, refusals: bool = True) -> str | None:
    """Why AWS could not be used, with what to do, in one line; None when
    the error (or what it wraps) is no AWS failure the user can mend.
    Without `refusals`, only a setup that never reached AWS counts: the
    domain's own message says best what an answer from AWS means."""
    from botocore import exceptions as boto

    from .local import NOT_RUNNING

    fixes: tuple[tuple[type[BaseException], str], ...] = (
        (boto.NoRegionError, "no AWS region is set: export AWS_DEFAULT_REGION=eu-west-2"),
        (
            boto.NoCredentialsError,
            "no AWS credentials were found: sign in (for example `aws sso login`, "
            "or export AWS_PROFILE) and try again",
        ),
        (boto.PartialCredentialsError, "the AWS credentials are incomplete: {error}"),
        (
            boto.EndpointConnectionError,
            NOT_RUNNING
            if stage == "local"
            else "AWS cannot be reached ({error}): check the network connection",
        ),
        (boto.ConnectTimeoutError, "AWS did not answer in time ({error}): try again"),
    ) + (((boto.ClientError, "AWS refused: {error}"),) if refusals else ())
    seen: BaseException | None = error
    while seen is not None:
        for kind, fix in fixes:
            if isinstance(seen, kind):
                return fix.format(error=seen)
        seen = seen.__cause__ or seen.__context__
    return None


# The command line ------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("nlc-api")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlc-api", description=DESCRIPTION, formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(find_local_stack=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help, description=help[0].upper() + help[1:] + ".", formatter_class=_HelpFormatter
        )
        sub.add_argument(
            "--debug", action="store_true", help="show the full traceback of a failure instead of one line"
        )
        return sub

    def with_stage(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--stage",
            required=True,
            choices=STAGES,
            help="the stage to work on, as .chalice/config.json defines it; local is the running "
            "local stack, found without any AWS variables",
        )
        return sub

    def with_content(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--content", default=str(DEFAULT_CONTENT), metavar="DIR", help="the content folder")

    local = command("local", "run the whole stack on this machine")
    local.add_argument("--port", type=int, default=8000, help="the API's port on 127.0.0.1")
    local.add_argument(
        "--site-port",
        type=int,
        default=8080,
        help="the example website's port; the local stage's site origins and confirmation page follow it",
    )
    local.add_argument(
        "--aws-endpoint", metavar="URL", help="use this running AWS emulator instead of starting one"
    )
    with_content(local)
    local.set_defaults(handler=cmd_local)

    publish = with_stage(command("publish", "validate and publish a content folder"))
    with_content(publish)
    publish.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and report what would change; write nothing (needs no AWS access)",
    )
    publish.add_argument(
        "--rollback",
        action="store_true",
        help="publish again the set published before the live one, from the bucket's versions",
    )
    publish.set_defaults(handler=cmd_publish)

    checking = command(
        "check",
        "say what publishing a content folder would refuse, and warn of, with no AWS call "
        "(exit status 1 if it would refuse)",
    )
    with_content(checking)
    from .check import FORMATS

    checking.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: what publish --dry-run prints; json: the problems as JSON; github: GitHub "
        "Actions' workflow commands, which show each problem on the pull request's line",
    )
    checking.add_argument("--strict", action="store_true", help="fail on warnings too")
    checking.set_defaults(handler=cmd_check)

    status = with_stage(command("status", "say what the stage serves and who published it"))
    status.set_defaults(handler=cmd_status)

    provision = with_stage(command("provision", "create the stage's bucket, tables and sender"))
    provision.set_defaults(handler=cmd_provision)

    doctor = with_stage(
        command(
            "doctor",
            "check the live stage for what AWS would refuse or silently drop: each check ok, fail "
            "(with the fix) or n/a; exit status 1 if any fails",
        )
    )
    doctor.add_argument("--format", choices=("text", "json"), default="text", help="how to print the checks")
    doctor.set_defaults(handler=cmd_doctor)

    cloudformation = with_stage(
        command("cloudformation", "print the stage's bucket, tables and sender as a CloudFormation template")
    )
    cloudformation.set_defaults(handler=cmd_cloudformation)

    retry = with_stage(
        command(
            "retry",
            "send every pending submission now, whatever its backoff, for as long as the scheduled run may",
        )
    )
    retry.add_argument(
        "--reference",
        metavar="NLC-XXXX-XXXX",
        help="send this one submission, even if it failed for good or was taken for spam",
    )
    retry.set_defaults(handler=cmd_retry)

    from chalicelib.submissions.submission import STATUSES

    listing = with_stage(command("submissions", "list stored submissions, oldest first"))
    listing.add_argument("--status", choices=STATUSES, help="only those with this status (default: all)")
    listing.add_argument(
        "--json", action="store_true", help="print every stored field, personal data included"
    )
    listing.add_argument(
        "--email",
        metavar="ADDRESS",
        help="every submission from this address, whatever its status (matched as the rate limit "
        "matches: any letter case, +tag ignored)",
    )
    listing.set_defaults(handler=cmd_submissions)

    def with_email(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--email",
            required=True,
            metavar="ADDRESS",
            help="the person's address (any letter case, +tag ignored)",
        )
        return sub

    def changing(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        sub.add_argument(
            "--dry-run", action="store_true", help="show what would be touched and change nothing"
        )
        return sub

    export = with_email(with_stage(command("export", "print everything stored about a person, as JSON")))
    export.set_defaults(handler=cmd_export)

    restrict = changing(
        with_email(
            with_stage(
                command("restrict", "keep a person's submissions but never send them, and list them nowhere")
            )
        )
    )
    restrict.add_argument(
        "--lift", action="store_true", help="undo a restriction: each goes back to the status it had"
    )
    restrict.set_defaults(handler=cmd_restrict)

    erase = changing(
        with_email(
            with_stage(
                command(
                    "erase",
                    "delete a person's submissions, their idempotency records and rate-limit "
                    "counter, and cancel any delivery not yet made",
                )
            )
        )
    )
    erase.set_defaults(handler=cmd_erase)

    backfill = with_stage(
        command("backfill", "let requests about personal data find submissions stored before they could")
    )
    backfill.set_defaults(handler=cmd_backfill)
    return parser


@contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """The JSON log lines the domain code writes (to stdout, for Lambda) go
    to stderr here, so that stdout holds the command's results alone."""
    from chalicelib import observability

    observability.stream = sys.stderr
    try:
        yield
    finally:
        observability.stream = None


def _execute(args: argparse.Namespace) -> None:
    """Run the command; a domain error (content refused, a publish busy, a
    submission not found...) is its one-line failure, as `main` prints it."""
    from chalicelib.errors import DomainError

    with _logs_to_stderr():
        try:
            args.handler(args)
        except DomainError as error:
            problem = aws_problem(error, getattr(args, "stage", ""), refusals=False)
            raise CommandError(problem or error.message) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _execute(args)
    except CommandError as error:
        if args.debug:
            raise
        print(f"nlc-api {args.command}: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        problem = aws_problem(error, getattr(args, "stage", ""))
        if problem is None or args.debug:
            raise
        print(f"nlc-api {args.command}: {problem} (--debug shows the traceback)", file=sys.stderr)
        return 1
    return 0


def run(argv: list[str]) -> str:
    """Run a command in this process and return what it printed (for tests);
    a failure raises CommandError, carrying the output in `.output`."""
    args = build_parser().parse_args(argv)
    args.find_local_stack = False
    output = io.StringIO()
    try:
        with redirect_stdout(output):
            _execute(args)
    except CommandError as error:
        error.output = output.getvalue()
        raise
    return output.getvalue()


if __name__ == "__main__":
    sys.exit(main())
