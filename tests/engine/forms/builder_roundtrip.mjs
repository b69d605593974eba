// Round trip of one definition through the builder's model, as the property panel edits it: read a
// SurveyJS definition on stdin, load it, open (respell) every element, save, and print the result.
import { readFileSync } from "node:fs";
import { load, respell, save, walk } from "../../../web/static/js/builder/model.mjs";

let model = load(JSON.parse(readFileSync(0, "utf8")));
for (const { path } of walk(model.def)) model = respell(model, path);
process.stdout.write(JSON.stringify(save(model)));
