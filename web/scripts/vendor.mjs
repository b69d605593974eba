// Copy the browser builds we serve from node_modules into static/vendor (git-ignored).
//
// Stylesheets are kept on this site on the way: survey-core's asks a public font server for Open Sans,
// and a page with health information must not make the visitor's browser talk to any other host (the
// content security policy would refuse, but no page should try). An @import or @font-face that names
// another host is dropped, the fonts it declared fall back to the system fonts Portico uses everywhere
// (web/static/portico.css), and setup fails if any reference to another host is left.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
const SYSTEM_FONTS = 'system-ui,-apple-system,"Segoe UI",sans-serif';
// url(https://…), url("//…"), @import "http://…": a scheme with // or a protocol-relative address.
const OUTSIDE = /(?:url\(\s*|@import\s+)["']?(?:[a-z][a-z0-9+.-]*:)?\/\/[^"')\s;]*/gi;

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function keepOnSite(css) {
  const dropped = new Set();
  let kept = css.replace(/@import\s[^;]*;/gi, (rule) => (rule.match(OUTSIDE) ? "" : rule));
  kept = kept.replace(/@font-face\s*\{[^}]*\}/gi, (rule) => {
    if (!rule.match(OUTSIDE)) return rule;
    const family = /font-family\s*:\s*(["']?)([^;"'}]+)\1/i.exec(rule);
    if (family) dropped.add(family[2].trim());
    return "";
  });
  for (const family of dropped) {
    const name = escapeRegExp(family);
    kept = kept.replace(new RegExp(`"${name}"|'${name}'|\\b${name}\\b`, "g"), SYSTEM_FONTS);
  }
  return kept;
}

mkdirSync(out, { recursive: true });
let failed = 0;
for (const [src, dest] of Object.entries(files)) {
  const from = join(web, "node_modules", src);
  if (!existsSync(from)) { console.error(`missing ${from}`); failed++; continue; }
  if (!dest.endsWith(".css")) { cpSync(from, join(out, dest)); continue; }
  const css = keepOnSite(readFileSync(from, "utf8"));
  const left = css.match(OUTSIDE);
  if (left) { console.error(`${src} still refers to another host: ${[...new Set(left)].join(", ")}`); failed++; }
  writeFileSync(join(out, dest), css);
}
process.exit(failed ? 1 : 0);
