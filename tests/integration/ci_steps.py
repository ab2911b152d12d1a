#!/usr/bin/python3
"""ci_steps.py -- read a CI file of examples/ci/ and write its script steps
as shell scripts, so that tests/check-ci.sh can run them locally.

usage: ci_steps.py github|gitlab FILE OUTDIR

Parses FILE with PyYAML (python3-yaml), checks the shape the README
promises, and writes:
  OUTDIR/env.sh      "export NAME=VALUE" for the workflow's env (GitHub) or
                     the global variables (GitLab);
  OUTDIR/NN-NAME.sh  one script per step (GitHub: each "run" step but the
                     installation) or per job (GitLab: its script lines in
                     stage order; the default before_script, which installs
                     vcompc, is left out), run with "bash -e" as both CI
                     systems do.
Prints one line per file written; exits 1 with the reason when the file
does not have the expected shape (the artifacts must be the binaries and
SHA256SUMS, the check must use -Werror).
"""
import os
import re
import shlex
import sys

import yaml


def fail(msg):
    print("ci_steps: %s" % msg, file=sys.stderr)
    sys.exit(1)


def safe(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write(outdir, n, name, body):
    path = os.path.join(outdir, "%02d-%s.sh" % (n, safe(name)))
    with open(path, "w") as f:
        f.write(body if body.endswith("\n") else body + "\n")
    print("STEP %s" % path)


def write_env(outdir, env):
    with open(os.path.join(outdir, "env.sh"), "w") as f:
        for k, v in env.items():
            f.write("export %s=%s\n" % (k, shlex.quote(str(v))))


def github(doc, outdir):
    # PyYAML reads the key "on" as True (YAML 1.1); accept either.
    if "on" not in doc and True not in doc:
        fail("no 'on' triggers")
    env = doc.get("env") or {}
    for k in ("SPEC", "VCOMPC"):
        if k not in env:
            fail("env has no %s" % k)
    write_env(outdir, env)
    jobs = doc.get("jobs") or {}
    if len(jobs) != 1:
        fail("expected one job, found %d" % len(jobs))
    job = next(iter(jobs.values()))
    steps = job.get("steps") or []
    n = 0
    uploads = [s for s in steps if str(s.get("uses", "")).startswith(
        "actions/upload-artifact@")]
    if len(uploads) != 1:
        fail("expected one actions/upload-artifact step")
    paths = uploads[0].get("with", {}).get("path", "").split()
    if sorted(paths) != ["dist/SHA256SUMS", "dist/vcomp-*"]:
        fail("artifact paths are %r" % paths)
    for s in steps:
        if "run" not in s:
            continue
        if s.get("name", "").startswith("Install"):
            print("SKIP %s" % s["name"])
            continue
        n += 1
        write(outdir, n, s.get("name", "step"), s["run"])
    if not any("--check -Werror" in s.get("run", "") for s in steps):
        fail("no step runs vcompc --check -Werror")


def gitlab(doc, outdir):
    stages = doc.get("stages") or []
    variables = doc.get("variables") or {}
    for k in ("SPEC", "VCOMPC"):
        if k not in variables:
            fail("variables has no %s" % k)
    write_env(outdir, variables)
    reserved = {"stages", "variables", "default", "include", "workflow",
                "image", "services", "cache", "before_script",
                "after_script"}
    jobs = {k: v for k, v in doc.items()
            if k not in reserved and isinstance(v, dict) and "script" in v}
    if not jobs:
        fail("no jobs")
    for name, job in jobs.items():
        if job.get("stage") not in stages:
            fail("job %s has stage %r, not one of %r" % (
                name, job.get("stage"), stages))
    n = 0
    saw_artifacts = saw_check = False
    for stage in stages:
        for name, job in jobs.items():
            if job["stage"] != stage:
                continue
            lines = job["script"]
            saw_check |= any("--check -Werror" in line for line in lines)
            arts = (job.get("artifacts") or {}).get("paths")
            if arts is not None:
                if sorted(arts) != ["dist/SHA256SUMS", "dist/vcomp-*"]:
                    fail("artifact paths of %s are %r" % (name, arts))
                saw_artifacts = True
            n += 1
            write(outdir, n, name, "\n".join(lines))
    if not saw_artifacts:
        fail("no job keeps dist/vcomp-* and dist/SHA256SUMS")
    if not saw_check:
        fail("no job runs vcompc --check -Werror")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("github", "gitlab"):
        fail("usage: ci_steps.py github|gitlab FILE OUTDIR")
    with open(sys.argv[2]) as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        fail("%s is not a YAML mapping" % sys.argv[2])
    os.makedirs(sys.argv[3], exist_ok=True)
    (github if sys.argv[1] == "github" else gitlab)(doc, sys.argv[3])


if __name__ == "__main__":
    main()
