// Copy the browser builds we serve from node_modules into static/vendor (git-ignored).
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(web, "static", "vendor");
const files = {
  "survey-core/survey.core.min.js": "survey.core.min.js",
  "survey-core/survey-core.min.css": "survey-core.min.css",
  "survey-js-ui/survey-js-ui.min.js": "survey-js-ui.min.js",
  "bpmn-js/dist/bpmn-modeler.production.min.js": "bpmn-modeler.min.js",
  "bpmn-js/dist/bpmn-navigated-viewer.production.min.js": "bpmn-viewer.min.js",
  "bpmn-js/dist/assets/diagram-js.css": "diagram-js.css",
  "bpmn-js/dist/assets/bpmn-js.css": "bpmn-js.css",
  "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css": "bpmn-embedded.css",
  "fullcalendar/index.global.min.js": "fullcalendar.global.min.js",
};
mkdirSync(out, { recursive: true });
let missing = 0;
for (const [src, dest] of Object.entries(files)) {
  const from = join(web, "node_modules", src);
  if (!existsSync(from)) { console.error(`missing ${from}`); missing++; continue; }
  cpSync(from, join(out, dest));
}
process.exit(missing ? 1 : 0);
