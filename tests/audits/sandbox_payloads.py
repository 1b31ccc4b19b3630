"""Builds, at test time, a pickle whose payload tries everything the model sandbox must make
impossible, and reads back what it managed. Nothing hostile is shipped ready-made: the payload is
plain Python source, run by `builtins.exec` through the pickle's REDUCE when the engine loads it.

The payload raises at the end with a JSON report of every attempt ("blocked: <why>" or
"ALLOWED: <what it got>"), so the run fails and its error message carries the report.
"""

from __future__ import annotations

import json
import pickle
import re

REPORT_MARK = "SANDBOX-REPORT:"

_PAYLOAD = r"""
import json, os, socket
targets = json.loads(TARGETS)
report = {}

def attempt(name, action):
    try:
        got = action()
        report[name] = "ALLOWED: " + repr(got)[:120]
    except BaseException as exc:
        report[name] = "blocked: " + type(exc).__name__ + ": " + str(exc)[:120]

def tcp(host, port):
    def go():
        s = socket.create_connection((host, int(port)), timeout=2)
        s.sendall(b"escaped")
        s.close()
        return "connected"
    return go

def unix(path):
    def go():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(path)
        return "connected"
    return go

def read(path):
    def go():
        with open(path, "rb") as handle:
            return handle.read(64)
    return go

def write(path):
    def go():
        with open(path, "w") as handle:
            handle.write("escaped")
        return path
    return go

def environment():
    found = {k: v for k, v in os.environ.items() if any(s in k for s in targets["secret_env"])}
    if found:
        return found
    raise LookupError("no secret in the environment")

def execute():
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/bin/sh", ["/bin/sh", "-c", "echo escaped > " + targets["exec_marker"]])
        finally:
            os._exit(97)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 97:
        raise PermissionError("execve failed in the forked child")
    return "exit %d" % code

def signal_parent():
    os.kill(targets["worker_pid"], 0)
    return "signalled"

attempt("connect_database", tcp(targets["db_host"], targets["db_port"]))
attempt("connect_loopback_listener", tcp("127.0.0.1", targets["listener_port"]))
attempt("connect_redis", tcp("127.0.0.1", 6379))
attempt("connect_postgres_socket", unix("/var/run/postgresql/.s.PGSQL.5432"))
attempt("read_signing_key", read(targets["signing_key"]))
attempt("read_other_org_artifact", read(targets["other_artifact"]))
attempt("read_worker_environ", read("/proc/%d/environ" % targets["worker_pid"]))
attempt("read_etc_shadow", read("/etc/shadow"))
attempt("write_data_dir", write(targets["write_data_dir"]))
attempt("write_inputs_folder", write(targets["write_inputs"]))
attempt("write_checkout", write(targets["write_checkout"]))
attempt("read_secret_env", environment)
attempt("execve_shell", execute)
attempt("signal_worker", signal_parent)
attempt("setuid_bit_on_events_file", lambda: os.chmod(targets["events_file"], 0o4755))
attempt("setuid_file_in_scratch", lambda: os.close(os.open("/tmp/suid", os.O_CREAT | os.O_WRONLY, 0o6755)))
attempt("create_file_beside_events", write(os.path.join(os.path.dirname(targets["events_file"]), "planted")))
attempt("truncate_events_file", lambda: open(targets["events_file"], "w").close())
attempt("memfd_outside_rss", lambda: os.memfd_create("hidden"))
attempt("leave_process_group", os.setsid)
attempt("raise_parents_rlimit", lambda: __import__("resource").prlimit(os.getppid(), __import__("resource").RLIMIT_NOFILE))
attempt("unix_socket_at_all", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
raise RuntimeError(MARK + json.dumps(report, sort_keys=True))
"""


class _Exec:
    def __init__(self, source: str):
        self.source = source

    def __reduce__(self):
        import builtins

        return builtins.exec, (self.source, {})


def hostile_pickle(targets: dict) -> bytes:
    source = f"TARGETS = {json.dumps(json.dumps(targets))}\nMARK = {REPORT_MARK!r}\n" + _PAYLOAD
    return pickle.dumps(_Exec(source), protocol=4)


def report_from(error_message: str) -> dict:
    match = re.search(re.escape(REPORT_MARK) + r"(\{.*\})", error_message)
    assert match, f"the payload did not report (it may not have run): {error_message[:500]}"
    return json.loads(match.group(1))
