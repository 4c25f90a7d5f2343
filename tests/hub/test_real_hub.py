"""A class on a real JupyterHub, set up and run with the README's own commands.

The README's section *Many students: JupyterHub on one machine* has three command blocks, each marked for
this test (``<!-- hub-test: install -->``, ``root``, ``grader``). The test reads them from the README and
runs them, with its throw-away accounts and folders put in for the README's names:

- ``grader-dlopt``, ``instructor1``, ``student1 student2``: accounts this test creates (``useradd``; CI runs as
  root) and removes, with random passwords for PAM;
- ``/opt/dlopt-student`` and ``/srv/nbgrader/exchange``: folders in a temporary folder (never the machine's
  own: ``grade`` treats an existing exchange as the sign of a machine shared with students);
- the hub's ports (free ones, on loopback) and the course service's URL (``DLOPT_SERVICE_URL``) and student
  environment (``DLOPT_STUDENT_ENV``) are passed to the hub; its proxy is configurable-http-proxy from
  ``.ci/node`` (``.ci/run`` installs it from the npm registry).

Of the install block, three lines would fetch from the network or take minutes, and the test does their
equivalent instead (:data:`INSTALL_EQUIVALENTS` names each): the ``git clone`` is a copy of this checkout's
files; the grader's ``pip install -r requirements.txt`` is a venv in the course folder that uses the test
run's own installed packages (the same ``requirements.txt``); ``npm install --global`` is the proxy from
``.ci/node``. The students' environment is built for real with the README's command (a minute: pip's cache).

Then, on that hub: the grader's block releases ``01_sgd``; one student logs in with the hub's form, fetches,
writes the model answer and submits through the HTTP endpoints of nbgrader's *Assignment List* (and
JupyterLab's contents API); the other does *Fetch* and *Submit* in the Assignment List in Chromium, having
written a wrong answer (the sign of the SGD step flipped); the grader's block collects, grades with the
course's ``grade`` as the grader's account, makes and releases the feedback; each student fetches it. Then
a student's account tries to reach the course (model answers, reference, gradebook, a classmate's
submission and home), ``grade`` is shown to refuse an opened course, an instructor uses the formgrader in
its own tab, and stopping the hub is shown to stop the course service with its first signal.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests

from dlopt_course.submissions import hand_graded_points, model_answer, replace_in_solution
from hub_client import HubUser

REPOSITORY = Path(__file__).resolve().parents[2]
README = REPOSITORY / "README.md"
PROXY = REPOSITORY / ".ci" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_ID, ASSIGNMENT = "dlopt", "01_sgd"
SIGN_FLIP = replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw')

#: the README's names -> this test's throw-away accounts
ACCOUNTS = {"grader-dlopt": "dlopthub-grader", "instructor1": "dlopthub-teacher",
            "student1": "dlopthub-ada", "student2": "dlopthub-ben"}
GRADER, INSTRUCTOR, ADA, BEN = ACCOUNTS.values()

pytestmark = pytest.mark.slow


# -- the README's blocks --------------------------------------------------------------------------------------
def readme_block(marker: str) -> list[str]:
    """The command lines of the README's fenced block after ``<!-- hub-test: marker -->``."""
    text = README.read_text()
    match = re.search(rf"<!-- hub-test: {marker} -->\s*```bash\n(.*?)```", text, re.S)
    assert match, f"README.md has no block marked <!-- hub-test: {marker} -->"
    return [line for line in match.group(1).splitlines() if line.strip() and not line.startswith("#")]


def substitute(line: str, paths: dict[str, str]) -> str:
    for old, new in {**paths, **ACCOUNTS}.items():
        line = line.replace(old, new)
    return line


# -- running things as root and as the accounts ----------------------------------------------------------------
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # a root shell's


def root_environment() -> dict[str, str]:
    """A root shell's environment: this machine's (package index settings, proxies), nothing of this test
    run's Python (no PYTHONPATH, no venv on the PATH, no Jupyter or pytest variables)."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "PYTEST", "OMP_", "OPENBLAS_"))}
    environment.update(PATH=CLEAN_PATH, HOME="/root", LANG="C.UTF-8")
    return environment


def as_root(command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``command`` in a root shell (:func:`root_environment`)."""
    return subprocess.run(["bash", "-c", command], env=root_environment(), capture_output=True, text=True,
                          timeout=timeout)


def as_account(account: str, command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``command`` in a login shell of ``account``, from a clean environment (as ``runuser -u A -- bash -l``)."""
    return as_root(f"runuser -u {account} -- bash -lc {shlex.quote(command)}", timeout=timeout)


def as_grader(line: str, course: Path) -> subprocess.CompletedProcess:
    """A line of the README's grader block, as the README says: in the course folder, its venv active."""
    return as_account(GRADER, f"cd {course} && source .venv/bin/activate && {line}", timeout=1800)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def account_command(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``useradd``, ``userdel``, ``chpasswd``: retried while another process (a parallel test creating its
    own account) holds the lock of ``/etc/passwd``."""
    for _ in range(50):
        done = subprocess.run(command, capture_output=True, text=True, **kwargs)
        if "lock" not in done.stderr:
            return done
        time.sleep(0.2)
    return done


def remove_account(name: str) -> None:
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    account_command(["userdel", "--remove", "--force", name])


# -- the install block's three equivalents -------------------------------------------------------------------
def copy_checkout(course: Path) -> None:
    """``git clone``: this checkout's tracked (and, while developing, new unignored) files, as the grader."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPOSITORY,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = REPOSITORY / name
        if source.is_file():
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, course / name)


def grader_env_from_this_run(course: Path) -> None:
    """``pip install -r requirements.txt`` in ``<course>/.venv``: a venv whose ``site-packages`` is this run's
    (installed from the same ``requirements.txt``) with the course copy's own packages first, and every
    console script of this run rewritten to its interpreter; its ``share`` and ``etc`` are this run's."""
    venv = course / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    ours = Path(sys.prefix)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    this_site = ours / "lib" / site.parent.name / "site-packages"
    (site / "dlopt-course.pth").write_text(f"{course / 'solutions'}\n{course / 'instructor'}\n{course}\n{this_site}\n")
    for folder in ("share", "etc"):
        (venv / folder).symlink_to(ours / folder)
    for script in (ours / "bin").iterdir():
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        lines = script.read_bytes().split(b"\n", 1)
        if len(lines) == 2 and lines[0].startswith(b"#!" + str(ours).encode()):
            target.write_bytes(b"#!" + str(venv / "bin" / "python").encode() + b"\n" + lines[1])
            target.chmod(0o755)


def proxy_from_ci_node(course: Path) -> None:
    """``npm install --global configurable-http-proxy``: the same package, locked in ``.ci/node``."""
    if not PROXY.exists():
        pytest.fail(f"no {PROXY}: .ci/run installs it (npm ci --prefix .ci/node)")


#: the install block's lines this test replaces with an equivalent (the reason is the function's docstring)
INSTALL_EQUIVALENTS = {
    "runuser -u grader-dlopt -- git clone": copy_checkout,
    "runuser -u grader-dlopt -- bash -c 'cd ~/dlopt && python3 -m venv .venv": grader_env_from_this_run,
    "npm install --global configurable-http-proxy": proxy_from_ci_node,
}


# -- the hub ------------------------------------------------------------------------------------------------------
class Hub:
    def __init__(self, base: Path):
        self.base = base
        self.course = Path(f"/home/{GRADER}/dlopt")
        self.student_env = base / "dlopt-student"
        self.exchange = base / "exchange"
        self.state = base / "hub-state"
        self.log = base / "hub.log"
        self.paths = {"/opt/dlopt-student": str(self.student_env), "/srv/nbgrader/exchange": str(self.exchange)}
        self.passwords = {name: secrets.token_urlsafe(12) for name in ACCOUNTS.values()}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.setup_output = ""

    def user(self, name: str) -> HubUser:
        return HubUser(self.url, name, self.passwords[name])

    def install(self) -> None:
        lines = readme_block("install")
        assert lines[0] == "useradd --create-home grader-dlopt", lines[0]
        for name in ACCOUNTS.values():
            remove_account(name)  # left over by an interrupted run
        done = account_command(["bash", "-c", substitute(lines[0], self.paths)], env=root_environment())
        assert done.returncode == 0, done.stderr
        for name in (INSTRUCTOR, ADA, BEN):  # students and instructors have accounts on the machine
            done = account_command(["useradd", "--create-home", "--shell", "/bin/bash", name])
            assert done.returncode == 0, done.stderr
        for name, password in self.passwords.items():
            done = account_command(["chpasswd"], input=f"{name}:{password}\n")
            assert done.returncode == 0, done.stderr
        self.course.mkdir()
        for line in lines[1:]:
            equivalent = next((f for start, f in INSTALL_EQUIVALENTS.items() if line.startswith(start)), None)
            if equivalent is not None:
                equivalent(self.course)
                continue
            assert line.startswith("python3 -m venv /opt/dlopt-student"), f"a README install line this test " \
                f"does not know: {line}"
            done = as_root(substitute(line, self.paths).replace("python3 ", f"{sys._base_executable} ", 1),
                           timeout=900)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert sorted(INSTALL_EQUIVALENTS) == sorted(
            start for start in INSTALL_EQUIVALENTS if any(line.startswith(start) for line in lines)), \
            "a README install line this test replaces is gone: update INSTALL_EQUIVALENTS"

    def start(self) -> None:
        setup, start_hub = readme_block("root")
        done = as_root(substitute(setup, self.paths))
        self.setup_output = done.stdout + done.stderr
        assert done.returncode == 0, self.setup_output
        assert start_hub.startswith('DLOPT_GRADER_USER=grader-dlopt DLOPT_INSTRUCTORS="instructor1" '
                                    'DLOPT_STUDENTS="student1 student2" ')
        self.state.mkdir(mode=0o700)
        command = substitute(start_hub, self.paths) + (
            f" --port {self.port} --JupyterHub.hub_port={free_port()}"
            f" --ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}")
        environment = {**root_environment(), "PATH": f"{PROXY.parent}:{CLEAN_PATH}",
                       "DLOPT_STUDENT_ENV": str(self.student_env),
                       "DLOPT_SERVICE_URL": f"http://127.0.0.1:{free_port()}"}

        def like_a_background_job():  # a script's `cmd &` starts it with SIGINT ignored
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(["bash", "-c", f"exec env {command}"], cwd=self.state, env=environment,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=like_a_background_job, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the hub stopped:\n{self.log.read_text()[-5000:]}"
            try:
                if requests.get(f"{self.url}/services/{COURSE_ID}/api/status", timeout=5).status_code in (200, 302,
                                                                                                         403):
                    if "JupyterHub is now running" in self.log.read_text():
                        return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"the hub did not start:\n{self.log.read_text()[-5000:]}")

    def stop(self) -> float:
        """Stop the hub as an admin would (SIGTERM); return the seconds it took."""
        started = time.monotonic()
        self.process.terminate()
        self.process.wait(timeout=120)
        return time.monotonic() - started


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        pytest.fail("the JupyterHub test creates accounts and runs the hub as root: run it as root (CI does)")
    proxy_from_ci_node(REPOSITORY)
    base = Path(tempfile.mkdtemp(prefix="dlopt-hub-"))
    base.chmod(0o755)  # the students' environment in it must be theirs to use
    hub = Hub(base)
    try:
        hub.install()
        hub.start()
        yield hub
    finally:
        if hub.process is not None and hub.process.poll() is None:
            os.killpg(hub.process.pid, signal.SIGKILL)
        for name in ACCOUNTS.values():
            remove_account(name)
        if hub.log.exists():  # the hub's and its servers' log, for a failure's post-mortem
            shutil.copy(hub.log, Path(tempfile.gettempdir()) / "dlopt-hub-test.log")
        shutil.rmtree(base, ignore_errors=True)


# -- the tests, in the order of a term ---------------------------------------------------------------------------
def test_hub_setup_closes_the_course_and_makes_the_exchange(hub):
    assert "STILL OPEN" not in hub.setup_output
    course, home = os.stat(hub.course), os.stat(hub.course.parent)
    grader = pwd.getpwnam(GRADER)
    assert (course.st_uid, stat.S_IMODE(course.st_mode)) == (grader.pw_uid, 0o700)
    assert stat.S_IMODE(home.st_mode) == 0o700
    exchange = os.stat(hub.exchange)
    assert (exchange.st_uid, stat.S_IMODE(exchange.st_mode)) == (0, 0o1777)
    config = hub.course.parent / ".jupyter" / "nbgrader_config.py"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert f"c.Exchange.root = {str(hub.exchange)!r}" in config.read_text()
    assert "no account on this machine" not in hub.log.read_text()  # all the README's users were given


def test_a_term_on_the_hub(hub, browser):
    grader_block = readme_block("grader")
    assert len(grader_block) == 3, grader_block
    release, collect_and_grade, release_feedback = grader_block

    done = as_grader(release, hub.course)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # Ada: the hub's login form, then the Assignment List's endpoints and JupyterLab's contents API
    ada = hub.user(ADA)
    ada.login()
    ada.start_server()
    assert [(a["assignment_id"], a["status"]) for a in ada.assignments(COURSE_ID)] == [(ASSIGNMENT, "released")]
    ada.action("fetch", COURSE_ID, ASSIGNMENT)
    path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    release_nb = nbformat.from_dict(ada.read_file(path)["content"])
    source = nbformat.read(hub.course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    ada.write_notebook(path, model_answer(source, release_nb))
    ada.action("submit", COURSE_ID, ASSIGNMENT)

    # Ben: Fetch and Submit in the Assignment List, in Chromium; his wrong answer saved in between
    ben = hub.user(BEN)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", BEN)
    page.fill("#password_input", hub.passwords[BEN])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{BEN}/lab**", timeout=180_000)
    page.get_by_text("Nbgrader", exact=True).click()
    page.get_by_text("Assignment List", exact=True).click()
    page.get_by_role("button", name="Fetch", exact=True).click()
    page.get_by_role("button", name="Submit", exact=True).wait_for(timeout=60_000)
    ben.login()
    ben.write_notebook(path, model_answer(source, nbformat.from_dict(ben.read_file(path)["content"]), edit=SIGN_FLIP))
    page.get_by_role("button", name="Submit", exact=True).click()
    page.get_by_text("Fetch Feedback").first.wait_for(timeout=60_000)  # the submitted row's button
    statuses = {a["assignment_id"] + ":" + a["status"] for a in ben.assignments(COURSE_ID)}
    assert f"{ASSIGNMENT}:submitted" in statuses, statuses

    done = as_grader(collect_and_grade, hub.course)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert "graded 2, already graded (skipped) 0, failed 0" in done.stdout, done.stdout
    done = as_grader(release_feedback, hub.course)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}", COURSE_ID) as gradebook:
        scores = {name: (gradebook.find_submission(ASSIGNMENT, name).score,
                         gradebook.find_submission(ASSIGNMENT, name).max_score) for name in (ADA, BEN)}
    source = nbformat.read(REPOSITORY / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert scores[ADA][0] == scores[ADA][1] - hand_graded_points(source) > 0, scores  # written answers: by hand
    assert 0 < scores[BEN][0] < scores[BEN][1], scores

    # each student fetches their feedback: the course's page, with their own score, in their home
    ada.action("fetch_feedback", COURSE_ID, ASSIGNMENT)
    page.get_by_text("Fetch Feedback").first.click()
    page.get_by_text("View Feedback").first.wait_for(timeout=60_000)
    context.close()
    for name in (ADA, BEN):
        pages = list(Path(f"/home/{name}/{ASSIGNMENT}/feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert len(pages) == 1, (name, pages)
        html = pages[0].read_text()
        score, max_score = scores[name]
        assert f"{ASSIGNMENT} (Score: {float(score)} / {float(max_score)})" in html
        assert pwd.getpwuid(pages[0].stat().st_uid).pw_name == name
    ben_page = next(Path(f"/home/{BEN}/{ASSIGNMENT}/feedback").glob(f"*/{ASSIGNMENT}.html")).read_text()
    assert "the sign of the update is flipped" in ben_page


def test_a_student_reaches_nothing_of_the_course_or_a_classmate(hub):
    """Ben's account (what his server and kernels run as) against the course and Ada's work; the same
    reads as the grader or as Ada succeed, so each refusal is the boundary's, not a wrong path."""
    course, exchange = hub.course, hub.exchange
    reads = {
        "the model answers": course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "the reference": course / "solutions" / "dlopt_reference" / "grading" / "__init__.py",
        "the instructor's tool": course / "instructor" / "dlopt_course" / "isolation" / "sandbox.py",
        "the gradebook (hidden tests)": course / "gradebook.db",
        "Ada's collected submission": course / "submitted" / ADA / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "Ada's own notebook": Path(f"/home/{ADA}") / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
    }
    for what, path in reads.items():
        owner = ADA if what == "Ada's own notebook" else GRADER
        assert as_account(owner, f"head -c 1 {shlex.quote(str(path))}").returncode == 0, f"{owner} cannot read {path}"
        attempt = as_account(BEN, f"head -c 1 {shlex.quote(str(path))}")
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, (what, attempt)

    writes = {
        "into Ada's collected submission": course / "submitted" / ADA / ASSIGNMENT / "extra.py",
        "over Ada's collected notebook": course / "submitted" / ADA / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "into the gradebook": course / "gradebook.db",
    }
    for what, path in writes.items():
        attempt = as_account(BEN, f"echo x >> {shlex.quote(str(path))}")
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, (what, attempt)

    inbound = exchange / COURSE_ID / "inbound"
    assert as_account(GRADER, f"ls {inbound}").stdout.count(f"{ADA}+{ASSIGNMENT}") == 1
    listing = as_account(BEN, f"ls {inbound}")
    assert listing.returncode != 0 and "Permission denied" in listing.stderr  # Ada's folder name stays unknown
    removal = as_account(BEN, f"mv {exchange / COURSE_ID} {exchange / 'gone'}")
    assert removal.returncode != 0 and (exchange / COURSE_ID).is_dir()  # the sticky bit
    assert as_account(BEN, f"cat {exchange / COURSE_ID / 'outbound' / ASSIGNMENT / (ASSIGNMENT + '.ipynb')}"
                      " > /dev/null").returncode == 0  # what students may read, they can

    for package in ("dlopt_reference", "dlopt_course"):  # the reference, the instructor's tool
        probe = as_account(BEN, f"{hub.student_env}/bin/python -c 'import {package}'")
        assert probe.returncode != 0 and f"No module named '{package}'" in probe.stderr
    assert as_account(BEN, f"{hub.student_env}/bin/python -c 'import dlopt, nbgrader'").returncode == 0


def test_grade_refuses_a_course_other_accounts_can_reach(hub):
    _, collect_and_grade, _ = readme_block("grader")
    grade = next(part.strip() for part in collect_and_grade.split("&&") if "course grade" in part)
    os.chmod(hub.course, 0o755)
    os.chmod(hub.course.parent, 0o755)
    try:
        refused = as_grader(grade, hub.course)
    finally:
        os.chmod(hub.course, 0o700)
        os.chmod(hub.course.parent, 0o700)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"{hub.course} (mode drwxr-xr-x) can be entered by other accounts" in refused.stderr
    assert "hub-setup" in refused.stderr
    again = as_grader(grade, hub.course)  # closed again: it runs (everything is graded already)
    assert again.returncode == 0 and "already graded (skipped) 2" in again.stdout, again.stdout + again.stderr


def test_formgrader_in_its_own_tab_with_working_links(hub, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", INSTRUCTOR)
    page.fill("#password_input", hub.passwords[INSTRUCTOR])
    page.click("#login_submit")
    page.wait_for_load_state()
    page.goto(f"{hub.url}/services/{COURSE_ID}/formgrader")
    page.wait_for_url(f"**/services/{COURSE_ID}/formgrader/manage_assignments", timeout=60_000)
    page.locator("td.preview a").first.wait_for(timeout=60_000)
    links = page.eval_on_selector_all("td.preview a, td.name a", "els => els.map(e => e.href)")
    assert links and all(link.startswith(f"{hub.url}/services/{COURSE_ID}/tree/") for link in links), links
    for link in links:
        answer = context.request.get(link)
        assert answer.status == 200, (link, answer.status)
    page.goto(f"{hub.url}/services/{COURSE_ID}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
    page.locator("a.name-shown").first.wait_for(state="attached", timeout=60_000)  # names hidden until asked
    submissions = page.eval_on_selector_all("a.name-shown", "els => els.map(e => [e.textContent, e.href])")
    assert sorted(name for name, _ in submissions) == [ADA, BEN]
    for _, link in submissions:  # each opens the grading page of that submission
        assert context.request.get(link).status == 200, link
    # a student may not use the course service
    ben = hub.user(BEN)
    ben.login()
    denied = requests.get(f"{hub.url}/services/{COURSE_ID}/formgrader/api/assignments", headers=ben.headers,
                          timeout=30)
    assert denied.status_code == 403, denied.status_code
    context.close()


def test_stopping_the_hub_stops_the_course_service_with_the_first_signal(hub):
    """The hub was started as a background job starts it (SIGINT ignored). Stopping it sends the course
    service SIGINT, then SIGTERM only after a timeout: the service must stop on the first."""
    seconds = hub.stop()
    log = hub.log.read_text()
    print(f"the hub stopped in {seconds:.1f} s")
    assert "Cleaning up 1 services" in log
    assert "received signal 15" not in log, log[-4000:]  # no server of the hub needed the second signal
