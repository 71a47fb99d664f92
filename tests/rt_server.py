"""A real Request Tracker 5 (Debian's request-tracker5, SQLite) on a loopback port.

Everything lives in a temp folder; RT reads its configuration from
RT_SITE_CONFIG / RT_SITE_CONFIG_DIR, so /etc is never touched. Setting up the
database takes seconds, so the set-up SQLite file (with the API tokens) is
cached under ~/.cache/gatewatch-tests/rt/<hash of this file> and copied per run.

Initial data: queues "Building Services" and "Supervisors", a global ticket
custom field "IncidentKey", the API user "gatewatch" and a technician "tech",
both privileged with the rights the client needs; one API token each.

Run it by hand:  python tests/rt_server.py   (prints URL and tokens, Ctrl-C stops)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from servers import cached_build, free_port, serve_until_interrupted, wait_port

RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
RT_SETUP = Path("/usr/sbin/rt-setup-database")
CACHE = Path(os.environ.get("GATEWATCH_TEST_CACHE", Path.home() / ".cache/gatewatch-tests")) / "rt"
QUEUE, SUPERVISORS, KEY_FIELD = "Building Services", "Supervisors", "IncidentKey"
RIGHTS = [
    "CreateTicket",
    "ShowTicket",
    "ModifyTicket",
    "CommentOnTicket",
    "ReplyToTicket",
    "SeeQueue",
    "SeeCustomField",
    "ModifyCustomField",
    "OwnTicket",
    "TakeTicket",
    "StealTicket",
    "ShowTicketComments",
]

INITIAL_DATA = r"""
@Queues = (
    { Name => 'Building Services', Description => 'gatewatch tickets' },
    { Name => 'Supervisors', Description => 'escalations' },
);
@CustomFields = (
    { Name => 'IncidentKey', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket',
      Queue => 0, Description => 'gatewatch incident key' },
);
@Users = (
    { Name => 'gatewatch', Password => 'gatewatch-pw', Privileged => 1,
      EmailAddress => 'gatewatch@localhost' },
    { Name => 'tech', Password => 'tech-pw', Privileged => 1, EmailAddress => 'tech@localhost' },
);
@ACL = map { { GroupDomain => 'SystemInternal', GroupType => 'Privileged', Right => $_ } }
    qw(__RIGHTS__);
@Final = (sub {
    my %tokens;
    for my $name (qw(gatewatch tech)) {
        my $user = RT::User->new(RT->SystemUser);
        $user->Load($name);
        my $token = RT::AuthToken->new(RT->SystemUser);
        my ($id, $msg, $auth) = $token->Create(Owner => $user->Id, Description => 'tests');
        die "token for $name: $msg" unless $id;
        $tokens{$name} = $auth;
        $tokens{"${name}_id"} = $user->Id;
    }
    open(my $fh, '>', $ENV{GATEWATCH_RT_TOKENS}) or die "tokens file: $!";
    print $fh JSON::to_json(\%tokens);
    close($fh);
});
1;
""".replace("__RIGHTS__", " ".join(RIGHTS))


def site_config(workdir: Path, port: int, db: Path) -> str:
    return f"""
Set($rtname, 'gatewatch-test');
Set($Organization, 'gatewatch');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($CanonicalizeRedirectURLs, 0);
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{db}');
Set($BcryptCost, 4);
Set($MailCommand, 'mbox');
Set($LogDir, '{workdir}');
Set($LogToFile, undef);
Set($LogToSyslog, undef);
Set($LogToSTDERR, 'error');
Set($Timezone, 'UTC');
# a file over 256 KiB is dropped with 201 (renamed *.txt): test_rt_attachments.py checks
# the adapter notices (gatewatch's own cap, 64 KiB, keeps its files far below)
Set($MaxAttachmentSize, 256 * 1024);
Set($DropLongAttachments, 1);
$RT::MasonDataDir = '{workdir}/mason_data';
$RT::MasonSessionDir = '{workdir}/session_data';
$RT::VarPath = '{workdir}';
1;
"""


@dataclass
class RequestTracker:
    workdir: Path
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.workdir / "rt.db"

    def env(self) -> dict[str, str]:
        conf = self.workdir / "RT_SiteConfig.pm"
        conf.write_text(site_config(self.workdir, self.port, self.db))
        confdir = self.workdir / "RT_SiteConfig.d"
        confdir.mkdir(exist_ok=True)
        for cache in ("mason_data", "session_data"):
            (self.workdir / cache).mkdir(exist_ok=True)
        return {
            **os.environ,
            "RT_SITE_CONFIG": str(conf),
            "RT_SITE_CONFIG_DIR": str(confdir),
            "GATEWATCH_RT_TOKENS": str(self.workdir / "tokens.json"),
        }

    def prepare(self) -> RequestTracker:
        """Copy the cached, set-up database here (setting it up once if needed)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        cached = _cached_setup()
        shutil.copy(cached / "rt.db", self.db)
        self.tokens = json.loads((cached / "tokens.json").read_text())
        return self

    def start(self, timeout: float = 90.0) -> RequestTracker:
        with (self.workdir / "rt-server.log").open("ab") as log:
            self.proc = self._spawn(log)
        return self._wait_listening(timeout)

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                str(RT_SERVER),
                *("--server", "Starlet", "--port", str(self.port), "--max-workers", "2"),
                # Starlet recycles a worker every 100 requests by default; an RT worker
                # costs seconds of CPU to start, which turns into client timeouts
                *("--max-reqs-per-child", "100000"),
            ],
            env=self.env(),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_listening(self, timeout: float) -> RequestTracker:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_text = (self.workdir / "rt-server.log").read_text(errors="replace")
                raise RuntimeError(f"rt-server exited:\n{log_text[-3000:]}")
            try:
                wait_port(self.port, 0.5)
            except TimeoutError:
                continue
            return self
        raise TimeoutError(f"RT did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # SIGTERM: SIGINT chowns /var/lib
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


def _setup_into(rt: RequestTracker) -> None:
    env = rt.env()
    datafile = rt.workdir / "initialdata"
    datafile.write_text(INITIAL_DATA)
    base = [str(RT_SETUP), "--skip-create", "--dba", "root", "--dba-password", ""]
    for extra in (["--action", "init"], ["--action", "insert", "--datafile", str(datafile)]):
        run = subprocess.run(
            [*base, *extra], env=env, capture_output=True, text=True, check=False, timeout=300
        )
        if run.returncode != 0:
            raise RuntimeError(f"rt-setup-database {extra} failed:\n{run.stdout}\n{run.stderr}")


def _cached_setup() -> Path:
    recipe = INITIAL_DATA + site_config(Path("/w"), 0, Path("/w/rt.db"))
    return cached_build(CACHE, recipe, "tokens.json", lambda d: _setup_into(RequestTracker(d)))


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        rt = RequestTracker(Path(tmp)).prepare().start()
        print(f"RT on {rt.url} in {time.monotonic() - t0:.1f}s; tokens: {json.dumps(rt.tokens)}")
        serve_until_interrupted(rt.stop)


if __name__ == "__main__":
    main()
