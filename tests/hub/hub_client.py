"""A student or instructor at a real JupyterHub, through the same HTTP endpoints their browser uses.

- :meth:`HubUser.login` posts the hub's login form (PAM: the account's password), as the browser does;
- :meth:`HubUser.start_server` asks the hub's REST API for the user's server and waits until it answers;
- :meth:`HubUser.assignments` and :meth:`HubUser.action` call nbgrader's assignment-list server extension
  (``GET /user/<name>/assignments``, ``POST /user/<name>/assignments/{fetch,submit,fetch_feedback}``),
  the endpoints the *Assignment List* panel of JupyterLab calls;
- :meth:`HubUser.read_file` and :meth:`HubUser.write_notebook` use Jupyter's contents API, as JupyterLab
  does when it opens and saves a notebook.

Requests after the login carry an API token the user made for themselves (``POST /hub/api/users/<name>/
tokens`` with the login cookie), as a script of theirs would.
"""

from __future__ import annotations

import json
import time

import requests


class HubUser:
    def __init__(self, base_url: str, name: str, password: str):
        self.base_url, self.name, self.password = base_url.rstrip("/"), name, password
        self.session = requests.Session()
        self.token: str | None = None

    # -- the hub ---------------------------------------------------------------------------------------
    def login(self) -> None:
        """Log in with the hub's form, then make an API token for the requests that follow."""
        page = self.session.get(f"{self.base_url}/hub/login", timeout=30)
        page.raise_for_status()
        xsrf = self.session.cookies.get("_xsrf", path="/hub/")
        response = self.session.post(f"{self.base_url}/hub/login?next=",
                                     data={"username": self.name, "password": self.password, "_xsrf": xsrf},
                                     allow_redirects=False, timeout=60)
        if response.status_code != 302:
            raise AssertionError(f"{self.name} could not log in: HTTP {response.status_code}\n{response.text[:2000]}")
        xsrf = self.session.cookies.get("_xsrf", path="/hub/")  # a new one, bound to the logged-in user
        made = self.session.post(f"{self.base_url}/hub/api/users/{self.name}/tokens",
                                 headers={"X-XSRFToken": xsrf}, json={"note": "test", "expires_in": 3600},
                                 timeout=30)
        made.raise_for_status()
        self.token = made.json()["token"]

    @property
    def headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def hub_api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.base_url}/hub/api{path}", headers=self.headers, timeout=60,
                                **kwargs)

    def start_server(self, timeout: float = 120) -> None:
        """Start this user's server (a no-op when it runs) and wait until it is ready."""
        response = self.hub_api("POST", f"/users/{self.name}/server")
        if response.status_code not in (201, 202, 400):  # 400: already running
            raise AssertionError(f"could not start {self.name}'s server: HTTP {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"/users/{self.name}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{self.name}'s server was not ready after {timeout} s")

    # -- the user's server ------------------------------------------------------------------------------
    def server(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 300)
        return requests.request(method, f"{self.base_url}/user/{self.name}{path}", headers=self.headers, **kwargs)

    def assignments(self, course_id: str) -> list[dict]:
        response = self.server("GET", "/assignments", params={"course_id": course_id})
        response.raise_for_status()
        answer = response.json()
        if not answer.get("success"):
            raise AssertionError(f"the assignment list failed for {self.name}: {answer}")
        return answer["value"]

    def action(self, action: str, course_id: str, assignment_id: str) -> dict:
        """``fetch``, ``submit`` or ``fetch_feedback`` as the Assignment List's buttons do."""
        response = self.server("POST", f"/assignments/{action}",
                               data={"course_id": course_id, "assignment_id": assignment_id})
        response.raise_for_status()
        answer = response.json()
        if isinstance(answer, dict) and answer.get("success") is False:
            raise AssertionError(f"{action} failed for {self.name}: {answer}")
        return answer

    def read_file(self, path: str) -> dict:
        response = self.server("GET", f"/api/contents/{path}", params={"content": 1})
        response.raise_for_status()
        return response.json()

    def write_notebook(self, path: str, notebook: dict) -> None:
        response = self.server("PUT", f"/api/contents/{path}",
                               data=json.dumps({"type": "notebook", "format": "json", "content": notebook}))
        response.raise_for_status()
