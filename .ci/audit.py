"""pip-audit over the project's virtualenv, with a report CI prints.

Exit 1 only for a vulnerability that has a fixed release (upgrade it). Findings without a fix are
printed and do not fail the run: there is nothing to upgrade to, and the report names them so a
reviewer can judge the exposure. Packages the vulnerability service could not look up (offline
CI, private mirrors) are counted and listed, never silently passed as clean.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off", "--skip-editable"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        print("pip-audit: no report (the vulnerability service did not answer within 10 minutes)")
        print("pip-audit: NOT a failure of this run, but the dependencies were NOT audited")
        return 0
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print("pip-audit: no report (it could not run):", done.stderr.strip().splitlines()[-1:] or "?")
        print("pip-audit: NOT a failure of this run, but the dependencies were NOT audited")
        return 0
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    fixable, unfixed = [], []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            row = (
                dep["name"],
                dep.get("version", "?"),
                vuln["id"],
                ", ".join(vuln.get("fix_versions") or []),
            )
            (fixable if vuln.get("fix_versions") else unfixed).append(row)
    print(
        f"pip-audit: {len(deps) - len(skipped)} packages audited, {len(skipped)} could not be looked up, "
        f"{len(fixable)} vulnerabilities with a fix, {len(unfixed)} without one"
    )
    for name, version, vid, fix in fixable:
        print(f"  FIX AVAILABLE  {name} {version}  {vid}  -> upgrade to {fix}")
    for name, version, vid, _ in unfixed:
        print(f"  no fix yet     {name} {version}  {vid}  (reported, does not fail the run)")
    if skipped:
        print(
            "  not audited: "
            + ", ".join(d["name"] for d in skipped[:12])
            + (" …" if len(skipped) > 12 else "")
        )
        print("  (" + skipped[0]["skip_reason"] + ")")
        print(f"  these {len(skipped)} packages are NOT known to be clean; this does not fail the run")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main())
