"""Sessions: `nox -l` lists them. `tests`, `lint` and `typecheck` run on every change; `local`
builds the offline model extra and runs the tests that drive the real llama.cpp model;
`deps_pypi` installs tool dependencies from the real package index."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests", "local", "deps_pypi"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (real servers on 127.0.0.1, real subprocesses, real files)."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", "-m", "not local", *session.posargs)


@nox.session(python=PYTHON)
def local(session: nox.Session) -> None:
    """Run the tests that drive the real offline model (SmolLM2 through llama.cpp, and
    llama_cpp.server for the openai backend). Builds llama-cpp-python once with CPU flags
    that work everywhere (scripts/build-llama-wheel.sh, ~5 minutes), then reuses it."""
    output = session.run("bash", "scripts/build-llama-wheel.sh", silent=True, external=True)
    wheel = str(output).strip().splitlines()[-1]
    session.install(f"{wheel}[server]", "-e", ".[local]",
                    *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", "-m", "local", *session.posargs)


@nox.session(python=PYTHON)
def deps_pypi(session: nox.Session) -> None:
    """Install tool dependencies from the real package index (PyPI): the original's
    scrape_quotes tool (requests, beautifulsoup4) against a local site, and the original's
    46 tools loading after installation. Needs the network to pypi.org."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", "tests/test_deps_pypi.py", *session.posargs,
                env={"TEST_REAL_PYPI": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "bench", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Check types with mypy."""
    session.install("-e", ".[mcp,dask,dashboard,keyring]", "mypy")
    session.run("mypy")
