"""Bytecode for the Lambda package, compiled before Chalice packages it.

Lambda runs the package from a read-only folder, and Chalice ships no
bytecode, so every cold start would compile each module it imports from
source and throw the result away: most of a form post's cold start. Chalice
packages two things as it finds them, and the bytecode goes there:
chalicelib/ (its `__pycache__` folders too), and vendor/, which it copies
into the package's root. vendor/ holds only `__pycache__` folders: app.py's,
Chalice's runtime's and the dependencies', installed from requirements.txt by
Chalice's own installer, so they are compiled from the very files it ships.

Only what a visitor's requests and the delivery worker load is compiled (the
forms, the content reads, delivery): bytecode is twice the size of its source
zipped, and the whole of it would take the package past its 6 MB limit. The
publishing functions and staff routes, which no visitor waits on, compile
their own modules as they load them.

Hash-based and checked: Chalice dates every zip entry 1980-01-01, so bytecode
that records its source's modification time would be stale on arrival. This
records the source's hash, and Python compiles a module whose source no
longer matches (an edit since, a new requirements.txt) rather than run old
code: stale bytecode costs time, never correctness.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Lambda's runtime, whose bytecode (cpython-313) this must be.
RUNTIME_VERSION = (3, 13)
RUNTIME_ABI = "cp313"
VENDOR = "vendor"
CHALICELIB = "chalicelib"
MODE = py_compile.PycInvalidationMode.CHECKED_HASH

# A fresh process loads the app, answers both forms through the handler
# (refused for a missing field, so no AWS call, after validating the rest,
# the address too), loads the content reads as a content route does, the
# delivery worker's and the SES events' modules, and makes the clients they
# use (botocore imports python-dateutil and six, which the package ships
# too, and Lambda finds first); it prints every module file it loaded.
TRACE = """
import json, sys
from app import app
from chalicelib import aws
from chalicelib.web import content_api
from chalicelib.submissions import delivery, mail_events

content_api._reads()
aws.errors()
for make in (aws.dynamodb, aws.sqs, aws.ses):
    make()
for path, body in (
    ("/enquiries", {"name": "Ada Lovelace", "email": "ada@example.com"}),
    ("/accessible-format-requests", {"email": "ada@example.com", "document_url": "/a.pdf", "format": "other"}),
):
    headers = {"Host": "localhost", "Content-Type": "application/json"}
    event = {
        "resource": path, "path": path, "httpMethod": "POST", "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None, "body": json.dumps(body), "isBase64Encoded": False,
        "requestContext": {"resourcePath": path, "httpMethod": "POST", "stage": "api",
                           "identity": {"sourceIp": "127.0.0.1"}},
    }
    response = app(event, None)
    assert response["statusCode"] == 400, response
for module in list(sys.modules.values()):
    if getattr(module, "__file__", None):
        print(module.__file__)
"""


class BytecodeError(Exception):
    pass


def _compile(source: Path, cfile: Path, name: str) -> None:
    cfile.parent.mkdir(parents=True, exist_ok=True)
    py_compile.compile(str(source), cfile=str(cfile), dfile=name, doraise=True, invalidation_mode=MODE)


def _dependencies(project_dir: Path, site: Path) -> None:
    """requirements.txt installed into `site` as `chalice deploy` and
    `chalice package` install it (the same wheels, unpacked the same way)."""
    from chalice.deploy.packager import DependencyBuilder
    from chalice.utils import OSUtils

    requirements = str(project_dir / "requirements.txt")
    DependencyBuilder(OSUtils()).build_site_packages(RUNTIME_ABI, requirements, str(site))


def _loaded(project_dir: Path, site: Path) -> set[Path]:
    """The module files TRACE loads, the project's first, then the installed
    dependencies' (boto3 and the rest from this environment, as Lambda's)."""
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    run = subprocess.run(
        [sys.executable, "-c", TRACE], cwd=project_dir, env=env, capture_output=True, text=True
    )
    if run.returncode != 0:
        raise BytecodeError(f"loading the app to see what it imports failed:\n{run.stderr}")
    return {Path(line).resolve() for line in run.stdout.splitlines() if line.endswith(".py")}


def compile_package(project_dir: Path) -> int:
    """Compile what Chalice will package from `project_dir` and the request
    paths load: chalicelib's bytecode beside it (any other there removed,
    stale or not), app.py's, Chalice's runtime's and the dependencies' in a
    new vendor/. Returns how many modules were compiled."""
    import chalice
    from chalice import app as chalice_app

    if sys.version_info[:2] != RUNTIME_VERSION:
        raise BytecodeError(
            f"the functions run Python {'.'.join(map(str, RUNTIME_VERSION))}: compile with it (make install)"
        )
    project_dir = project_dir.resolve()
    lib, vendor = project_dir / CHALICELIB, project_dir / VENDOR
    for cache in sorted(lib.rglob("__pycache__")):
        shutil.rmtree(cache)
    shutil.rmtree(vendor, ignore_errors=True)
    # Chalice ships these two files of its own as the app's runtime.
    compiled = {
        Path(inspect.getfile(chalice_app)).resolve(): "chalice/app.py",
        Path(inspect.getfile(chalice)).resolve(): "chalice/__init__.py",
    }
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder).resolve() / "site"
        _dependencies(project_dir, site)
        for source in sorted(_loaded(project_dir, site)):
            if source.is_relative_to(lib):
                name = source.relative_to(project_dir).as_posix()
                _compile(source, Path(importlib.util.cache_from_source(str(source))), name)
            elif source.is_relative_to(site) or source == project_dir / "app.py":
                top = site if source.is_relative_to(site) else project_dir
                compiled[source] = source.relative_to(top).as_posix()
        for source, name in compiled.items():
            _compile(source, vendor / importlib.util.cache_from_source(name), name)
    return sum(1 for _ in lib.rglob("*.pyc")) + len(compiled)


def main() -> int:
    try:
        count = compile_package(Path.cwd())
    except BytecodeError as error:
        print(f"nlc_tools.bytecode: {error}", file=sys.stderr)
        return 1
    print(f"compiled {count} modules for the Lambda package (in chalicelib/ and {VENDOR}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
