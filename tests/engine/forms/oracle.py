"""A long-lived `node survey_oracle.mjs` process answering survey-core's verdict over JSON lines."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
NODE_MODULES = HERE.parents[2] / "web" / "node_modules" / "survey-core"


def available() -> str | None:
    """Why the oracle cannot run, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not NODE_MODULES.exists():
        return "web/node_modules/survey-core is missing (run ./dev setup)"
    return None


class SurveyOracle:
    def __init__(self):
        self.proc = subprocess.Popen(
            ["node", str(HERE / "survey_oracle.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.definition = None

    def _ask(self, message: dict) -> dict:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def verdict(self, definition: dict, data: dict) -> dict[str, list[str]]:
        if definition is not self.definition:
            self._ask({"definition": definition})
            self.definition = definition
        answer = self._ask({"data": data})
        if "crash" in answer:
            raise RuntimeError(answer["crash"])
        return answer["errors"]

    def batch(self, definition: dict, datas: list[dict]) -> list[dict[str, list[str]]]:
        """Verdicts for many submissions of one definition, pipelined (a writer thread feeds node
        while this thread reads, so neither side waits on the other's pipe)."""
        import threading

        def feed():
            self.proc.stdin.write(json.dumps({"definition": definition}) + "\n")
            for data in datas:
                self.proc.stdin.write(json.dumps({"data": data}) + "\n")
            self.proc.stdin.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        json.loads(self.proc.stdout.readline())  # the definition's acknowledgement
        out = []
        for _ in datas:
            answer = json.loads(self.proc.stdout.readline())
            if "crash" in answer:
                raise RuntimeError(answer["crash"])
            out.append(answer["errors"])
        writer.join()
        self.definition = definition
        return out

    def expression(self, expression: str, values: dict) -> dict:
        """survey-core's {"value", "condition"} for one expression over `values`."""
        return self._ask({"expression": expression, "values": values})

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
