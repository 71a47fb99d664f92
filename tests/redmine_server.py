"""A real Redmine 5 (Debian's redmine, SQLite, thin) on a loopback port.

Debian's Redmine is multi-instance: with REDMINE_INSTANCE=<name> it reads its
database.yml, secret key, log/, tmp/ and files/ from /var/lib/redmine/<name>,
which here is a symlink to a temp folder (removed on stop). Building the
database (migrate, default data, test data) takes ~20 s, so the set-up SQLite
file and the API keys are cached under ~/.cache/gatewatch-tests/redmine/<hash of
this file's recipe> and copied per run: later starts take a few seconds.

Test data: projects "building-services" and "supervisors", an issue custom field
"Incident key" (string, filter, searchable, all trackers and projects), the REST
API switched on, a non-admin API user "gatewatch" and a technician "tech", both
Developers in both projects, and an admin (only for test set-up checks).

Run it by hand:  python tests/redmine_server.py   (prints URL and keys, Ctrl-C stops)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from servers import cached_build, free_port, serve_until_interrupted, wait_port

REDMINE = Path("/usr/share/redmine")
INSTANCES = Path("/var/lib/redmine")
CACHE = (
    Path(os.environ.get("GATEWATCH_TEST_CACHE", Path.home() / ".cache/gatewatch-tests")) / "redmine"
)
PROJECT, SUPERVISORS, KEY_FIELD = "building-services", "supervisors", "Incident key"

SETUP_RUBY = r"""
Setting.rest_api_enabled = '1'
Setting.default_language = 'en'
cf = IssueCustomField.create!(name: 'Incident key', field_format: 'string', is_for_all: true,
  is_filter: true, searchable: true, visible: true, trackers: Tracker.all)
names = [['Building Services', 'building-services'], ['Supervisors', 'supervisors']]
projects = names.map do |n, i|
  Project.create!(name: n, identifier: i, is_public: false, trackers: Tracker.all,
    enabled_module_names: ['issue_tracking'])
end
developer = Role.find_by!(name: 'Developer')
out = {'key_field_id' => cf.id}
[['gatewatch', false], ['tech', false], ['admin2', true]].each do |login, admin|
  u = User.new(firstname: login, lastname: 'Test', mail: "#{login}@example.org")
  u.login = login
  u.admin = admin
  u.password = u.password_confirmation = 'not-used-secret-1'
  u.save!
  projects.each { |p| Member.create!(user: u, project: p, roles: [developer]) } unless admin
  token = Token.create!(user: u, action: 'api')
  token.update_column(:value, ENV.fetch("KEY_#{login.upcase}"))
  out[login] = token.value
  out["#{login}_id"] = u.id
end
projects.each { |p| out["project_#{p.identifier}"] = p.id }
File.write(ENV.fetch('GATEWATCH_REDMINE_OUT'), out.to_json)
"""


@dataclass
class Redmine:
    workdir: Path
    port: int = field(default_factory=free_port)
    keys: dict[str, object] = field(default_factory=dict)
    instance: str = field(default_factory=lambda: f"gatewatch-test-{secrets.token_hex(4)}")
    proc: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.workdir / "redmine.db"

    def key(self, user: str) -> str:
        return str(self.keys[user])

    def layout(self) -> None:
        """The instance folder and its /var/lib/redmine/<instance> symlink."""
        for sub in ("config", "log", "tmp/cache", "tmp/pids", "tmp/sockets", "files"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "config/database.yml").write_text(
            f"production:\n  adapter: sqlite3\n  database: {self.db}\n  timeout: 5000\n"
        )
        (self.workdir / "config/secret_key.txt").write_text(secrets.token_hex(32))
        link = INSTANCES / self.instance
        if not link.is_symlink():
            link.symlink_to(self.workdir)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REDMINE_INSTANCE": self.instance,
            "RAILS_ENV": "production",
            "REDMINE_LANG": "en",
        }

    def prepare(self) -> Redmine:
        """Copy the cached, set-up database here (building it once if needed)."""
        t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        cached = _cached_setup()
        shutil.copy(cached / "redmine.db", self.db)
        self.keys = json.loads((cached / "keys.json").read_text())
        self.layout()
        self.timings["prepare"] = time.monotonic() - t0
        return self

    def start(self, timeout: float = 120.0) -> Redmine:
        t0 = time.monotonic()
        with (self.workdir / "thin.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *("bin/rails", "server", "-u", "thin", "-b", "127.0.0.1", "-p", str(self.port)),
                    *("-P", str(self.workdir / "tmp/pids/server.pid")),  # not Rails.root's
                ],
                cwd=REDMINE,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_listening(timeout)
        self.timings["start"] = time.monotonic() - t0
        return self

    def _wait_listening(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.workdir / "thin.log").read_text(errors="replace")
                raise RuntimeError(f"redmine exited:\n{text[-3000:]}")
            try:
                wait_port(self.port, 0.5)
            except TimeoutError:
                continue
            return
        raise TimeoutError(f"Redmine did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        link = INSTANCES / self.instance
        if link.is_symlink():
            link.unlink()


def _run(rm: Redmine, args: list[str], extra: dict[str, str] | None = None) -> None:
    run = subprocess.run(
        args,
        cwd=REDMINE,
        env={**rm.env(), **(extra or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")


def _setup_into(rm: Redmine) -> None:
    rm.layout()
    try:
        _run(rm, ["bin/rake", "db:migrate"])
        _run(rm, ["bin/rake", "redmine:load_default_data"])
        script = rm.workdir / "setup.rb"
        script.write_text(SETUP_RUBY)
        keys = {f"KEY_{u.upper()}": secrets.token_hex(20) for u in ("gatewatch", "tech", "admin2")}
        out = {"GATEWATCH_REDMINE_OUT": str(rm.workdir / "keys.json"), **keys}
        _run(rm, ["bin/rails", "runner", str(script)], out)
    finally:
        (INSTANCES / rm.instance).unlink(missing_ok=True)


def _cached_setup() -> Path:
    return cached_build(CACHE, SETUP_RUBY, "keys.json", lambda d: _setup_into(Redmine(d)))


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        rm = Redmine(Path(tmp)).prepare().start()
        took = {k: round(v, 1) for k, v in rm.timings.items()}
        print(f"Redmine on {rm.url} in {time.monotonic() - t0:.1f}s {took}; {json.dumps(rm.keys)}")
        serve_until_interrupted(rm.stop)


if __name__ == "__main__":
    main()
