// The reference verdict: survey-core itself, headless in Node.
// Reads JSON lines on stdin: {"definition": {...}} sets the form for the lines that follow;
// {"data": {...}} answers with {"errors": {questionName: [messages]}} for that data.
// One process serves a whole batch so the differential test stays fast.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const root = process.env.PORTICO_NODE_MODULES || path.join(here, "..", "..", "..", "web", "node_modules");
const Survey = require(path.join(root, "survey-core", "survey.core.js"));

let definition = null;

function verdict(data) {
  const model = new Survey.Model(definition);
  model.data = data;
  const errors = {};
  // Decide visibility before validating anything: checking a choice question whose value is not
  // among its choices can rewrite that value inside survey-core and so change later conditions.
  const visible = model.getAllQuestions(false).filter(
    (q) => q.isVisible && q.isParentVisible && !(q.page && !q.page.isVisible));
  for (const q of visible) {
    if (q.hasErrors(false)) {
      errors[q.name] = q.errors.map((e) => e.text || e.getText() || e.getErrorType());
    }
  }
  return errors;
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.definition) {
    definition = msg.definition;
    process.stdout.write(JSON.stringify({ ok: true }) + "\n");
    return;
  }
  let out;
  try {
    if (msg.expression !== undefined) {
      // {"expression": "...", "values": {...}}: survey-core's value and condition verdict for one expression
      const value = new Survey.ExpressionRunner(msg.expression).runValues(msg.values || {});
      const condition = new Survey.ConditionRunner(msg.expression).runValues(msg.values || {});
      process.stdout.write(JSON.stringify({ value: value instanceof Date ? value.toISOString() : value, condition }) + "\n");
      return;
    }
    out = { errors: verdict(msg.data) };
  } catch (e) {
    out = { crash: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
});
